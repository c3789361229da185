"""The ``ctx`` a live session hands its strategy: orders to the venues, market data
from what the session recorded.

:class:`SessionContext` forwards orders, positions and the account to the live
context (one venue's, or the router over several) and notes which orders the
strategy placed on the bar. The market data it answers (``timestamp``, candles of
each venue, funding of each venue) is the session's recorded input, with the
backtest's meaning (:class:`~flint.execution.backtest_context.BacktestContext`):
``timestamp`` is the bar's open time, ``get_candles`` ends with the bar, funding
settled by the bar's close is known. So a replay of the recording through the
backtest shows the strategy the same world (:func:`flint.backtest.parity.compare_live_session`).
"""

from collections.abc import Callable, Sequence
from typing import Any

from flint.execution.context import ExecutionContext
from flint.paper.session import Bars
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import Candle, FundingRate


class SessionContext:
    """``ctx`` over live context ``ctx`` with the session's ``bars`` and ``funding``
    (``{venue: ...}``, the primary venue first) of ``market``; ``placed(venue,
    order_id)`` is told of every order the strategy placed."""

    def __init__(self, ctx: Any, market: str, bars: dict[str, Bars],
                 funding: dict[str, list[FundingRate]],
                 placed: Callable[[str, str], None]) -> None:
        self._ctx = ctx
        self._market = market
        self._bars = bars
        self._funding = funding
        self._placed = placed
        self._primary = next(iter(bars))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    # Orders: forwarded, and noted

    def _venue(self, venue: str | None) -> str:
        return self._primary if venue in (None, "", DEFAULT_VENUE) else str(venue)

    def _note(self, venue: str | None, order_id: Any) -> Any:
        if order_id:
            self._placed(self._venue(venue), str(order_id))
        return order_id

    def market_order(self, market: str, side: Any, size: float, reduce_only: bool = False,
                     tag: str = "", venue: str = DEFAULT_VENUE, **kwargs: Any) -> str:
        return str(self._note(venue, self._ctx.market_order(
            market, side, size, reduce_only, tag, venue=venue, **kwargs)))

    def limit_order(self, market: str, side: Any, size: float, price: float,
                    reduce_only: bool = False, tag: str = "",
                    venue: str = DEFAULT_VENUE) -> str:
        return str(self._note(venue, self._ctx.limit_order(
            market, side, size, price, reduce_only, tag, venue=venue)))

    def stop_order(self, market: str, side: Any, size: float, trigger_price: float,
                   tag: str = "", venue: str = DEFAULT_VENUE, **kwargs: Any) -> str:
        return str(self._note(venue, self._ctx.stop_order(
            market, side, size, trigger_price, tag, venue=venue, **kwargs)))

    def take_profit_order(self, market: str, side: Any, size: float, trigger_price: float,
                          tag: str = "", venue: str = DEFAULT_VENUE, **kwargs: Any) -> str:
        return str(self._note(venue, self._ctx.take_profit_order(
            market, side, size, trigger_price, tag, venue=venue, **kwargs)))

    close_position = ExecutionContext.close_position

    # Market data: the session's recorded inputs

    @property
    def current_candle(self) -> Candle | None:
        candles = self._bars[self._primary].candles
        return candles[-1] if candles else None

    @property
    def timestamp(self) -> int:
        candle = self.current_candle
        return candle.ts if candle is not None else int(self._ctx.timestamp)

    def get_candles(self, market: str, lookback: int = 50, *,
                    venue: str | None = None) -> Sequence[Candle]:
        bars = self._bars.get(self._venue(venue))
        if market != self._market or bars is None:
            raise ValueError(f"no candles of market '{market}' on venue "
                             f"'{self._venue(venue)}' in this session")
        return bars.candles[-lookback:] if lookback > 0 else []

    def get_venue_snapshots(self, market: str | None = None,
                            lookback: int = 24) -> dict[str, list[FundingRate]]:
        if market not in (None, self._market) or lookback <= 0:
            return {}
        return {venue: rates[-lookback:] for venue, rates in self._funding.items() if rates}

    def get_funding_by_venue(self, market: str | None = None,
                             lookback: int = 24) -> dict[str, list[tuple[int, float]]]:
        return {venue: [(r.ts, r.hourly_rate) for r in rates]
                for venue, rates in self.get_venue_snapshots(market, lookback).items()}

    def get_funding_rates(self, market: str | None = None,
                          lookback: int = 24) -> list[tuple[int, float]]:
        return self.get_funding_by_venue(market, lookback).get(self._primary, [])

    def get_funding_rate(self, market: str | None = None) -> float | None:
        rates = self.get_funding_rates(market, 1)
        return rates[-1][1] if rates else None
