"""grid_trader: a ladder of resting buys with take-profit sells above (defi, v2 orders).

Around a reference price (the close when the grid is laid) it rests ``grid_levels``
buy limits ``grid_spacing_pct`` %, 2 x that, ... below, each for
``position_size_pct`` of the cash at the reference price. While long it also rests
reduce-only sell limits, the position split evenly, the same steps above. The grid is
laid again (old orders cancelled) when the price has moved more than two spacings
from the reference or the position has changed since (a level filled), so a filled
buy is soon offered back one spacing higher. Needs an execution context.
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy


class GridTraderStrategy(Strategy):
    """Buy dips on a price grid, sell each rebound one step up (v2)."""

    def __init__(
        self, grid_spacing_pct: float = 2.0, grid_levels: int = 3, position_size_pct: float = 0.1
    ) -> None:
        if not 0 < grid_spacing_pct < 100 / max(grid_levels, 1):
            raise ValueError(
                f"grid_spacing_pct must be > 0 and keep every level above 0, got "
                f"{grid_spacing_pct} with {grid_levels} levels"
            )
        if grid_levels < 1:
            raise ValueError(f"grid_levels must be >= 1, got {grid_levels}")
        if not 0 < position_size_pct <= 1:
            raise ValueError(f"position_size_pct must be within (0, 1], got {position_size_pct}")
        self.grid_spacing_pct = grid_spacing_pct
        self.grid_levels = grid_levels
        self.position_size_pct = position_size_pct
        self._reference: float | None = None  # price the grid was laid around
        self._held = 0.0  # signed position size when it was laid

    @property
    def name(self) -> str:
        return "grid_trader"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        price = candle.close
        position = ctx.position(market)
        held = 0.0 if position is None else (
            position.size if position.side == Side.LONG else -position.size
        )
        step = self.grid_spacing_pct / 100.0
        reference = self._reference
        if (reference is not None and held == self._held
                and abs(price / reference - 1.0) <= 2.0 * step):
            return Signal.HOLD
        ctx.cancel_all(market)
        size = self.position_size_pct * ctx.account.cash / price
        if size > 0:  # no buys without cash
            for i in range(1, self.grid_levels + 1):
                ctx.limit_order(market, Side.LONG, size, price * (1.0 - step * i))
        if held > 0:
            for i in range(1, self.grid_levels + 1):
                ctx.limit_order(market, Side.SHORT, held / self.grid_levels,
                                price * (1.0 + step * i), reduce_only=True)
        self._reference = price
        self._held = held
        return Signal.HOLD

    def reset(self) -> None:
        self._reference = None
        self._held = 0.0

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "grid_spacing_pct": {"type": "float", "low": 0.2, "high": 10.0, "default": 2.0},
            "grid_levels": {"type": "int", "low": 1, "high": 9, "default": 3, "step": 1},
            "position_size_pct": {"type": "float", "low": 0.01, "high": 0.3, "default": 0.1},
        }
