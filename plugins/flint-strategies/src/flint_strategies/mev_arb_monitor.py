"""mev_arb_monitor: log arbitrage opportunities, never trade (monitor).

Each bar it looks for two kinds of opportunity and logs them through ``ctx.log``:

* routes: when the context offers ``get_arb_routes(market, max_hops)`` (an on-chain
  MEV context does), every route of at most ``max_hops`` hops earning at least
  ``min_profit_bps``;
* venue dislocations: the market's close on every venue with a bar at this time
  (``venues``, default every venue with funding data of the market); when the richest
  venue is at least ``min_profit_bps`` above the cheapest, buying the cheap one and
  selling the rich one is logged, once per opening of that gap.

With ``alert_enabled`` the lines start with ``WARNING`` so they also appear in the
backtest's warnings. It always returns ``HOLD``; without a context it does nothing.
"""

from typing import Any

from flint.models import Signal
from flint.strategy.base import Strategy


class MevArbMonitor(Strategy):
    """Report arbitrage routes and cross-venue price gaps; place no orders."""

    def __init__(
        self,
        min_profit_bps: float = 10.0,
        max_hops: int = 3,
        alert_enabled: bool = False,
        venues: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        if not min_profit_bps > 0:
            raise ValueError(f"min_profit_bps must be > 0, got {min_profit_bps}")
        if max_hops < 2:
            raise ValueError(f"max_hops must be >= 2, got {max_hops}")
        self.min_profit_bps = min_profit_bps
        self.max_hops = max_hops
        self.alert_enabled = bool(alert_enabled)
        self.venues = tuple(venues) if venues is not None else None
        self._has_routes = True  # until the context shows it has no route finder
        self._open_gap: tuple[str, str] | None = None  # (cheap, rich) already reported

    @property
    def name(self) -> str:
        return "mev_arb_monitor"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        prefix = "WARNING: " if self.alert_enabled else ""
        if self._has_routes:
            try:
                routes = ctx.get_arb_routes(candle.market, self.max_hops)
            except AttributeError:
                self._has_routes = False
                routes = []
            for route in routes:
                if route.profit_bps >= self.min_profit_bps:
                    ctx.log(f"{prefix}arb route {' -> '.join(route.tokens)} via "
                            f"{len(route.pools)} pools: {route.profit_bps:.1f} bps")
        prices = self._prices(ctx, candle)
        if len(prices) < 2:
            self._open_gap = None
            return Signal.HOLD
        cheap = min(prices, key=prices.get)
        rich = max(prices, key=prices.get)
        gap = (prices[rich] - prices[cheap]) / prices[cheap] * 10_000.0
        if gap < self.min_profit_bps:
            self._open_gap = None
        elif self._open_gap != (cheap, rich):
            self._open_gap = (cheap, rich)
            ctx.log(f"{prefix}arb {candle.market}: buy on {cheap} at {prices[cheap]:.6g}, "
                    f"sell on {rich} at {prices[rich]:.6g}: {gap:.1f} bps")
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

    def reset(self) -> None:
        self._has_routes = True
        self._open_gap = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "min_profit_bps": {"type": "float", "low": 1.0, "high": 200.0, "default": 10.0},
            "max_hops": {"type": "int", "low": 2, "high": 5, "default": 3, "step": 1},
            "alert_enabled": {"type": "categorical", "choices": [False, True],
                              "default": False},
        }
