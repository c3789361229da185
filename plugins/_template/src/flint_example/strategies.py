"""The example plugin's strategy."""

from flint.models import Signal
from flint.plugins import Strategy
from flint_example.indicators import typical_price


class TypicalPriceReversion(Strategy):
    """Long when the close falls ``band`` below the typical price, flat when above it."""

    def __init__(self, period: int = 20, band: float = 0.01) -> None:
        self.period = period
        self.band = band

    @property
    def name(self) -> str:
        return "typical_price_reversion"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.period:
            return Signal.HOLD
        mean = typical_price(history, self.period)
        if candle.close < mean * (1 - self.band):
            return Signal.BUY
        if candle.close > mean:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass

    @classmethod
    def parameters(cls):
        return {
            "period": {"type": "int", "low": 5, "high": 100, "default": 20},
            "band": {"type": "float", "low": 0.0, "high": 0.05, "default": 0.01},
        }
