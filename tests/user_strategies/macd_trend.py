"""v1: MACD crossovers, only while ADX says the market trends."""

from dataclasses import dataclass, field
from enum import Enum

from flint.indicators import adx, macd
from flint.models import Signal
from flint.strategy import Strategy


class Regime(Enum):
    TREND = "trend"
    RANGE = "range"


@dataclass
class State:
    last_histogram: float = 0.0
    regimes: list = field(default_factory=list)

    def remember(self, regime: Regime) -> None:
        self.regimes.append(regime)
        del self.regimes[:-50]


class MACDTrend(Strategy):
    def __init__(self, fast=12, slow=26, signal=9, adx_period=14, adx_threshold=20.0):
        self.fast, self.slow, self.signal = fast, slow, signal
        self.adx_period, self.adx_threshold = adx_period, adx_threshold
        self.state = State()

    @property
    def name(self):
        return f"macd-trend-{self.fast}-{self.slow}"

    def on_candle(self, candle, history, ctx=None):
        need = max(self.slow + self.signal - 1, 2 * self.adx_period)
        if len(history) < need:
            return Signal.HOLD
        _line, _sig, histogram = macd(history, self.fast, self.slow, self.signal)
        trending = adx(history, self.adx_period) > self.adx_threshold
        regime = Regime.TREND if trending else Regime.RANGE
        self.state.remember(regime)
        previous, self.state.last_histogram = self.state.last_histogram, histogram
        if regime is not Regime.TREND:
            return Signal.HOLD
        if previous <= 0 < histogram:
            return Signal.BUY
        if previous >= 0 > histogram:
            return Signal.SELL
        return Signal.HOLD

    def reset(self):
        self.state = State()

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 5, "high": 20, "default": 12},
            "slow": {"type": "int", "low": 21, "high": 60, "default": 26},
            "adx_threshold": {"type": "float", "low": 10.0, "high": 40.0, "default": 20.0},
        }
