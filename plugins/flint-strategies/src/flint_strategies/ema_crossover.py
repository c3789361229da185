"""ema_crossover: exponential moving-average crossover (trend, v1 signals).

Buys when the fast EMA of the closes crosses above the slow EMA and sells when it
crosses below. The EMAs (seeded with an SMA, run over all available history) are
those of ``history``, the bars before ``candle``; the first bar with both only
records them.
"""

from typing import Any

from flint.indicators import ema
from flint.models import Signal
from flint.strategy.base import Strategy


class EMACrossoverStrategy(Strategy):
    """Trend following on a fast/slow exponential moving-average crossover (v1)."""

    def __init__(self, fast: int = 12, slow: int = 26) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got {fast} and {slow}")
        self.fast = fast
        self.slow = slow
        self._prev_diff: float | None = None

    @property
    def name(self) -> str:
        return "ema_crossover"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.slow:
            return Signal.HOLD
        diff = ema(history, self.fast) - ema(history, self.slow)
        prev = self._prev_diff
        self._prev_diff = diff
        if prev is None:
            return Signal.HOLD
        if prev <= 0.0 < diff:
            return Signal.BUY
        if prev >= 0.0 > diff:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        self._prev_diff = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "fast": {"type": "int", "low": 2, "high": 25, "default": 12, "step": 1},
            "slow": {"type": "int", "low": 26, "high": 200, "default": 26, "step": 1},
        }
