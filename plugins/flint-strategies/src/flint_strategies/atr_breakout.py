"""atr_breakout: volatility channel breakout with a protective stop (trend, v2 orders).

The channel is the SMA of the last ``period`` closes plus and minus ``multiplier``
average true ranges (``atr_period``), both from ``history``. When flat, a close above
the channel opens a long and a close below opens a short, each with 90 % of the cash
and a stop ``multiplier`` ATRs away. Once the close is back inside the channel the
stop is cancelled and the position closed. Needs an execution context.
"""

from typing import Any

from flint.indicators import atr, sma
from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9


class ATRBreakoutStrategy(Strategy):
    """Trade closes outside an SMA +/- k*ATR channel, with a k*ATR stop (v2)."""

    def __init__(self, period: int = 20, atr_period: int = 14, multiplier: float = 2.0) -> None:
        if period < 1 or atr_period < 1:
            raise ValueError(f"period and atr_period must be >= 1, got {period}, {atr_period}")
        if not multiplier > 0:
            raise ValueError(f"multiplier must be > 0, got {multiplier}")
        self.period = period
        self.atr_period = atr_period
        self.multiplier = multiplier

    @property
    def name(self) -> str:
        return "atr_breakout"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None or len(history) < max(self.period, self.atr_period + 1):
            return Signal.HOLD
        middle = sma(history, self.period)
        band = self.multiplier * atr(history, self.atr_period)
        close = candle.close
        market = candle.market
        if ctx.position(market) is not None:
            if middle - band <= close <= middle + band:
                ctx.cancel_all(market)  # the stop (resting; the close executes regardless)
                ctx.close_position(market)
            return Signal.HOLD
        size = CASH_FRACTION * ctx.account.cash / close
        if size <= 0:
            return Signal.HOLD  # no cash left to trade with
        if close > middle + band:
            ctx.market_order(market, Side.LONG, size)
            ctx.stop_order(market, Side.SHORT, size, close - band)
        elif close < middle - band:
            ctx.market_order(market, Side.SHORT, size)
            ctx.stop_order(market, Side.LONG, size, close + band)
        return Signal.HOLD

    def reset(self) -> None:
        pass  # stateless: the position lives in the context

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "period": {"type": "int", "low": 10, "high": 100, "default": 20, "step": 1},
            "atr_period": {"type": "int", "low": 5, "high": 50, "default": 14, "step": 1},
            "multiplier": {"type": "float", "low": 0.5, "high": 5.0, "default": 2.0},
        }
