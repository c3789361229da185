"""basis_trade: cross-venue price convergence (defi, v2 orders, two venues).

Each bar it compares the market's close on every venue that has a bar at this time
(``ctx.get_candles(market, 1, venue=...)``). When the gap between the richest and the
cheapest venue reaches ``entry_basis_bps`` (basis points of their mid price), it buys
``position_size_usd`` worth on the cheap venue and sells the same size on the rich
one, betting the prices converge. Both legs are closed when the held pair's gap (rich
minus cheap) is back at or below ``exit_basis_bps`` or after ``max_hold_hours``. If the
short leg is refused, the long one (already sent: a market order cannot be called back)
is offset at once by a reduce-only sell.

``venues`` names the venues compared (default: every venue with funding data of the
market, as perp venues have; a venue counts only with candles of its own). The run
needs candles per venue (``{"venue:market": candles}``) and those venues' configs.
Needs an execution context.
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy

HOUR = 3600


class BasisTradeStrategy(Strategy):
    """Long the cheap venue, short the rich one, until their prices converge (v2)."""

    def __init__(
        self,
        entry_basis_bps: float = 30.0,
        exit_basis_bps: float = 5.0,
        max_hold_hours: float = 12.0,
        position_size_usd: float = 1000.0,
        venues: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        if not 0 <= exit_basis_bps < entry_basis_bps:
            raise ValueError(
                f"need 0 <= exit_basis_bps < entry_basis_bps, got {exit_basis_bps} and "
                f"{entry_basis_bps}"
            )
        if not max_hold_hours > 0 or not position_size_usd > 0:
            raise ValueError(
                f"need max_hold_hours > 0 and position_size_usd > 0, got {max_hold_hours} and "
                f"{position_size_usd}"
            )
        if venues is not None and len(venues) < 2:
            raise ValueError(f"venues must name at least two venues, got {venues}")
        self.entry_basis_bps = entry_basis_bps
        self.exit_basis_bps = exit_basis_bps
        self.max_hold_hours = max_hold_hours
        self.position_size_usd = position_size_usd
        self.venues = tuple(venues) if venues is not None else None
        self._legs: tuple[str, str, int] | None = None  # (long = cheap, short = rich, opened)

    @property
    def name(self) -> str:
        return "basis_trade"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        now = ctx.timestamp
        prices = self._prices(ctx, candle)
        if self._legs is not None:
            cheap, rich, opened = self._legs
            if ctx.position(market, cheap) is None and ctx.position(market, rich) is None:
                self._legs = None  # both legs are gone (stopped out or liquidated)
            elif now - opened >= self.max_hold_hours * HOUR or (
                cheap in prices and rich in prices
                and _gap_bps(prices[rich], prices[cheap]) <= self.exit_basis_bps
            ):
                self._close(ctx, market)
            return Signal.HOLD
        if len(prices) < 2:
            return Signal.HOLD
        cheap = min(prices, key=prices.get)
        rich = max(prices, key=prices.get)
        if _gap_bps(prices[rich], prices[cheap]) < self.entry_basis_bps:
            return Signal.HOLD
        size = self.position_size_usd / prices[cheap]
        if self._order(ctx, market, Side.LONG, size, cheap):
            if self._order(ctx, market, Side.SHORT, size, rich):
                self._legs = (cheap, rich, now)
            else:  # unwind: offset the long leg, which is on its way
                ctx.market_order(market, Side.SHORT, size, reduce_only=True,
                                 tag="basis_trade", venue=cheap)
        return Signal.HOLD

    def _prices(self, ctx: Any, candle: Any) -> dict[str, float]:
        """This bar's close on each venue that has one."""
        market = candle.market
        venues = self.venues
        if venues is None:
            venues = tuple(ctx.get_funding_by_venue(market, 1))
        out: dict[str, float] = {}
        for venue in venues:
            try:
                bars = ctx.get_candles(market, 1, venue=venue)
            except ValueError:  # no candles of the market on that venue
                continue
            if len(bars):
                bar = bars[-1]
                if bar.venue == venue and bar.ts == candle.ts:
                    out[venue] = bar.close
        return out

    def _order(self, ctx: Any, market: str, side: Side, size: float, venue: str) -> str:
        """Place one leg; "" (with a warning) when it is refused."""
        try:
            order_id = ctx.market_order(market, side, size, tag="basis_trade", venue=venue)
        except ValueError as exc:
            order_id = ""
            ctx.log(f"WARNING: basis_trade cannot trade {market} on {venue}: {exc}")
        if not order_id:
            ctx.log(f"WARNING: basis_trade: the {side.value} leg on {venue} was refused; "
                    f"the pair is not opened")
        return order_id

    def _close(self, ctx: Any, market: str) -> None:
        cheap, rich, _ = self._legs
        ctx.cancel_all(market)
        ctx.close_position(market, cheap)
        ctx.close_position(market, rich)
        self._legs = None

    def reset(self) -> None:
        self._legs = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "entry_basis_bps": {"type": "float", "low": 10.0, "high": 200.0, "default": 30.0},
            "exit_basis_bps": {"type": "float", "low": 0.0, "high": 9.0, "default": 5.0},
            "max_hold_hours": {"type": "float", "low": 1.0, "high": 168.0, "default": 12.0},
            "position_size_usd": {"type": "float", "low": 100.0, "high": 100000.0,
                                  "default": 1000.0, "log": True},
        }


def _gap_bps(high: float, low: float) -> float:
    """``high - low`` in basis points of their mid price (negative when high < low)."""
    return (high - low) / ((high + low) / 2.0) * 10_000.0
