"""Contract test classes a plugin subclasses to prove it behaves like a flint plugin.

Example (``tests/test_conformance.py`` of a plugin)::

    from flint.testing.contracts import PluginContract

    class TestMyPlugin(PluginContract):
        plugin_name = "myplugin"          # the entry-point name
        dist_name = "flint-myplugin"      # the distribution that provides it

A plugin that registers fill models also subclasses :class:`FillModelContract`, one
that registers strategies :class:`StrategyContract`, one that registers data
providers :class:`DataProviderContract`. Class names have no ``Test``
prefix so pytest does not collect them here.
"""

import importlib
import inspect
import itertools
from importlib import metadata
from typing import Any, ClassVar

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

        bars = {f"{v}:{self.market}": sample_bars(self.market, v, self.days) for v in self.venues}
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


class DataProviderContract:
    """A data provider serves what it declares, each answer as a page covering exactly
    the span it claims, the same rows however a range is split, and rows the store
    accepts.

    Subclass it and implement ``make_provider()`` (a fresh provider, e.g. pointed at
    a fake venue server) and ``span()`` (a half-open range ``[start, end)`` where the
    venue has data for ``market``)::

        class TestMyProvider(DataProviderContract):
            market = "SOL-PERP"

            def make_provider(self):
                return MyProvider(self.fake.url)

            def span(self):
                return (1735689600, 1738368000)
    """

    market: ClassVar[str] = "SOL-PERP"
    resolution_s: ClassVar[int] = 3600
    #: Kinds checked (those of them the provider declares).
    kinds: ClassVar[tuple[str, ...]] = ("candles", "funding")

    def make_provider(self) -> Any:
        raise NotImplementedError("return a fresh data provider from make_provider()")

    def span(self) -> tuple[int, int]:
        raise NotImplementedError("return a range [start, end) with data from span()")

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

    def test_rows_are_the_venues_and_the_store_accepts_them(self) -> None:
        from flint.store import FlintStore

        start, end = self.span()
        provider = self.make_provider()
        try:
            with FlintStore(":memory:") as store:
                for kind in self._kinds(provider):
                    rows = self._rows(provider, kind, start, end)
                    if kind == "candles":
                        assert {c.venue for c in rows} == {provider.name}
                        assert all(c.ts % self.resolution_s == 0 for c in rows)
                        assert store.upsert_candles(rows) == len(rows)
                    else:
                        assert {r.source for r in rows} == {provider.name}
                        assert store.upsert_funding_rates(rows) == len(rows)
        finally:
            provider.close()
