import re

import numpy as np
import pytest

from flint.execution.fill_models import (
    ClosePriceFill,
    FillPipeline,
    NextBarOpenFill,
    SlippageFill,
)
from flint.indicators import sma
from flint.models import Signal
from flint.strategy.base import Strategy
from flint.testing import sample_bars, sample_funding, sample_venue_configs
from flint.testing.contracts import FillModelContract, StrategyContract
from flint.testing.plugin import real_data_dir


def test_real_data_fixture_points_at_the_shared_candles(flint_test_data):
    assert (flint_test_data / "binance-SOLUSDT-3600.csv").is_file()


def test_real_data_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FLINT_TEST_DATA", raising=False)
    assert real_data_dir(tmp_path / "repo") == tmp_path / "shared" / "data"
    monkeypatch.setenv("FLINT_TEST_DATA", str(tmp_path / "elsewhere"))
    assert real_data_dir(tmp_path / "repo") == tmp_path / "elsewhere"


class TestClosePriceFillContract(FillModelContract):
    def make_model(self):
        return ClosePriceFill()


class TestNextBarOpenFillContract(FillModelContract):
    def make_model(self):
        return NextBarOpenFill()


class TestSlippageFillContract(FillModelContract):
    def make_model(self):
        return SlippageFill(12.5)


class TestFillPipelineContract(FillModelContract):
    def make_model(self):
        return FillPipeline(latency_seed=9)


# The strategy contract and the sample data behind it

class Crossing(Strategy):
    """Long while the close is above the 10-bar SMA of history, flat below: causal."""

    def __init__(self, period: int = 10, bars_seen: int = 0) -> None:
        self.period = period
        self.bars_seen = bars_seen

    @property
    def name(self):
        return "crossing"

    def on_candle(self, candle, history, ctx=None):
        self.bars_seen += 1
        if len(history) < self.period:
            return Signal.HOLD
        return Signal.BUY if candle.close > sma(history, self.period) else Signal.SELL

    def reset(self):
        self.bars_seen = 0

    @classmethod
    def parameters(cls):
        return {"period": {"type": "int", "low": 2, "high": 50, "default": 10}}


class TestCrossingContract(StrategyContract):
    strategy_class = Crossing


class Peeking(Crossing):
    """Buys when the NEXT close is higher: looks ahead through the window's root."""

    def on_candle(self, candle, history, ctx=None):
        closes = history.root.closes
        if history.stop + 1 < len(closes) and closes[history.stop + 1] > candle.close:
            return Signal.BUY
        return Signal.SELL


class Leaky(Crossing):
    """Forgets to reset: trades differently on a second run of the same instance."""

    def on_candle(self, candle, history, ctx=None):
        self.bars_seen += 1
        return Signal.BUY if self.bars_seen % 50 == 0 else Signal.SELL if (
            self.bars_seen % 50 == 25) else Signal.HOLD

    def reset(self):
        pass


class Dicey(Crossing):
    """Unseeded randomness: not deterministic."""

    def on_candle(self, candle, history, ctx=None):
        return Signal.BUY if np.random.default_rng().random() < 0.05 else Signal.SELL


class Misdescribed(Crossing):
    @classmethod
    def parameters(cls):
        return {"period": {"type": "int", "low": 2, "high": 50, "default": 20},
                "speed": {"type": "float", "low": 0.1, "high": 1.0}}


@pytest.mark.parametrize(("strategy_class", "test", "complaint"), [
    (Peeking, "test_does_not_look_ahead", "looks ahead"),
    (Leaky, "test_reset_restores_initial_behaviour", "reset() leaks state"),
    (Dicey, "test_is_deterministic", "two identical runs differ"),
    (Misdescribed, "test_parameters_are_valid_constructor_arguments", "['speed']"),
])
def test_the_strategy_contract_catches_what_it_promises_to(strategy_class, test, complaint):
    contract = type("Contract", (StrategyContract,), {"strategy_class": strategy_class})()
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        getattr(contract, test)()


def test_the_contract_checks_parameter_defaults_against_the_constructor():
    class WrongDefault(Crossing):
        @classmethod
        def parameters(cls):
            return {"period": {"type": "int", "low": 2, "high": 50, "default": 20}}

    contract = type("Contract", (StrategyContract,), {"strategy_class": WrongDefault})()
    with pytest.raises(AssertionError, match="default 20, the constructor 10"):
        contract.test_parameters_are_valid_constructor_arguments()


def test_sample_markets_come_with_both_venues_funding_and_configs():
    bars = sample_bars("SOL-PERP", "hyperliquid", days=3)
    assert len(bars) == 72 and bars.venue == "hyperliquid" and bars.resolution_s == 3600
    assert bars is sample_bars("SOL-PERP", "hyperliquid", days=3)  # built once
    funding = sample_funding("SOL-PERP", days=3)
    assert {r.source: r.interval_s for r in funding} == {"binance": 28800, "hyperliquid": 3600}
    assert [r.ts for r in funding] == sorted(r.ts for r in funding)
    assert {r.source for r in sample_funding("SOL-PERP", ["binance"], days=3)} == {"binance"}
    configs = sample_venue_configs()
    assert configs["binance"].funding_interval_s == 28800 and configs["hyperliquid"].name
    with pytest.raises(KeyError, match="no sample candles for drift/SOL-PERP"):
        sample_bars("SOL-PERP", "drift", days=3)
