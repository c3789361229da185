"""v1: long while the fast SMA is above the slow one, short while below."""

from typing import List, Optional

from flint.indicators import sma
from flint.models import Candle, Signal
from flint.strategy.base import Strategy


class GoldenCross(Strategy):
    def __init__(self, fast: int = 20, slow: int = 50):
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be below slow ({slow})")
        self.fast, self.slow = fast, slow

    @property
    def name(self) -> str:
        return "golden-cross"

    def on_candle(self, candle: Candle, history: List[Candle], ctx: Optional[object] = None):
        if len(history) < self.slow:
            return Signal.HOLD
        fast, slow = sma(history, self.fast), sma(history, self.slow)
        if fast > slow:
            return Signal.BUY
        if fast < slow:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 5, "high": 50, "default": 20},
            "slow": {"type": "int", "low": 20, "high": 200, "default": 50},
        }
