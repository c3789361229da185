"""The plugin and each of its 20 strategies pass flint's conformance contracts."""

import pytest
from flint_strategies.plugin import BUILTINS

import flint.strategy
from flint.testing.contracts import PluginContract, StrategyContract

#: The seed's list: every one importable from flint.strategy.
SEED_NAMES = [
    "MACrossoverStrategy", "EMACrossoverStrategy", "RSIStrategy", "BollingerStrategy",
    "MomentumStrategy", "FundingHarvestStrategy", "MeanReversionStrategy",
    "BreakoutMomentumStrategy", "GridTraderStrategy", "DualTimeframeStrategy",
    "VWAPReversionStrategy", "MACDDivergenceStrategy", "ATRBreakoutStrategy",
    "MultiVenueFundingStrategy", "RSIMACDComboStrategy", "FundingMeanReversionStrategy",
    "MomentumBreakoutStrategy", "FundingArbStrategy", "BasisTradeStrategy", "MevArbMonitor",
]

TWO_VENUES = ("binance", "hyperliquid")

#: Run settings per strategy where the defaults would not trade on 60 sample days.
RUNS = {
    "funding_arb": {"venues": TWO_VENUES},
    "basis_trade": {"venues": TWO_VENUES, "params": {"entry_basis_bps": 10.0}},
    "mev_arb_monitor": {"venues": TWO_VENUES},
}


class TestStrategiesPlugin(PluginContract):
    plugin_name = "strategies"
    dist_name = "flint-strategies"


for _name, (_cls, _, _) in BUILTINS.items():
    _run = RUNS.get(_name, {})
    globals()[f"Test{_cls.__name__}Contract"] = type(
        f"Test{_cls.__name__}Contract", (StrategyContract,),
        {"strategy_class": _cls, "params": _run.get("params", {}),
         "venues": _run.get("venues", ("binance",))},
    )


def test_the_seeds_twenty_strategies_import_from_flint_strategy():
    assert sorted(cls.__name__ for cls, _, _ in BUILTINS.values()) == sorted(SEED_NAMES)
    for name in SEED_NAMES:
        assert getattr(flint.strategy, name).__name__ == name


def test_each_is_registered_with_its_category_and_style(flint_host):
    registry = flint_host.registry("strategies")
    for name, (cls, category, style) in BUILTINS.items():
        entry = registry.entry(name)
        assert entry.obj is cls and cls().name == name
        assert entry.meta == {"category": category, "style": style}
        assert category in {"trend", "mean-reversion", "multi-signal", "defi", "monitor"}
        assert style in {"v1", "v2"}


def test_unknown_names_still_fail_clearly():
    with pytest.raises(ImportError, match="unknown strategy 'NoSuchStrategy'; registered: atr_"):
        flint.strategy.NoSuchStrategy  # noqa: B018
