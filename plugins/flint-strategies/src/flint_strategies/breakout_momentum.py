"""breakout_momentum: volume-confirmed channel breakout (trend, v1 signals).

Buys when the close breaks above the highest high of the previous ``lookback`` bars
on a volume at least ``volume_mult`` times their average volume. Sells when the
close falls more than ``atr_mult`` average true ranges below that highest high.
"""

from typing import Any

from flint.indicators import atr, highest_high, volumes
from flint.models import Signal
from flint.strategy.base import Strategy


class BreakoutMomentumStrategy(Strategy):
    """Buy breakouts above the channel high on heavy volume; sell a fall of k ATRs (v1)."""

    def __init__(
        self, lookback: int = 20, volume_mult: float = 1.5, atr_mult: float = 2.0
    ) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        if not volume_mult >= 0 or not atr_mult >= 0:
            raise ValueError(
                f"volume_mult and atr_mult must be >= 0, got {volume_mult} and {atr_mult}"
            )
        self.lookback = lookback
        self.volume_mult = volume_mult
        self.atr_mult = atr_mult

    @property
    def name(self) -> str:
        return "breakout_momentum"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        n = self.lookback
        if len(history) < n + 1:  # the ATR needs one bar more than its period
            return Signal.HOLD
        top = highest_high(history, n)
        if candle.close > top:
            average_volume = float(volumes(history, n).sum()) / n
            if candle.volume > self.volume_mult * average_volume:
                return Signal.BUY
            return Signal.HOLD
        if candle.close < top - self.atr_mult * atr(history, n):
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass  # stateless

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "lookback": {"type": "int", "low": 5, "high": 100, "default": 20, "step": 1},
            "volume_mult": {"type": "float", "low": 1.0, "high": 5.0, "default": 1.5},
            "atr_mult": {"type": "float", "low": 0.5, "high": 5.0, "default": 2.0},
        }
