"""rsi: RSI overbought/oversold reversal (mean reversion, v1 signals).

Wilder's RSI of ``history``: buys when it crosses below ``oversold`` and sells when
it crosses above ``overbought``.
"""

from typing import Any

from flint.indicators import rsi
from flint.models import Signal
from flint.strategy.base import Strategy


class RSIStrategy(Strategy):
    """Buy when the RSI drops into oversold, sell when it rises into overbought (v1)."""

    def __init__(self, period: int = 14, oversold: float = 30.0, overbought: float = 70.0) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        if not 0 < oversold < overbought < 100:
            raise ValueError(
                f"need 0 < oversold < overbought < 100, got {oversold} and {overbought}"
            )
        self.period = period
        self.oversold = oversold
        self.overbought = overbought
        self._prev: float | None = None

    @property
    def name(self) -> str:
        return "rsi"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.period + 1:
            return Signal.HOLD
        value = rsi(history, self.period)
        prev = self._prev
        self._prev = value
        if prev is None:
            return Signal.HOLD
        if prev >= self.oversold > value:
            return Signal.BUY
        if prev <= self.overbought < value:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        self._prev = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "period": {"type": "int", "low": 2, "high": 50, "default": 14, "step": 1},
            "oversold": {"type": "float", "low": 10.0, "high": 45.0, "default": 30.0},
            "overbought": {"type": "float", "low": 55.0, "high": 90.0, "default": 70.0},
        }
