"""momentum_breakout: Donchian breakout with oracle confirmation (trend, v1 signals).

Buys when the close breaks above the highest high of the previous
``breakout_lookback`` bars and sells when it breaks below their lowest low. With
``oracle_confirmation``, a fresh oracle (index) price must confirm the break: above
that high for a buy, below that low for a sell (a move of the perp alone, its premium
over the index, is froth, not a breakout). An oracle price is fresh when it is stamped
at most one bar before this bar opened; without one the breakout is taken unconfirmed.
After a buy, a trailing stop sells once the close falls ``trailing_stop_pct`` below the
highest close since the buy (0 disables it).
"""

from typing import Any

from flint.indicators import highest_high, lowest_low
from flint.models import Signal
from flint.strategy.base import Strategy


class MomentumBreakoutStrategy(Strategy):
    """Buy above the N-bar high, sell below the N-bar low, with a trailing stop (v1)."""

    def __init__(
        self,
        breakout_lookback: int = 20,
        trailing_stop_pct: float = 0.02,
        oracle_confirmation: bool = True,
    ) -> None:
        if breakout_lookback < 1:
            raise ValueError(f"breakout_lookback must be >= 1, got {breakout_lookback}")
        if not 0 <= trailing_stop_pct < 1:
            raise ValueError(f"trailing_stop_pct must be within [0, 1), got {trailing_stop_pct}")
        self.breakout_lookback = breakout_lookback
        self.trailing_stop_pct = trailing_stop_pct
        self.oracle_confirmation = bool(oracle_confirmation)
        self._peak: float | None = None  # highest close since our last buy

    @property
    def name(self) -> str:
        return "momentum_breakout"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        close = candle.close
        if self._peak is not None:
            self._peak = max(self._peak, close)
            if self.trailing_stop_pct and close < self._peak * (1.0 - self.trailing_stop_pct):
                self._peak = None
                return Signal.SELL
        if len(history) < self.breakout_lookback:
            return Signal.HOLD
        top = highest_high(history, self.breakout_lookback)
        if close > top:
            oracle = self._oracle(candle, ctx)
            if oracle is not None and not oracle > top:
                return Signal.HOLD
            if self._peak is None:
                self._peak = close
            return Signal.BUY
        bottom = lowest_low(history, self.breakout_lookback)
        if close < bottom:
            oracle = self._oracle(candle, ctx)
            if oracle is not None and not oracle < bottom:
                return Signal.HOLD
            self._peak = None
            return Signal.SELL
        return Signal.HOLD

    def _oracle(self, candle: Any, ctx: Any) -> float | None:
        """The oracle price to confirm with, if confirming and one is fresh."""
        if not self.oracle_confirmation or ctx is None:
            return None
        quote = ctx.get_oracle_price(candle.market)
        if quote is None or quote[1] < candle.ts - candle.resolution_s:
            return None
        return float(quote[0])

    def reset(self) -> None:
        self._peak = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "breakout_lookback": {"type": "int", "low": 5, "high": 200, "default": 20,
                                  "step": 1},
            "trailing_stop_pct": {"type": "float", "low": 0.0, "high": 0.2, "default": 0.02},
            "oracle_confirmation": {"type": "categorical", "choices": [True, False],
                                    "default": True},
        }
