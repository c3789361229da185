"""macd_divergence: MACD histogram zero crossings (trend, v2 orders).

When the MACD histogram (line minus signal, computed from ``history``) crosses zero,
the strategy stops and reverses: a position against the cross is closed and one in its
direction (up: long, down: short) opened with 90 % of the cash. (Closing without
reversing would leave the short side dead after the first cross: every down cross
would find a long to close.) Needs an execution context; without one it holds.
"""

from typing import Any

from flint.indicators import macd
from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9


class MACDDivergenceStrategy(Strategy):
    """Stop and reverse on MACD histogram zero crosses (v2)."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        if not 0 < fast < slow or signal < 1:
            raise ValueError(
                f"need 0 < fast < slow and signal >= 1, got {fast}, {slow}, {signal}"
            )
        self.fast = fast
        self.slow = slow
        self.signal = signal
        self._prev_hist: float | None = None

    @property
    def name(self) -> str:
        return "macd_divergence"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None or len(history) < self.slow + self.signal - 1:
            return Signal.HOLD
        hist = macd(history, self.fast, self.slow, self.signal)[2]
        prev = self._prev_hist
        self._prev_hist = hist
        if prev is None:
            return Signal.HOLD
        if prev <= 0.0 < hist:
            side = Side.LONG
        elif prev >= 0.0 > hist:
            side = Side.SHORT
        else:
            return Signal.HOLD
        market = candle.market
        held = ctx.position(market)
        if held is not None:
            if held.side == side:
                return Signal.HOLD
            ctx.close_position(market)
        size = CASH_FRACTION * ctx.account.cash / candle.close
        if size > 0:
            ctx.market_order(market, side, size)
        return Signal.HOLD

    def reset(self) -> None:
        self._prev_hist = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "fast": {"type": "int", "low": 2, "high": 25, "default": 12, "step": 1},
            "slow": {"type": "int", "low": 26, "high": 200, "default": 26, "step": 1},
            "signal": {"type": "int", "low": 2, "high": 50, "default": 9, "step": 1},
        }
