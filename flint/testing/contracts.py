"""Contract test classes a plugin subclasses to prove it behaves like a flint plugin.

Example (``tests/test_conformance.py`` of a plugin)::

    from flint.testing.contracts import PluginContract

    class TestMyPlugin(PluginContract):
        plugin_name = "myplugin"          # the entry-point name
        dist_name = "flint-myplugin"      # the distribution that provides it

Then one contract per thing it registers: :class:`FillModelContract`,
:class:`StrategyContract`, :class:`IndicatorContract`, :class:`DataProviderContract`,
:class:`ExecutionContextContract`. Class names have no ``Test`` prefix so pytest does
not collect them here.
"""

import importlib
import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flint_core.markets import market_key
from flint_core.plugins import REGISTRY_HOOKS, PluginHost, PluginInfo
from flint_core.venues import VenueConfig

#: What a plugin may declare in its module-level ``CAPABILITIES``.
KNOWN_CAPABILITIES = frozenset({*REGISTRY_HOOKS, "commands"})


class PluginContract:
    """A plugin loads cleanly, registers unique documented names and declares capabilities.

    The plugin module must define ``CAPABILITIES``: the set of registry kinds it
    registers into (``"venue_configs"``, ``"strategies"``, ``"commands"``, ...).
    """

    plugin_name: ClassVar[str]
    dist_name: ClassVar[str]

    def _info(self, host: PluginHost) -> PluginInfo:
        assert self.plugin_name in host.plugins, (
            f"plugin '{self.plugin_name}' was not discovered; installed flint plugins: "
            f"{sorted(host.plugins)}"
        )
        return host.plugins[self.plugin_name]

    def test_entry_point_is_installed(self) -> None:
        eps = [ep for ep in metadata.entry_points(group="flint") if ep.name == self.plugin_name]
        assert len(eps) == 1, f"expected one 'flint' entry point named {self.plugin_name}"
        assert eps[0].dist is not None
        assert eps[0].dist.metadata["Name"] == self.dist_name

    def test_loads_without_errors(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        assert info.errors == [], f"plugin '{self.plugin_name}' reported errors: {info.errors}"
        assert info.status == "loaded"
        assert info.version == metadata.version(self.dist_name)

    def test_loads_alone_in_strict_mode(self, make_flint_host: Any) -> None:
        host = make_flint_host(load=[self.plugin_name], strict=True)
        assert self._info(host).status == "loaded"

    def test_declares_capabilities(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        module = importlib.import_module(info.module)
        declared = getattr(module, "CAPABILITIES", None)
        assert isinstance(declared, (set, frozenset)) and declared, (
            f"{info.module} must define CAPABILITIES, a non-empty set of registry kinds"
        )
        unknown = set(declared) - KNOWN_CAPABILITIES
        assert not unknown, (
            f"unknown capabilities {sorted(unknown)}; known: {sorted(KNOWN_CAPABILITIES)}"
        )
        registered = {kind for kind, names in info.registered.items() if names}
        if "commands" in declared:
            registered.add("commands")  # commands are added when the CLI starts
        assert registered == set(declared), (
            f"declared {sorted(declared)} but registered into {sorted(registered)}"
        )

    def test_registered_names_are_unique(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        for kind, names in info.registered.items():
            assert len(names) == len(set(names)), f"{kind}: duplicate names {names}"
            for name in names:
                entry = flint_host.registry(kind).entry(name)
                assert entry.provenance.plugin == self.plugin_name, (
                    f"{kind} '{name}' ended up provided by {entry.provenance}"
                )

    def test_registered_names_are_documented(self, flint_host: PluginHost) -> None:
        for entry in flint_host.registered_by(self.plugin_name):
            assert entry.description, (
                f"{entry.kind} '{entry.name}' has no description: give it a docstring "
                f"or pass description=..."
            )

    def test_venue_configs_are_sane(self, flint_host: PluginHost) -> None:
        for entry in flint_host.registered_by(self.plugin_name):
            config = entry.obj
            if not isinstance(config, VenueConfig):
                continue
            assert config.maker_fee_bps <= config.taker_fee_bps, config
            assert 0 < config.maintenance_margin <= config.initial_margin, config
            assert config.max_leverage <= 1 / config.initial_margin + 1e-9, config


class FillModelContract:
    """A fill model quotes finite prices for at most the asked size and runs in a backtest.

    Subclass it and implement ``make_model()`` returning a fresh model::

        class TestMyFill(FillModelContract):
            def make_model(self):
                return MyBookFill(depth=3)
    """

    def make_model(self) -> Any:
        raise NotImplementedError("return a fresh fill model from make_model()")

    @staticmethod
    def _terms() -> Any:
        from flint_core.terms import VenueTerms

        return VenueTerms("contract", 0.0005, 0.0002, impact_coefficient=0.005,
                          base_latency_s=0.5, latency_jitter_s=0.2)

    @staticmethod
    def _bar() -> Any:
        from flint_core.records import Candle

        return Candle(0, 100.0, 101.0, 99.0, 100.5, 1_000.0, "TEST", 3600, "contract")

    def test_is_a_fill_model(self) -> None:
        from flint.execution.fill_models import FillModel

        model = self.make_model()
        assert isinstance(model, FillModel), f"{model!r} is not a FillModel (subclass it)"
        assert isinstance(model.next_bar_open, bool)

    def test_quotes_are_finite_and_never_exceed_the_asked_size(self) -> None:
        import math

        from flint.execution.fill_models import FillQuote

        model = self.make_model()
        for side in (1, -1):
            for size in (0.001, 1.0, 50.0, 1e6):
                quote = model.quote(side, size, 100.5, self._bar(), None, self._terms())
                assert isinstance(quote, FillQuote), f"quote() returned {quote!r}"
                assert quote.price > 0 and math.isfinite(quote.price), quote
                assert 0 <= quote.size <= size, (size, quote)

    def test_a_buy_never_gets_a_better_price_than_a_sell(self) -> None:
        model = self.make_model()
        for size in (0.5, 20.0):
            buy = model.quote(1, size, 100.5, self._bar(), None, self._terms())
            sell = model.quote(-1, size, 100.5, self._bar(), None, self._terms())
            assert buy.price >= sell.price, (size, buy, sell)

    def test_latency_is_non_negative_and_reproducible_after_reset(self) -> None:
        model = self.make_model()
        model.reset()
        first = [model.latency_s(self._terms()) for _ in range(20)]
        model.reset()
        assert [model.latency_s(self._terms()) for _ in range(20)] == first
        assert all(x >= 0 for x in first), first

    def test_runs_in_a_backtest_and_accounts_for_every_fill(self) -> None:
        from flint.backtest.engine import BacktestEngine
        from flint_core.enums import Side, Signal
        from flint_core.records import Candle

        class Trader:
            name = "contract-trader"

            def reset(self) -> None:
                self.bar = 0

            def on_candle(self, candle: Any, history: Any, ctx: Any) -> Signal:
                self.bar += 1
                if self.bar % 3 == 0:
                    side = Side.LONG if self.bar % 2 else Side.SHORT
                    ctx.market_order(candle.market, side, 1.0)
                return Signal.HOLD

        closes = [100.0 + (i % 7) for i in range(30)]
        candles = [Candle(i * 3600, c, c + 1, c - 1, c, 500.0, "TEST", 3600, "default")
                   for i, c in enumerate(closes)]
        result = BacktestEngine(Trader(), fill_model=self.make_model()).run(candles)
        assert result.fills, "no order filled"
        position = sum(f.size if f.side == Side.LONG else -f.size for f in result.fills)
        cash = sum(-(f.size if f.side == Side.LONG else -f.size) * f.price - f.fee
                   for f in result.fills)
        expected = result.initial_capital + cash + position * closes[-1]
        assert abs(result.final_equity - expected) <= 1e-9 * result.initial_capital


class _Recorded:
    """Runs ``strategy`` unchanged and keeps ``(bar ts, signal)`` of every call."""

    def __init__(self, strategy: Any) -> None:
        from flint.backtest.engine import accepts_ctx

        self.strategy = strategy
        self.pass_ctx = accepts_ctx(strategy)
        self.signals: list[tuple[int, Any]] = []

    @property
    def name(self) -> str:
        return str(self.strategy.name)

    def reset(self) -> None:
        self.signals.clear()
        self.strategy.reset()

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Any:
        if self.pass_ctx:
            signal = self.strategy.on_candle(candle, history, ctx)
        else:
            signal = self.strategy.on_candle(candle, history)
        self.signals.append((candle.ts, signal))
        return signal


class StrategyContract:
    """A strategy instantiates with its defaults, describes its parameters truthfully and
    runs on the sample markets of :mod:`flint.testing.samples` deterministically, without
    exceptions and without looking ahead.

    Subclass it, naming the class; optionally the parameters and sample venues of the
    runs (two venues give a ``{"venue:market": ...}`` run; funding of every sample venue
    is always given)::

        class TestMyStrategy(StrategyContract):
            strategy_class = MyStrategy
            params = {"fast": 5}                   # default: the defaults
            venues = ("binance", "hyperliquid")    # default: ("binance",)

    The runs use ``ClosePriceFill`` (no latency, so each bar's orders settle within it).
    What a run did is its equity curve, fills, strategy log lines and the signal returned
    on every bar. Look-ahead is checked at three cut points: every bar (and funding
    settlement) from the cut on is changed, once scaled up and once down, and what the
    run did before the cut must stay the same.
    """

    strategy_class: ClassVar[type[Any]]
    params: ClassVar[dict[str, Any]] = {}
    market: ClassVar[str] = "SOL-PERP"
    venues: ClassVar[tuple[str, ...]] = ("binance",)
    days: ClassVar[int] = 60

    # Helpers

    def make_strategy(self) -> Any:
        """A fresh strategy with ``params``."""
        return self.strategy_class(**self.params)

    def sample_candles(self) -> Any:
        """The run's candles: one series, or a dict keyed ``"venue:market"``."""
        from flint.testing.samples import sample_bars

        bars = {
            market_key(v, self.market): sample_bars(self.market, v, self.days)
            for v in self.venues
        }
        return next(iter(bars.values())) if len(bars) == 1 else bars

    def sample_funding(self) -> list[Any]:
        """Every sample venue's funding of the market."""
        from flint.testing.samples import sample_funding

        return sample_funding(self.market, days=self.days)

    def run(self, strategy: Any, candles: Any = None, funding: Any = None) -> dict[str, Any]:
        """What a backtest of ``strategy`` did on the sample (or on ``candles``/``funding``)."""
        from flint.backtest.engine import BacktestEngine
        from flint.execution.fill_models import ClosePriceFill
        from flint.testing.samples import sample_venue_configs

        recorded = strategy if isinstance(strategy, _Recorded) else _Recorded(strategy)
        engine = BacktestEngine(
            recorded, fill_model=ClosePriceFill(), max_runtime_s=0, venues=sample_venue_configs(),
            funding_rates=self.sample_funding() if funding is None else funding,
        )
        result = engine.run(self.sample_candles() if candles is None else candles)
        return {
            "ts": [int(t) for t in result.timestamps],
            "equity": list(result.equity_curve),
            "fills": list(result.fills),
            "logs": [line for line in result.logs if line.startswith("[")],
            "signals": list(recorded.signals),
        }

    @staticmethod
    def before(outcome: dict[str, Any], cut: int) -> dict[str, Any]:
        """The part of a run's outcome on bars that open before ``cut``."""
        bars = sum(1 for t in outcome["ts"] if t < cut)
        return {
            "equity": outcome["equity"][:bars],
            "fills": [f for f in outcome["fills"] if f.ts < cut],
            "logs": [x for x in outcome["logs"] if int(x[1 : x.index("]")]) < cut],
            "signals": [s for s in outcome["signals"] if s[0] < cut],
        }

    # The contract

    def test_instantiates_with_defaults_and_has_a_name(self) -> None:
        from flint.strategy.base import Strategy

        strategy = self.strategy_class()
        assert isinstance(strategy, Strategy), f"{strategy!r} is not a flint Strategy"
        assert isinstance(strategy.name, str) and strategy.name.strip(), (
            f"{self.strategy_class.__name__}.name must be a non-empty string"
        )

    def test_parameters_are_valid_constructor_arguments(self) -> None:
        from flint.strategy.base import check_parameters

        schema = self.strategy_class.parameters()
        assert isinstance(schema, dict), f"parameters() returned {schema!r}"
        assert check_parameters(schema) == [], check_parameters(schema)
        signature = inspect.signature(self.strategy_class)
        accepted = {
            name for name, p in signature.parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        unknown = sorted(set(schema) - accepted)
        assert not unknown, f"parameters() keys that the constructor does not take: {unknown}"
        for key, spec in schema.items():
            default = signature.parameters[key].default
            if "default" in spec and default is not inspect.Parameter.empty:
                assert spec["default"] == default, (
                    f"{key}: parameters() says default {spec['default']!r}, the constructor "
                    f"{default!r}"
                )
        defaults = {k: spec["default"] for k, spec in schema.items() if "default" in spec}
        self.strategy_class(**defaults)

    def test_runs_on_sample_bars(self) -> None:
        import math

        outcome = self.run(self.make_strategy())
        assert len(outcome["equity"]) == len(outcome["ts"]) == len(outcome["signals"]) > 0
        assert all(math.isfinite(x) for x in outcome["equity"])

    def test_reset_restores_initial_behaviour(self) -> None:
        strategy = self.make_strategy()
        first = self.run(strategy)
        again = self.run(strategy)  # the engine calls reset() first
        assert again == first, "a second run of the same instance differs: reset() leaks state"

    def test_is_deterministic(self) -> None:
        first = self.run(self.make_strategy())
        assert self.run(self.make_strategy()) == first, "two identical runs differ"

    def test_does_not_look_ahead(self) -> None:
        from flint_core.records import FundingRate
        from flint_core.series import CandleSeries

        candles = self.sample_candles()
        single = isinstance(candles, CandleSeries)
        feeds = {"": candles} if single else dict(candles)
        ts = next(iter(feeds.values())).timestamps
        base = self.run(self.make_strategy())
        for cut in (int(ts[len(ts) * k // 4]) for k in (1, 2, 3)):
            for scale in (2.0, 0.5):
                other = {k: _changed_after(v, cut, scale) for k, v in feeds.items()}
                funding = [
                    r if r.ts <= cut else FundingRate(
                        r.market, r.ts, (r.rate + 0.0005) * -scale, r.oracle_price * scale,
                        r.mark_price * scale, r.slot, r.source, r.interval_s,
                    )
                    for r in self.sample_funding()
                ]
                outcome = self.run(self.make_strategy(), other[""] if single else other, funding)
                assert self.before(outcome, cut) == self.before(base, cut), (
                    f"what the run did before ts={cut} changed when only later bars and "
                    f"funding changed (scaled x{scale}): the strategy looks ahead"
                )


def _changed_after(bars: Any, cut: int, scale: float) -> Any:
    """``bars`` with every bar opening at or after ``cut`` scaled (prices with noise)."""
    import numpy as np

    from flint_core.series import CandleSeries

    rng = np.random.default_rng(cut)
    after = bars.timestamps >= cut
    factor = np.where(after, scale * np.exp(rng.normal(0.0, 0.05, len(bars))), 1.0)
    return CandleSeries(
        bars.timestamps, bars.opens * factor, bars.highs * factor, bars.lows * factor,
        bars.closes * factor, bars.volumes * np.where(after, scale**3, 1.0), bars.market,
        bars.resolution_s, bars.venue,
    )


# Indicators


#: Settings of the contracts' property tests. Every subclass runs the same method (the
#: contract's), which hypothesis flags as "differing executors": each subclass is simply
#: another indicator under the same contract. No shrinking: the examples are candle lists
#: (shrinking them takes minutes) and each assertion names the bar and the values.
CONTRACT_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.differing_executors],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)


def _values(result: Any) -> list[float]:
    return [float(x) for x in (result if isinstance(result, tuple) else (result,))]


def _same(a: Any, b: Any, rel: float) -> bool:
    """Equal values (NaN equals NaN), to ``rel`` of the larger magnitude."""
    left, right = _values(a), _values(b)
    return len(left) == len(right) and all(
        (math.isnan(x) and math.isnan(y)) or abs(x - y) <= rel * max(1.0, abs(x), abs(y))
        for x, y in zip(left, right, strict=True)
    )


class IndicatorContract:
    """An indicator needs its minimum number of bars, never reads a bar after the one it
    is asked about, and gives the same value on the engine's cached path (a
    ``CandleSeries`` window, the series computed once) as computed over a plain list.

    Subclass it with the indicator (the function you register) and a call's parameters::

        class TestTypicalPrice(IndicatorContract):
            indicator = typical_price
            params = (14,)
            min_bars = 14        # default: indicator.min_bars(*params) (series_indicator)

    The value at a window's end is compared with the value over every bar before it,
    so an indicator built with ``recursive=False`` whose kernel reads more than
    ``min_bars`` bars fails here. With ``candle=`` (series indicators and any function
    taking it) the same holds one bar on.
    """

    indicator: ClassVar[Callable[..., Any]]
    params: ClassVar[tuple[Any, ...]] = ()
    min_bars: ClassVar[int | None] = None
    rel: ClassVar[float] = 1e-9

    def need(self) -> int:
        """The fewest bars the call accepts."""
        if self.min_bars is not None:
            return self.min_bars
        from flint_core.indicators import Indicator

        function = type(self).indicator
        assert isinstance(function, Indicator), (
            "set min_bars: the fewest bars the indicator accepts with these params"
        )
        return int(function.min_bars(*self.params))  # type: ignore[call-overload]

    def call(self, history: Sequence[Any], candle: Any = None) -> Any:
        """The indicator on ``history`` (and ``candle``, when given)."""
        function = type(self).indicator
        if candle is None:
            return function(history, *self.params)
        return function(history, *self.params, candle=candle)

    def takes_candle(self) -> bool:
        """Whether the indicator accepts ``candle=``."""
        from flint_core.indicators import Indicator

        function = type(self).indicator
        if isinstance(function, Indicator):
            return True
        return "candle" in inspect.signature(function).parameters

    def test_needs_its_minimum_number_of_bars(self) -> None:
        import pytest

        from flint.testing.samples import sample_bars

        need = self.need()
        bars = sample_bars("SOL-PERP", "binance", days=max(2, need // 24 + 2))
        assert len(bars) > need, "the sample is too short for this indicator"
        for history in (bars.window(0, need - 1), bars.to_list()[: need - 1]):
            with pytest.raises(IndexError):
                self.call(history)
        for history in (bars.window(0, need), bars.to_list()[:need]):
            value = self.call(history)
            assert all(math.isfinite(x) for x in _values(value)), (
                f"{value!r} on exactly {need} bars: min_bars is too small"
            )

    @CONTRACT_SETTINGS
    @given(st.data())
    def test_window_and_list_agree_at_every_bar(self, data: st.DataObject) -> None:
        from flint.testing.strategies import candle_lists
        from flint_core.series import CandleSeries

        need = self.need()
        bars = data.draw(candle_lists(min_size=need + 1, max_size=need + 40))
        lag = data.draw(st.integers(0, 10))
        root = CandleSeries.from_candles(bars)
        history = root.window(0, 0)
        for stop in range(need, len(bars)):
            history.move_to(max(0, stop - need - lag), stop, bars[stop])
            cached, direct = self.call(history), self.call(bars[:stop])
            assert _same(cached, direct, self.rel), (stop, cached, direct)
            if self.takes_candle():
                cached = self.call(history, bars[stop])
                direct = self.call(bars[: stop + 1])
                assert _same(cached, direct, self.rel), ("candle", stop, cached, direct)

    @CONTRACT_SETTINGS
    @given(st.data())
    def test_does_not_look_ahead(self, data: st.DataObject) -> None:
        from flint.testing.strategies import candle_lists
        from flint_core.records import Candle
        from flint_core.series import CandleSeries

        need = self.need()
        bars = data.draw(candle_lists(min_size=need + 2, max_size=need + 40))
        stop = data.draw(st.integers(need, len(bars) - 2))
        wild = [Candle(c.ts, 1.0, 9e9, 0.5, 5e8, 1e9, c.market, c.resolution_s, c.venue)
                for c in bars]
        checks = [(stop, None), (stop + 1, bars[stop])] if self.takes_candle() else [(stop, None)]
        for cut, candle in checks:
            changed = bars[:cut] + wild[cut:]
            windows = []
            for series in (bars, changed):
                window = CandleSeries.from_candles(series).window(0, stop)
                window.move_to(0, stop, series[stop] if candle is not None else None)
                windows.append(window)
            assert _same(self.call(windows[0], candle), self.call(windows[1], candle), 0.0), (
                f"the value at bar {stop} changed when only bars from {cut} on changed"
            )


# Data providers


class DataProviderContract:
    """A data provider serves what it declares and refuses the rest; each answer is a page
    covering exactly the span it claims, rows ascending, valid and of its venue; the same
    rows however a range is split; rows the store accepts.

    Subclass it and point it at data your provider can serve (your fake venue on
    127.0.0.1, see :mod:`flint.testing.fakes`, or files in ``tmp_path``), with a half-open
    range ``[start_ts, end_ts)`` where the venue has data for ``market``::

        class TestMyProvider(DataProviderContract):
            market, resolution_s = "SOL-PERP", 3600
            start_ts, end_ts = 1_704_067_200, 1_704_153_600

            def make_provider(self):
                return MyProvider(api_url=...)   # or: registered_as = "myvenue"

    Override ``span()`` instead of setting ``start_ts``/``end_ts`` when the range is only
    known at run time.
    """

    registered_as: ClassVar[str | None] = None
    options: ClassVar[dict[str, Any]] = {}
    market: ClassVar[str] = "SOL-PERP"
    #: The venue the rows carry (default: the provider's name, a venue's own provider).
    venue: ClassVar[str | None] = None
    resolution_s: ClassVar[int] = 3600
    start_ts: ClassVar[int]
    end_ts: ClassVar[int]
    #: Kinds checked (those of them the provider declares).
    kinds: ClassVar[tuple[str, ...]] = ("candles", "funding")

    def make_provider(self) -> Any:
        """A fresh provider (default: ``get_data_provider(registered_as, **options)``)."""
        from flint.plugins import get_data_provider

        assert self.registered_as, "set registered_as or override make_provider()"
        return get_data_provider(self.registered_as, **self.options)

    def span(self) -> tuple[int, int]:
        """The half-open range ``[start, end)`` the contract reads."""
        return self.start_ts, self.end_ts

    def _kinds(self, provider: Any) -> list[str]:
        return [k for k in self.kinds if k in provider.capabilities]

    def _rows(self, provider: Any, kind: str, start: int, end: int) -> list[Any]:
        rows: list[Any] = []
        for page in provider.fetch_pages(kind, self.market, start, end,
                                         self.resolution_s if kind == "candles" else None):
            rows.extend(page.rows)
        return rows

    def test_is_a_data_provider(self) -> None:
        from flint.providers.base import CAPABILITY_METHODS, DataProvider

        provider = self.make_provider()
        try:
            assert isinstance(provider, DataProvider), f"{provider!r} is not a DataProvider"
            assert provider.name, "a provider needs a name"
            assert set(provider.capabilities) <= set(CAPABILITY_METHODS)
            assert self._kinds(provider), f"it serves none of {self.kinds}"
        finally:
            provider.close()
        provider.close()  # closing twice is safe

    def test_pages_cover_the_span_in_order_and_hold_only_their_rows(self) -> None:
        start, end = self.span()
        provider = self.make_provider()
        try:
            for kind in self._kinds(provider):
                pages = list(provider.fetch_pages(
                    kind, self.market, start, end,
                    self.resolution_s if kind == "candles" else None,
                ))
                assert pages, f"{kind}: no page"
                assert pages[0].start_ts <= start, f"{kind}: the first page starts late"
                assert pages[-1].end_ts >= end, f"{kind}: the pages stop before the end"
                last = None
                for before, after in itertools.pairwise(pages):
                    assert before.end_ts == after.start_ts, f"{kind}: pages leave a hole"
                for page in pages:
                    for row in page.rows:
                        assert page.start_ts <= row.ts < page.end_ts, (kind, row, page.start_ts)
                        assert last is None or row.ts > last, f"{kind}: rows out of order"
                        last = row.ts
                assert last is not None, f"{kind}: no row in a span with data"
        finally:
            provider.close()

    def test_a_split_range_gives_the_same_rows(self) -> None:
        start, end = self.span()
        middle = start + (end - start) // 3
        provider = self.make_provider()
        try:
            for kind in self._kinds(provider):
                whole = self._rows(provider, kind, start, end)
                split = (self._rows(provider, kind, start, middle)
                         + self._rows(provider, kind, middle, end))
                assert split == whole, f"{kind}: two calls differ from one"
        finally:
            provider.close()

    def test_candles_are_valid_bars_of_the_market(self) -> None:
        start, end = self.span()
        provider = self.make_provider()
        try:
            if "candles" not in self._kinds(provider):
                return
            bars = self._rows(provider, "candles", start, end)
        finally:
            provider.close()
        for bar in bars:
            values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert all(math.isfinite(v) for v in values), bar
            assert 0 < bar.low <= min(bar.open, bar.close), bar
            assert max(bar.open, bar.close) <= bar.high and bar.volume >= 0, bar
            assert bar.market == self.market and bar.resolution_s == self.resolution_s, bar
            assert bar.ts % self.resolution_s == 0, bar

    def test_funding_is_finite_with_its_venue_and_interval(self) -> None:
        start, end = self.span()
        provider = self.make_provider()
        try:
            if "funding" not in self._kinds(provider):
                return
            rates = self._rows(provider, "funding", start, end)
        finally:
            provider.close()
        for rate in rates:
            assert math.isfinite(rate.rate) and rate.source and rate.interval_s > 0, rate

    def test_rows_are_the_venues_and_the_store_accepts_them(self) -> None:
        from flint.store import FlintStore

        start, end = self.span()
        provider = self.make_provider()
        try:
            with FlintStore(":memory:") as store:
                for kind in self._kinds(provider):
                    rows = self._rows(provider, kind, start, end)
                    venue = self.venue or provider.name
                    if kind == "candles":
                        assert {c.venue for c in rows} == {venue}
                        assert store.upsert_candles(rows) == len(rows)
                    else:
                        assert {r.source for r in rows} == {venue}
                        assert store.upsert_funding_rates(rows) == len(rows)
        finally:
            provider.close()

    def test_undeclared_capabilities_raise_not_implemented(self) -> None:
        import pytest

        from flint.providers.base import CAPABILITY_METHODS

        start, end = self.span()
        provider = self.make_provider()
        try:
            for kind in sorted(set(CAPABILITY_METHODS) - set(provider.capabilities)):
                with pytest.raises(NotImplementedError):
                    list(provider.fetch_pages(kind, self.market, start, end))
        finally:
            provider.close()


# Execution contexts


class ExecutionContextContract:
    """An execution context reports finite account state, opens and closes a position,
    rests and cancels a limit order, and never lets a reduce-only order open a position.

    Subclass it with the registered venue and mode (the context is built with
    ``get_execution_context(venue, mode, **options)``; point the options at your fake
    venue) or override :meth:`make_context`::

        class TestMyPaperContext(ExecutionContextContract):
            venue, mode = "myvenue", "paper"
            options = {"api_url": "http://127.0.0.1:..."}
            market, size = "SOL-PERP", 0.01

            def settle(self, ctx):
                ...   # let the (fake) venue process what was sent, if it is asynchronous
    """

    venue: ClassVar[str]
    mode: ClassVar[str] = "paper"
    options: ClassVar[dict[str, Any]] = {}
    market: ClassVar[str] = "SOL-PERP"
    size: ClassVar[float] = 0.01
    #: The market's price, for a context that serves no candles (a live one); None:
    #: read it from ``ctx.get_candles``.
    price: ClassVar[float | None] = None

    def make_context(self) -> Any:
        """A fresh context, flat and without open orders."""
        from flint.plugins import get_execution_context

        return get_execution_context(self.venue, self.mode, **self.options)

    def settle(self, ctx: Any) -> None:
        """Give the venue time to process what was sent (nothing by default)."""

    def far_below(self, ctx: Any) -> float:
        """A buy limit price that will not fill soon: half the latest close (or of
        :attr:`price`)."""
        if self.price is not None:
            return self.price / 2
        bars = ctx.get_candles(self.market, 1, venue=self.venue)
        assert bars, f"ctx.get_candles({self.market!r}) returned nothing: cannot price a limit"
        return float(bars[-1].close) / 2

    def test_reports_finite_state(self) -> None:
        from flint.execution.context import ExecutionContext
        from flint_core.records import AccountState

        ctx = self.make_context()
        assert isinstance(ctx, ExecutionContext), f"{ctx!r} is not an ExecutionContext"
        account = ctx.account
        assert isinstance(account, AccountState)
        numbers = (account.equity, account.cash, account.unrealized_pnl, account.margin_used)
        assert all(math.isfinite(x) for x in numbers), account
        assert isinstance(ctx.positions, list) and isinstance(ctx.pending_orders, list)
        assert self.market in ctx.markets, f"{self.market} not in {ctx.markets}"

    def test_a_market_order_opens_a_position_that_close_position_closes(self) -> None:
        from flint_core.enums import Side

        ctx = self.make_context()
        assert ctx.position(self.market, self.venue) is None, "a new context must start flat"
        order_id = ctx.market_order(self.market, Side.LONG, self.size, venue=self.venue)
        assert isinstance(order_id, str) and order_id, f"market_order returned {order_id!r}"
        self.settle(ctx)
        held = ctx.position(self.market, self.venue)
        assert held is not None and held.side == Side.LONG, held
        assert math.isclose(held.size, self.size, rel_tol=1e-6), held
        assert ctx.close_position(self.market, self.venue)
        self.settle(ctx)
        assert ctx.position(self.market, self.venue) is None

    def test_a_reduce_only_order_never_opens_a_position(self) -> None:
        from flint_core.enums import Side

        ctx = self.make_context()
        ctx.market_order(self.market, Side.SHORT, self.size, reduce_only=True, venue=self.venue)
        self.settle(ctx)
        assert ctx.position(self.market, self.venue) is None

    def test_a_limit_order_rests_until_cancelled(self) -> None:
        from flint_core.enums import Side

        ctx = self.make_context()
        order_id = ctx.limit_order(self.market, Side.LONG, self.size, self.far_below(ctx),
                                   venue=self.venue)
        assert isinstance(order_id, str) and order_id
        self.settle(ctx)
        assert order_id in [o.order_id for o in ctx.pending_orders]
        assert ctx.cancel(order_id) is True
        self.settle(ctx)
        assert order_id not in [o.order_id for o in ctx.pending_orders]
        assert ctx.cancel(order_id) is False
        assert ctx.cancel_all(self.market) == 0
