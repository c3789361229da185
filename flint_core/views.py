"""What an execution context reads of a running backtest, kept until it changes.

:class:`RunViews` answers the backtest context's questions (account, positions,
pending orders, candles, funding and the other event streams) from a
:class:`~flint_core.loop.BacktestCore`. Each answer is built once and handed out
again until what it shows changes: the ledger's ``version`` (cash, positions, the
marks of open positions), the order queue's ``version``, a feed's or an event
stream's position. A strategy asking on every bar so pays O(1) a call and no list is
built while nothing changed. Answers are immutable, so sharing them is safe: frozen
records (:class:`~flint_core.records.PositionInfo`,
:class:`~flint_core.records.AccountState`) and
:class:`~flint_core.readonly.ReadOnlyList` / :class:`~flint_core.readonly.ReadOnlyDict`.
Pending orders are :class:`~flint_core.records.Order` copies, which stay mutable: a
strategy that changes one changes only what later calls show it.
"""

from typing import Any, Final

from flint_core.enums import Side
from flint_core.feeds import EventStream, FundingStream
from flint_core.ledger import PositionSlot, Transfer
from flint_core.loop import BacktestCore
from flint_core.margin import exposure
from flint_core.markets import DEFAULT_VENUE
from flint_core.readonly import EMPTY_DICT, EMPTY_LIST, ReadOnlyDict, ReadOnlyList
from flint_core.records import AccountState, Order, PositionInfo
from flint_core.series import CandleSeries

# Members bound once: on Python 3.11 ``Side.LONG`` costs a slow EnumType.__getattr__ hook.
_LONG: Final = Side.LONG
_SHORT: Final = Side.SHORT

#: A stream of event records or of funding settlements.
AnyStream = EventStream | FundingStream


class Streams:
    """The event streams of one kind, found by market.

    :meth:`pick` prefers a stream of a venue the market has candles from, then the
    venue named first alphabetically; :meth:`revealed` keeps the streams' own order
    (by venue).
    """

    def __init__(self, streams: list[EventStream] | list[FundingStream],
                 core: BacktestCore) -> None:
        self.by_market: Final[dict[str, list[AnyStream]]] = {}
        self.preferred: Final[dict[str, list[AnyStream]]] = {}
        for stream in streams:
            self.by_market.setdefault(stream.market, []).append(stream)
        for market, group in self.by_market.items():
            venues = {core.feeds[i].venue for i in core.feeds_by_market.get(market, [])}
            self.preferred[market] = sorted(group, key=lambda s: (s.venue not in venues, s.venue))

    def pick(self, market: str, venue: str | None) -> AnyStream | None:
        """The stream to read for ``market`` (on ``venue``), None until one has revealed
        a record."""
        group = self.preferred.get(market)
        if group is not None:
            for stream in group:
                if stream.pos > 0 and (venue is None or stream.venue == venue):
                    return stream
        return None

    def revealed(self, market: str) -> list[AnyStream]:
        """The streams of ``market`` that have revealed a record (builds a list)."""
        return [s for s in self.by_market.get(market, []) if s.pos > 0]


class HourlyRates:
    """The ``(ts, hourly rate)`` pairs a funding stream has revealed, and the last window
    of them asked for (one pair is made per settlement, when it is first revealed)."""

    def __init__(self, stream: FundingStream) -> None:
        self.stream: Final = stream
        self.pairs: Final[list[tuple[int, float]]] = []
        self.pos = -1
        self.lookback = 0
        self.window: ReadOnlyList[tuple[int, float]] = EMPTY_LIST

    def last(self, lookback: int) -> ReadOnlyList[tuple[int, float]]:
        """Up to ``lookback`` newest pairs, oldest first."""
        stream = self.stream
        pos = stream.pos
        if pos == self.pos and lookback == self.lookback:
            return self.window
        pairs = self.pairs
        while len(pairs) < pos:
            k = len(pairs)
            pairs.append((stream.ts[k], stream.hourly_rate(k)))
        self.window = ReadOnlyList(pairs[max(0, pos - lookback) : pos]) if lookback > 0 else (
            EMPTY_LIST
        )
        self.pos = pos
        self.lookback = lookback
        return self.window


