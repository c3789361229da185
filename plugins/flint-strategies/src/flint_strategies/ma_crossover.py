"""Simple moving-average crossover (trend, v1 signals)."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from flint.models import Candle, Signal
from flint.strategy.base import Strategy


def _last_closes(history: Sequence[Candle], n: int) -> Any:
    closes = getattr(history, "closes", None)
    if closes is not None:
        return closes[-n:]
    return np.fromiter((c.close for c in history[-n:]), dtype=np.float64)


class MACrossoverStrategy(Strategy):
    """Buy when the fast SMA of closes crosses above the slow SMA; sell on the cross below.

    The averages include the bar being decided on (its close is known when the
    strategy runs). The first bar with both averages only records them.
    """

    def __init__(self, fast_period: int = 10, slow_period: int = 30) -> None:
        if not 0 < fast_period < slow_period:
            raise ValueError(
                f"need 0 < fast_period < slow_period, got {fast_period} and {slow_period}"
            )
        self.fast_period = fast_period
        self.slow_period = slow_period
        self._prev_diff: float | None = None

    @property
    def name(self) -> str:
        return "ma_crossover"

    def on_candle(
        self, candle: Candle, history: Sequence[Candle], ctx: Any | None = None
    ) -> Signal:
        if len(history) < self.slow_period - 1:
            return Signal.HOLD
        closes = _last_closes(history, self.slow_period - 1)
        slow = (float(closes.sum()) + candle.close) / self.slow_period
        fast_window = closes[len(closes) - self.fast_period + 1 :]
        fast = (float(fast_window.sum()) + candle.close) / self.fast_period
        diff = fast - slow
        prev, self._prev_diff = self._prev_diff, diff
        if prev is None:
            return Signal.HOLD
        if prev <= 0 < diff:
            return Signal.BUY
        if prev >= 0 > diff:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        self._prev_diff = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "fast_period": {"type": "int", "low": 2, "high": 50, "default": 10, "step": 1},
            "slow_period": {"type": "int", "low": 10, "high": 200, "default": 30, "step": 1},
        }
