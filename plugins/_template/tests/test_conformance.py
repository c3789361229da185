"""The conformance kit: the plugin as a whole, then each thing it registers."""

from flint_example.fills import SpreadFill
from flint_example.indicators import typical_price
from flint_example.strategies import TypicalPriceReversion

from flint.testing.contracts import (
    FillModelContract,
    IndicatorContract,
    PluginContract,
    StrategyContract,
)


class TestExamplePlugin(PluginContract):
    plugin_name = "example"
    dist_name = "flint-example"


class TestSpreadFill(FillModelContract):
    def make_model(self):
        return SpreadFill()


class TestTypicalPrice(IndicatorContract):
    indicator = typical_price
    params = (14,)


class TestTypicalPriceReversion(StrategyContract):
    strategy_class = TypicalPriceReversion
