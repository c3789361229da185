"""Contract test classes a plugin subclasses to prove it behaves like a flint plugin.

Example (``tests/test_conformance.py`` of a plugin)::

    from flint.testing.contracts import PluginContract

    class TestMyPlugin(PluginContract):
        plugin_name = "myplugin"          # the entry-point name
        dist_name = "flint-myplugin"      # the distribution that provides it

A plugin that registers fill models also subclasses :class:`FillModelContract`.
Class names have no ``Test`` prefix so pytest does not collect them here.
"""

import importlib
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
