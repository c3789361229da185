"""rsi_macd_combo: RSI extreme confirmed by a MACD turn (multi-signal, v2 orders).

A long signal is the MACD histogram crossing up through zero while the RSI is below
``rsi_oversold``; a short signal is the histogram crossing down while the RSI is above
``rsi_overbought`` (both indicators from ``history``). When flat a signal opens a
position with 90 % of the cash; the opposite signal closes it. Needs an execution
context.
"""

from typing import Any

from flint.indicators import macd, rsi
from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9


class RSIMACDComboStrategy(Strategy):
    """Enter when an RSI extreme and a MACD histogram cross agree; exit on the opposite (v2)."""

    def __init__(
        self,
        rsi_period: int = 14,
        macd_fast: int = 12,
        macd_slow: int = 26,
        macd_signal: int = 9,
        rsi_oversold: float = 30.0,
        rsi_overbought: float = 70.0,
    ) -> None:
        if rsi_period < 1 or macd_signal < 1 or not 0 < macd_fast < macd_slow:
            raise ValueError(
                f"need rsi_period >= 1, macd_signal >= 1 and 0 < macd_fast < macd_slow, got "
                f"{rsi_period}, {macd_signal}, {macd_fast}, {macd_slow}"
            )
        if not 0 < rsi_oversold < rsi_overbought < 100:
            raise ValueError(
                f"need 0 < rsi_oversold < rsi_overbought < 100, got {rsi_oversold} and "
                f"{rsi_overbought}"
            )
        self.rsi_period = rsi_period
        self.macd_fast = macd_fast
        self.macd_slow = macd_slow
        self.macd_signal = macd_signal
        self.rsi_oversold = rsi_oversold
        self.rsi_overbought = rsi_overbought
        self._prev_hist: float | None = None

    @property
    def name(self) -> str:
        return "rsi_macd_combo"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        need = max(self.rsi_period + 1, self.macd_slow + self.macd_signal - 1)
        if ctx is None or len(history) < need:
            return Signal.HOLD
        hist = macd(history, self.macd_fast, self.macd_slow, self.macd_signal)[2]
        prev = self._prev_hist
        self._prev_hist = hist
        if prev is None:
            return Signal.HOLD
        if prev <= 0.0 < hist:
            wanted = Side.LONG
            confirmed = rsi(history, self.rsi_period) < self.rsi_oversold
        elif prev >= 0.0 > hist:
            wanted = Side.SHORT
            confirmed = rsi(history, self.rsi_period) > self.rsi_overbought
        else:
            return Signal.HOLD
        if not confirmed:
            return Signal.HOLD
        market = candle.market
        held = ctx.position(market)
        size = CASH_FRACTION * ctx.account.cash / candle.close
        if held is None and size > 0:
            ctx.market_order(market, wanted, size)
        elif held is not None and held.side != wanted:
            ctx.close_position(market)
        return Signal.HOLD

    def reset(self) -> None:
        self._prev_hist = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "rsi_period": {"type": "int", "low": 2, "high": 50, "default": 14, "step": 1},
            "macd_fast": {"type": "int", "low": 2, "high": 25, "default": 12, "step": 1},
            "macd_slow": {"type": "int", "low": 26, "high": 200, "default": 26, "step": 1},
            "macd_signal": {"type": "int", "low": 2, "high": 50, "default": 9, "step": 1},
            "rsi_oversold": {"type": "float", "low": 10.0, "high": 45.0, "default": 30.0},
            "rsi_overbought": {"type": "float", "low": 55.0, "high": 90.0, "default": 70.0},
        }
