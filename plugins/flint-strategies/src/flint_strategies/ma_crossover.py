"""ma_crossover: simple moving-average crossover (trend, v1 signals).

Buys when the fast SMA of the closes crosses above the slow SMA and sells when it
crosses below. The averages are those of ``history`` (the bars before ``candle``), so
a cross completed at the previous bar's close is acted on at this bar. The first bar
with both averages only records them.
"""

from typing import Any

from flint.indicators import sma
from flint.models import Signal
from flint.strategy.base import Strategy


class MACrossoverStrategy(Strategy):
    """Trend following on a fast/slow simple moving-average crossover (v1)."""

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

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.slow_period:
            return Signal.HOLD
        diff = sma(history, self.fast_period) - sma(history, self.slow_period)
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
            "fast_period": {"type": "int", "low": 2, "high": 25, "default": 10, "step": 1},
            "slow_period": {"type": "int", "low": 26, "high": 200, "default": 30, "step": 1},
        }
