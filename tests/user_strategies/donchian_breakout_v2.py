"""v2: Donchian channel breakout with ATR stops and a take-profit."""

import abc
from typing import Dict, Optional

from flint.indicators import atr, highest_high, lowest_low
from flint.models import Side, Signal
from flint.strategy import Strategy


class ChannelStrategy(Strategy, abc.ABC):
    """A reusable base: subclasses say what to do on a breakout."""

    def __init__(self, channel: int = 20) -> None:
        self.channel = channel
        self._breakouts: Dict[str, int] = {}

    @abc.abstractmethod
    def on_breakout(self, candle, direction, history, ctx) -> None:
        """React to a close outside the channel."""

    def on_candle(self, candle, history, ctx=None):
        if ctx is None or len(history) < self.channel + 1:
            return Signal.HOLD
        top, bottom = highest_high(history, self.channel), lowest_low(history, self.channel)
        direction: Optional[Side] = None
        if candle.close > top:
            direction = Side.LONG
        elif candle.close < bottom:
            direction = Side.SHORT
        if direction is not None:
            self._breakouts[direction.value] = self._breakouts.get(direction.value, 0) + 1
            self.on_breakout(candle, direction, history, ctx)
        return Signal.HOLD

    def reset(self) -> None:
        self._breakouts = {}


class DonchianBreakout(ChannelStrategy):
    def __init__(self, channel: int = 20, stop_atr: float = 2.0, target_atr: float = 4.0):
        super().__init__(channel)
        self.stop_atr, self.target_atr = stop_atr, target_atr

    @property
    def name(self) -> str:
        return "donchian-{}".format(self.channel)

    def on_breakout(self, candle, direction, history, ctx) -> None:
        if ctx.position(candle.market) is not None:
            return
        risk = atr(history, 14)
        exit_side = Side.SHORT if direction is Side.LONG else Side.LONG
        sign = 1 if direction is Side.LONG else -1
        ctx.market_order(candle.market, direction, size=1.0)
        ctx.stop_order(candle.market, exit_side, size=1.0,
                       trigger_price=candle.close - sign * self.stop_atr * risk)
        ctx.take_profit_order(candle.market, exit_side, size=1.0,
                              trigger_price=candle.close + sign * self.target_atr * risk)
