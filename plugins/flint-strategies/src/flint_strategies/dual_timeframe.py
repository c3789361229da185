"""dual_timeframe: slow trend filter, fast momentum entries (trend, v1 signals).

The slow timeframe sets the direction: the trend is up while the SMA of the last
``trend_period`` closes rises from one bar to the next, down while it falls. The fast
timeframe times the entry: buy in an uptrend when the close has gained more than
``entry_threshold`` (a fraction) over the last ``entry_period`` bars; sell in a
downtrend when it has lost more than that.
"""

from typing import Any

from flint.indicators import closes, sma
from flint.models import Signal
from flint.strategy.base import Strategy


class DualTimeframeStrategy(Strategy):
    """Trade short-term momentum in the direction of the long-term trend (v1)."""

    def __init__(
        self, trend_period: int = 50, entry_period: int = 10, entry_threshold: float = 0.02
    ) -> None:
        if not 0 < entry_period < trend_period:
            raise ValueError(
                f"need 0 < entry_period < trend_period, got {entry_period} and {trend_period}"
            )
        if not entry_threshold > 0:
            raise ValueError(f"entry_threshold must be > 0, got {entry_threshold}")
        self.trend_period = trend_period
        self.entry_period = entry_period
        self.entry_threshold = entry_threshold
        self._prev_trend: float | None = None

    @property
    def name(self) -> str:
        return "dual_timeframe"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.trend_period:
            return Signal.HOLD
        trend = sma(history, self.trend_period)
        prev = self._prev_trend
        self._prev_trend = trend
        if prev is None or trend == prev:
            return Signal.HOLD
        change = candle.close / float(closes(history, self.entry_period)[0]) - 1.0
        if trend > prev and change > self.entry_threshold:
            return Signal.BUY
        if trend < prev and change < -self.entry_threshold:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        self._prev_trend = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "trend_period": {"type": "int", "low": 20, "high": 200, "default": 50, "step": 1},
            "entry_period": {"type": "int", "low": 2, "high": 19, "default": 10, "step": 1},
            "entry_threshold": {"type": "float", "low": 0.005, "high": 0.1, "default": 0.02},
        }