class _ByVenue:
    """One market's funding by venue, as of the streams' positions adding up to ``stamp``."""

    def __init__(
        self, stamp: int, lookback: int, answer: ReadOnlyDict[str, ReadOnlyList[Any]]
    ) -> None:
        self.stamp: Final = stamp
        self.lookback: Final = lookback
        self.answer: Final = answer


class RunViews:
    """The read side of a :class:`~flint_core.loop.BacktestCore`, for its execution context."""

    def __init__(self, core: BacktestCore) -> None:
        self._core: Final = core
        self._ledger: Final = core.ledger
        self._queue: Final = core.queue
        self.primary_market: Final = core.feeds[0].market
        self.markets: Final[ReadOnlyList[str]] = ReadOnlyList(sorted(core.feeds_by_market))
        self.funding: Final = Streams(core.funding, core)
        self.books: Final = Streams(core.books, core)
        self.open_interest: Final = Streams(core.open_interest, core)
        self.oracles: Final = Streams(core.oracles, core)
        self.borrow: Final = Streams(core.borrow, core)
        # the feed a market names without a venue: the primary one, else its first
        self._market_feed: Final[dict[str, int]] = {
            market: 0 if 0 in found else found[0]
            for market, found in core.feeds_by_market.items()
        }
        self._account = self._account_now()
        self._account_version = self._ledger.version
        self._positions: ReadOnlyList[PositionInfo] = EMPTY_LIST
        self._positions_version = -1
        self._orders: ReadOnlyList[Order] = EMPTY_LIST
        self._orders_version = -1
        self._balances: ReadOnlyDict[str, float] = EMPTY_DICT
        self._balances_version = -1
        n = len(core.feeds)
        self._windows: Final[list[CandleSeries | None]] = [None] * n
        self._window_pos: Final = [-2] * n
        self._window_lookback: Final = [0] * n
        self._rates: Final[dict[FundingStream, HourlyRates]] = {}
        self._by_venue: Final[dict[str, _ByVenue]] = {}

    # Money and positions

    def account(self) -> AccountState:
        """Equity, cash, unrealised PnL, margin used, free margin and leverage."""
        version = self._ledger.version
        if version != self._account_version:
            self._account = self._account_now()
            self._account_version = version
        return self._account

    def _account_now(self) -> AccountState:
        ledger = self._ledger
        unrealized = ledger.unrealized()
        equity = ledger.cash + unrealized
        notional, used = exposure(ledger)
        return AccountState(
            equity, ledger.cash, unrealized, used, equity - used,
            notional / equity if equity > 0 else 0.0,
        )

    def positions(self) -> ReadOnlyList[PositionInfo]:
        """Open positions on every venue."""
        ledger = self._ledger
        if ledger.version != self._positions_version:
            held = ledger.open
            self._positions = ReadOnlyList([self._info(s) for s in held]) if held else (
                EMPTY_LIST
            )
            self._positions_version = ledger.version
        return self._positions

    def position(self, market: str, venue: str = DEFAULT_VENUE) -> PositionInfo | None:
        """The open position of ``market`` on ``venue``, or None."""
        on_venue = self._core.slots.get(venue)
        if on_venue is None:
            return None
        slot = on_venue.get(market)
        if slot is None or slot.size == 0.0:
            return None
        return self._info(slot)

    def _info(self, slot: PositionSlot) -> PositionInfo:
        version = self._ledger.version
        info = slot.info
        if info is None or slot.info_version != version:
            size = slot.size
            info = PositionInfo(
                slot.market, _LONG if size > 0.0 else _SHORT, abs(size), slot.entry_price,
                unrealized_pnl=slot.unrealized(), entry_ts=slot.entry_ts, venue=slot.venue,
            )
            slot.info = info
            slot.info_version = version
        return info

    def cash(self, venue: str) -> float:
        """Cash of ``venue``'s account (without per-venue accounts: all cash)."""
        core = self._core
        if not core.accounts:
            return self._ledger.cash
        return core.accounts.get(venue, core.default_account).cash

    def balances(self) -> ReadOnlyDict[str, float]:
        """``{account: cash}``; one ``default`` account without per-venue accounts."""
        ledger = self._ledger
        if ledger.version != self._balances_version:
            if self._core.accounts:
                self._balances = ReadOnlyDict({a.name: a.cash for a in ledger.accounts})
            else:
                self._balances = ReadOnlyDict({DEFAULT_VENUE: ledger.cash})
            self._balances_version = ledger.version
        return self._balances

    def pending_transfers(self) -> list[Transfer]:
        """Transfers sent and not arrived yet (builds a list)."""
        return list(self._ledger.pending)

    # Orders

    def pending_orders(self) -> ReadOnlyList[Order]:
        """Copies of the orders not filled or cancelled yet, in placement order."""
        queue = self._queue
        if queue.version != self._orders_version:
            tickets = queue.open_tickets()
            self._orders = ReadOnlyList([_copy(t.order) for t in tickets]) if tickets else (
                EMPTY_LIST
            )
            self._orders_version = queue.version
        return self._orders

    # Candles

    def feed_of(self, market: str | None, venue: str | None) -> int:
        """The feed of ``market`` (default: the primary one) on ``venue``; without a venue
        the primary feed, else the market's first (ValueError when there is none)."""
        core = self._core
        name = market if market is not None else self.primary_market
        if venue is not None:
            return core.feed_index(venue, name)
        idx = self._market_feed.get(name, -1)
        if idx < 0:  # let the core raise, naming the markets with data
            idx = core.feed_index(DEFAULT_VENUE, name)
        return idx

    def candles(self, market: str | None, lookback: int, venue: str | None) -> CandleSeries:
        """Up to ``lookback`` closed bars of the market, newest last."""
        idx = self.feed_of(market, venue)
        feed = self._core.feeds[idx]
        window = self._windows[idx]
        if (
            window is None
            or self._window_pos[idx] != feed.pos
            or self._window_lookback[idx] != lookback
        ):
            window = feed.closed_window(lookback)
            self._windows[idx] = window
            self._window_pos[idx] = feed.pos
            self._window_lookback[idx] = lookback
        return window

    # Funding

    def funding_rate(self, market: str | None, venue: str | None) -> float | None:
        """Latest hourly funding rate (``venue`` default: the market's candle venue)."""
        stream = self.funding.pick(market if market is not None else self.primary_market, venue)
        if not isinstance(stream, FundingStream):
            return None
        return stream.hourly_rate(stream.pos - 1)

    def funding_rates(
        self, market: str | None, lookback: int, venue: str | None
    ) -> ReadOnlyList[tuple[int, float]]:
        """Up to ``lookback`` latest ``(ts, hourly rate)``, oldest first."""
        stream = self.funding.pick(market if market is not None else self.primary_market, venue)
        if not isinstance(stream, FundingStream):
            return EMPTY_LIST
        return self._hourly(stream).last(lookback)

    def funding_by_venue(
        self, market: str | None, lookback: int
    ) -> ReadOnlyDict[str, ReadOnlyList[tuple[int, float]]]:
        """``{venue: [(ts, hourly rate), ...]}`` for every venue with funding of the market."""
        name = market if market is not None else self.primary_market
        streams = self.funding.by_market.get(name)
        if streams is None:
            return EMPTY_DICT
        stamp = 0
        for stream in streams:
            stamp += stream.pos
        cached = self._by_venue.get(name)
        if cached is not None and cached.stamp == stamp and cached.lookback == lookback:
            return cached.answer
        answer: ReadOnlyDict[str, ReadOnlyList[Any]] = ReadOnlyDict(
            {s.venue: self._hourly(s).last(lookback) for s in streams
             if isinstance(s, FundingStream) and s.pos > 0}
        )
        self._by_venue[name] = _ByVenue(stamp, lookback, answer)
        return answer

    def _hourly(self, stream: FundingStream) -> HourlyRates:
        rates = self._rates.get(stream)
        if rates is None:
            rates = HourlyRates(stream)
            self._rates[stream] = rates
        return rates


def context_account(ctx: Any) -> AccountState:
    """``ctx.account`` of a context that keeps its :class:`RunViews` as ``ctx._views``.

    The context's property calls this directly, so reading ``ctx.account`` on every
    bar runs no interpreted frame in the compiled build.
    """
    views: RunViews = ctx._views
    return views.account()


def _copy(order: Order) -> Order:
    return Order(
        order.market, order.side, order.order_type, order.size, price=order.price,
        order_id=order.order_id, status=order.status, ts=order.ts,
        filled_size=order.filled_size, filled_price=order.filled_price, venue=order.venue,
        time_in_force=order.time_in_force, reduce_only=order.reduce_only, tag=order.tag,
    )
