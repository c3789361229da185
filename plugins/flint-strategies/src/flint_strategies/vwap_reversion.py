"""vwap_reversion: fade deviations from the rolling VWAP (mean reversion, v2 orders).

The deviation is how far, in percent, the current close lies from the
volume-weighted average price of the previous ``period`` bars. When flat, a deviation
of ``-entry_pct`` or less opens a long and ``+entry_pct`` or more a short, each with
90 % of the cash; the position is closed once the deviation is within ``exit_pct``.
Holds while those bars traded no volume. Needs an execution context.
"""

from typing import Any

from flint.indicators import volumes, vwap
from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9


class VWAPReversionStrategy(Strategy):
    """Fade a close ``entry_pct`` % away from the VWAP; exit near it (v2)."""

    def __init__(self, period: int = 20, entry_pct: float = 2.0, exit_pct: float = 0.5) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        if not 0 <= exit_pct < entry_pct:
            raise ValueError(f"need 0 <= exit_pct < entry_pct, got {exit_pct} and {entry_pct}")
        self.period = period
        self.entry_pct = entry_pct
        self.exit_pct = exit_pct

    @property
    def name(self) -> str:
        return "vwap_reversion"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None or len(history) < self.period:
            return Signal.HOLD
        market = candle.market
        held = ctx.position(market)
        if held is None and not float(volumes(history, self.period).sum()) > 0:
            return Signal.HOLD
        average = vwap(history, self.period)
        deviation = (candle.close / average - 1.0) * 100.0
        size = CASH_FRACTION * ctx.account.cash / candle.close
        if held is not None:
            if abs(deviation) <= self.exit_pct:
                ctx.close_position(market)
        elif size <= 0:
            pass  # no cash left to trade with
        elif deviation <= -self.entry_pct:
            ctx.market_order(market, Side.LONG, size)
        elif deviation >= self.entry_pct:
            ctx.market_order(market, Side.SHORT, size)
        return Signal.HOLD

    def reset(self) -> None:
        pass  # stateless: the position lives in the context

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "period": {"type": "int", "low": 5, "high": 100, "default": 20, "step": 1},
            "entry_pct": {"type": "float", "low": 1.0, "high": 10.0, "default": 2.0},
            "exit_pct": {"type": "float", "low": 0.0, "high": 0.9, "default": 0.5},
        }
