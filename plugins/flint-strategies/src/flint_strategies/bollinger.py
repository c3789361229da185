"""bollinger: Bollinger band reversion (mean reversion, v1 signals).

Bands of ``history``: the SMA of the last ``period`` closes plus and minus ``num_std``
population standard deviations. A close at or below the lower band buys, at or above
the upper band sells; flat closes (no band width) hold.
"""

from typing import Any

from flint.indicators import bollinger
from flint.models import Signal
from flint.strategy.base import Strategy


class BollingerStrategy(Strategy):
    """Buy at the lower Bollinger band, sell at the upper (v1)."""

    def __init__(self, period: int = 20, num_std: float = 2.0) -> None:
        if period < 2:
            raise ValueError(f"period must be >= 2, got {period}")
        if not num_std > 0:
            raise ValueError(f"num_std must be > 0, got {num_std}")
        self.period = period
        self.num_std = num_std

    @property
    def name(self) -> str:
        return "bollinger"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.period:
            return Signal.HOLD
        upper, _, lower = bollinger(history, self.period, self.num_std)
        if upper <= lower:
            return Signal.HOLD
        if candle.close <= lower:
            return Signal.BUY
        if candle.close >= upper:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass  # stateless

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "period": {"type": "int", "low": 5, "high": 100, "default": 20, "step": 1},
            "num_std": {"type": "float", "low": 0.5, "high": 4.0, "default": 2.0},
        }
