"""funding_arb: cross-venue funding spread, delta neutral (defi, v2 orders, two venues).

Each bar it takes every venue's latest funding rate of the market
(``ctx.get_venue_snapshots``), per hour, skipping venues whose latest settlement is
more than two of their funding intervals old. The spread between the highest and
the lowest rate is quoted in basis points per 8 hours (the usual funding quote: a
rate per hour x 8 x 10,000). Once the widest spread has stayed at or above
``min_spread_bps`` for ``min_spread_duration`` hours, it buys ``position_size_usd``
worth of the market on the low-rate venue and sells the same size on the high-rate
venue: the price risk cancels and the short leg is paid more funding than the long
leg pays. Both legs are closed when the held pair's spread drops below
``exit_spread_bps`` or after ``max_hold_hours``. If the short leg is refused, the long
one (already sent: a market order cannot be called back) is offset at once by a
reduce-only sell.

``venues`` limits the venues considered (default: every venue with funding data of the
market). Orders name their venue, so the run needs those venues' configs and,
ideally, their candles (``{"venue:market": candles}``); a venue whose orders no candles
can price is skipped, with a warning. Needs an execution context.
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy

HOUR = 3600
BPS_PER_8H = 8 * 10_000  # hourly rate -> basis points per 8 hours


class FundingArbStrategy(Strategy):
    """Long the venue paying the least funding, short the one paying the most (v2)."""

    def __init__(
        self,
        min_spread_bps: float = 5.0,
        exit_spread_bps: float = 1.0,
        max_hold_hours: float = 24.0,
        position_size_usd: float = 1000.0,
        min_spread_duration: float = 1.0,
        venues: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        if not 0 <= exit_spread_bps <= min_spread_bps:
            raise ValueError(
                f"need 0 <= exit_spread_bps <= min_spread_bps, got {exit_spread_bps} and "
                f"{min_spread_bps}"
            )
        if not max_hold_hours > 0 or not position_size_usd > 0 or not min_spread_duration >= 0:
            raise ValueError(
                f"need max_hold_hours > 0, position_size_usd > 0 and min_spread_duration >= 0, "
                f"got {max_hold_hours}, {position_size_usd}, {min_spread_duration}"
            )
        if venues is not None and len(venues) < 2:
            raise ValueError(f"venues must name at least two venues, got {venues}")
        self.min_spread_bps = min_spread_bps
        self.exit_spread_bps = exit_spread_bps
        self.max_hold_hours = max_hold_hours
        self.position_size_usd = position_size_usd
        self.min_spread_duration = min_spread_duration
        self.venues = tuple(venues) if venues is not None else None
        self._legs: tuple[str, str, int] | None = None  # (long venue, short venue, opened at)
        self._wide: tuple[str, str, int] | None = None  # (low, high, since) of a wide spread
        self._unpriced: set[str] = set()  # venues skipped for want of candles (warned once)

    @property
    def name(self) -> str:
        return "funding_arb"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        now = ctx.timestamp
        rates = self._latest_rates(ctx, market, now)
        if self._legs is not None:
            long_venue, short_venue, opened = self._legs
            if ctx.position(market, long_venue) is None and (
                ctx.position(market, short_venue) is None
            ):
                self._legs = None  # both legs are gone (stopped out or liquidated)
            elif now - opened >= self.max_hold_hours * HOUR or (
                long_venue in rates and short_venue in rates
                and (rates[short_venue] - rates[long_venue]) * BPS_PER_8H < self.exit_spread_bps
            ):
                self._close(ctx, market)
            return Signal.HOLD
        if len(rates) < 2:
            self._wide = None
            return Signal.HOLD
        low = min(rates, key=rates.get)
        high = max(rates, key=rates.get)
        if (rates[high] - rates[low]) * BPS_PER_8H < self.min_spread_bps:
            self._wide = None
            return Signal.HOLD
        if self._wide is None or self._wide[:2] != (low, high):
            self._wide = (low, high, now)
        if now - self._wide[2] < self.min_spread_duration * HOUR:
            return Signal.HOLD
        size = self.position_size_usd / candle.close
        self._wide = None
        if self._order(ctx, market, Side.LONG, size, low):
            if self._order(ctx, market, Side.SHORT, size, high):
                self._legs = (low, high, now)
            else:  # unwind: offset the long leg, which is on its way
                ctx.market_order(market, Side.SHORT, size, reduce_only=True,
                                 tag="funding_arb", venue=low)
        return Signal.HOLD

    def _order(self, ctx: Any, market: str, side: Side, size: float, venue: str) -> str:
        """Place one leg; "" (with a warning) when it is refused."""
        try:
            order_id = ctx.market_order(market, side, size, tag="funding_arb", venue=venue)
        except ValueError as exc:  # e.g. no candles price the market on that venue
            order_id = ""
            ctx.log(f"WARNING: funding_arb cannot trade {market} on {venue}: {exc}")
        if not order_id:
            ctx.log(f"WARNING: funding_arb: the {side.value} leg on {venue} was refused; "
                    f"the pair is not opened")
        return order_id

    def _latest_rates(self, ctx: Any, market: str, now: int) -> dict[str, float]:
        """Latest rate per hour of each usable venue, skipping stale ones."""
        out: dict[str, float] = {}
        for venue, records in ctx.get_venue_snapshots(market, 1).items():
            if not records or (self.venues is not None and venue not in self.venues):
                continue
            latest = records[-1]
            if now - latest.ts <= 2 * latest.interval_s and self._priced(ctx, market, venue):
                out[venue] = latest.hourly_rate
        return out

    def _priced(self, ctx: Any, market: str, venue: str) -> bool:
        """Whether candles price an order on ``venue`` now (else it would be refused)."""
        try:
            return len(ctx.get_candles(market, 1, venue=venue)) > 0
        except ValueError as exc:  # no candles of the market for that venue
            if venue not in self._unpriced:
                self._unpriced.add(venue)
                ctx.log(f"WARNING: funding_arb cannot trade {market} on {venue}: {exc}; "
                        f"skipping {venue}")
            return False

    def _close(self, ctx: Any, market: str) -> None:
        long_venue, short_venue, _ = self._legs
        ctx.cancel_all(market)
        ctx.close_position(market, long_venue)
        ctx.close_position(market, short_venue)
        self._legs = None

    def reset(self) -> None:
        self._legs = None
        self._wide = None
        self._unpriced = set()

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "min_spread_bps": {"type": "float", "low": 1.0, "high": 50.0, "default": 5.0},
            "exit_spread_bps": {"type": "float", "low": 0.0, "high": 1.0, "default": 1.0},
            "max_hold_hours": {"type": "float", "low": 1.0, "high": 168.0, "default": 24.0},
            "position_size_usd": {"type": "float", "low": 100.0, "high": 100000.0,
                                  "default": 1000.0, "log": True},
            "min_spread_duration": {"type": "float", "low": 0.0, "high": 24.0, "default": 1.0},
        }
