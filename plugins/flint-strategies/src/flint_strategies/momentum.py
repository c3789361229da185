"""momentum: time-series momentum (trend, v1 signals).

Compares the current close with the close ``lookback`` bars earlier: a gain of at
least ``threshold_pct`` percent buys, a loss of at least that much sells.
"""

from typing import Any

from flint.indicators import closes
from flint.models import Signal
from flint.strategy.base import Strategy


class MomentumStrategy(Strategy):
    """Buy a rise, sell a fall of ``threshold_pct`` % over ``lookback`` bars (v1)."""

    def __init__(self, lookback: int = 24, threshold_pct: float = 5.0) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        if not threshold_pct > 0:
            raise ValueError(f"threshold_pct must be > 0, got {threshold_pct}")
        self.lookback = lookback
        self.threshold_pct = threshold_pct

    @property
    def name(self) -> str:
        return "momentum"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if len(history) < self.lookback:
            return Signal.HOLD
        before = float(closes(history, self.lookback)[0])
        change_pct = (candle.close / before - 1.0) * 100.0
        if change_pct >= self.threshold_pct:
            return Signal.BUY
        if change_pct <= -self.threshold_pct:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass  # stateless

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "lookback": {"type": "int", "low": 2, "high": 200, "default": 24, "step": 1},
            "threshold_pct": {"type": "float", "low": 0.5, "high": 20.0, "default": 5.0},
        }
