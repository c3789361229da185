"""mean_reversion: z-score reversion with a stop-loss (mean reversion, v1 signals).

``z`` is how many population standard deviations the current close lies from the
mean of the previous ``period`` closes. ``z <= -entry_z`` buys. Once bought, the
strategy sells when the price has reverted (``|z| <= exit_z``), overshot
(``z >= entry_z``), or fallen ``stop_loss_pct`` below the buy bar's close. While not
long it also sells on ``z >= entry_z`` (a short entry where the engine allows them).
"""

from typing import Any

from flint.indicators import bollinger
from flint.models import Signal
from flint.strategy.base import Strategy


class MeanReversionStrategy(Strategy):
    """Buy a close ``entry_z`` deviations below the mean, sell on reversion or stop (v1)."""

    def __init__(
        self,
        period: int = 20,
        entry_z: float = 2.0,
        exit_z: float = 0.5,
        stop_loss_pct: float = 0.05,
    ) -> None:
        if period < 2:
            raise ValueError(f"period must be >= 2, got {period}")
        if not 0 <= exit_z < entry_z:
            raise ValueError(f"need 0 <= exit_z < entry_z, got {exit_z} and {entry_z}")
        if not 0 < stop_loss_pct < 1:
            raise ValueError(f"stop_loss_pct must be within (0, 1), got {stop_loss_pct}")
        self.period = period
        self.entry_z = entry_z
        self.exit_z = exit_z
        self.stop_loss_pct = stop_loss_pct
        self._entry: float | None = None  # close of our last buy while long

    @property
    def name(self) -> str:
        return "mean_reversion"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        close = candle.close
        if self._entry is not None and close <= self._entry * (1.0 - self.stop_loss_pct):
            self._entry = None
            return Signal.SELL
        if len(history) < self.period:
            return Signal.HOLD
        upper, middle, _ = bollinger(history, self.period, 1.0)
        std = upper - middle
        if not std > 0:
            return Signal.HOLD
        z = (close - middle) / std
        if self._entry is None:
            if z <= -self.entry_z:
                self._entry = close
                return Signal.BUY
            return Signal.SELL if z >= self.entry_z else Signal.HOLD
        if z >= self.entry_z or abs(z) <= self.exit_z:
            self._entry = None
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        self._entry = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "period": {"type": "int", "low": 5, "high": 100, "default": 20, "step": 1},
            "entry_z": {"type": "float", "low": 1.0, "high": 4.0, "default": 2.0},
            "exit_z": {"type": "float", "low": 0.0, "high": 0.9, "default": 0.5},
            "stop_loss_pct": {"type": "float", "low": 0.01, "high": 0.2, "default": 0.05},
        }
