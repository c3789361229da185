"""v2: buy oversold RSI with an ATR stop, exit when RSI is overbought."""

from __future__ import annotations

from flint.indicators import atr, rsi
from flint.models import Side, Signal
from flint.strategy import Strategy


class RSIReversion(Strategy):
    def __init__(self, period: int = 14, low: float = 30.0, high: float = 70.0,
                 stop_atr: float = 2.0, size: float = 1.0) -> None:
        self.period = period
        self.low, self.high = low, high
        self.stop_atr = stop_atr
        self.size = size
        self._entries = 0

    @property
    def name(self) -> str:
        return "rsi-reversion"

    def on_candle(self, candle, history, ctx=None):
        if ctx is None or len(history) < self.period + 1:
            return Signal.HOLD
        r, volatility = rsi(history, self.period), atr(history, self.period)
        holding = ctx.position(candle.market) is not None
        if r < self.low and not holding:
            ctx.market_order(candle.market, Side.LONG, size=self.size, tag="rsi-entry")
            ctx.stop_order(candle.market, Side.SHORT, size=self.size,
                           trigger_price=candle.close - self.stop_atr * volatility)
            self._entries += 1
        elif r > self.high and holding:
            ctx.close_position(candle.market)
            ctx.cancel_all(candle.market)
        return Signal.HOLD

    def reset(self) -> None:
        self._entries = 0

    @classmethod
    def parameters(cls) -> dict[str, dict]:
        return {
            "period": {"type": "int", "low": 5, "high": 30, "default": 14},
            "low": {"type": "float", "low": 10.0, "high": 40.0, "default": 30.0},
            "high": {"type": "float", "low": 60.0, "high": 90.0, "default": 70.0},
        }
