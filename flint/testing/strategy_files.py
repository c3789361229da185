"""Strategy files for command-line, optimiser and sandbox tests that must not depend on
the built-in strategies (``flint-strategies``) being installed."""

from typing import Any

CROSSING = '''\
from flint.indicators import sma
from flint.models import Signal
from flint.strategy import Strategy


class Crossing(Strategy):
    def __init__(self, {fast}={fast_default}, {slow}={slow_default}):
{check}        self.{fast} = {fast}
        self.{slow} = {slow}

    @property
    def name(self):
        return "crossing"

    def on_candle(self, candle, history, ctx=None):
{work}        if len(history) < self.{slow}:
            return Signal.HOLD
        if sma(history, self.{fast}) > sma(history, self.{slow}):
            return Signal.BUY
        return Signal.SELL

    def reset(self):
        pass

    @classmethod
    def parameters(cls):
        return {{
{space}        }}
'''


def crossing_strategy(space: dict[str, dict[str, Any]], defaults: tuple[int, int] = (4, 20),
                      *, ordered: bool = False, work: int = 0) -> str:
    """The source of ``Crossing``: long while the fast simple moving average is above the
    slow one, short otherwise. ``space`` is what ``parameters()`` returns, fast period
    first, then slow (its keys name the constructor's arguments); ``defaults`` their
    defaults. ``ordered``: the constructor refuses a fast period that is not below the
    slow one; ``work``: each bar also sums ``range(work)``, so a trial lasts long enough
    to be caught running."""
    fast, slow = space
    check = (f"        if {fast} >= {slow}:\n"
             f'            raise ValueError("{fast} must be below {slow}")\n') if ordered else ""
    return CROSSING.format(
        fast=fast, slow=slow, fast_default=defaults[0], slow_default=defaults[1], check=check,
        work=f"        sum(range({work}))\n" if work else "",
        space="".join(f"            {name!r}: {spec!r},\n" for name, spec in space.items()))


HOLDER = '''
from flint.models import Side, Signal
from flint.strategy.base import Strategy


class Holder(Strategy):
    """Buys {size} on its first bar and rests a bid 2 % below."""
    name = "holder"

    def reset(self):
        self.bars = 0

    def on_candle(self, candle, history, ctx=None):
        self.bars += 1
        if self.bars == 1:
            ctx.market_order(candle.market, Side.LONG, {size})
            ctx.limit_order(candle.market, Side.LONG, {size}, round(candle.close * 0.98, {digits}))
        return Signal.HOLD
'''


def holder_strategy(size: float, digits: int) -> str:
    """The source of ``Holder``, for live-session tests: on its first bar it buys ``size``
    at market and rests a bid of ``size`` 2 % below the close (rounded to ``digits``
    decimals, the venue's tick); then it holds."""
    return HOLDER.format(size=size, digits=digits)
