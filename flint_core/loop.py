"""The bar loop of a backtest and the order API its execution context calls.

One bar of the primary feed, in order (ARCHITECTURE section 4):

1. extra feeds catch up: each of their bars that has closed by this bar's close is
   processed like the steps 2-4 below, in time order;
2. market orders waiting for the next open fill at this bar's open
   (:class:`~flint_core.fills.NextBarOpenFill`);
3. positions are marked to the close; with margin on, a position whose
   liquidation price lies within the bar's range is liquidated;
4. resting orders meet the bar's range: stops first, then limits and take-profits;
5. funding settled by the bar's close is paid, other events (order books, open
   interest, oracle prices, borrow rates) are revealed, borrow fees charged;
6. transfers that have arrived are credited;
7. the strategy runs on the bar and the earlier bars (``history``);
8. market orders whose latency has elapsed fill at the bar's close;
9. the equity point is recorded.

Time: an event stamped ``ts`` is revealed on the bar whose close time
(``open + resolution``) is the first at or after ``ts``. Market orders are stamped
with their bar's open time; latency counts from there (see
:class:`~flint_core.fills.FillPipeline`). Fills carry the open time of the bar they
executed on.
"""

import math
import time
from typing import Any, Final, cast

from flint_core.enums import OrderStatus, OrderType, Signal, TimeInForce
from flint_core.errors import BacktestTimeoutError
from flint_core.feeds import EventStream, Feed, FundingStream
from flint_core.fills import FillKernel, FillQuote
from flint_core.inputs import RunInputs
from flint_core.ledger import Account, Ledger, PositionSlot, side_of
from flint_core.margin import check_increase, exposure, liquidation_price
from flint_core.markets import DEFAULT_VENUE
from flint_core.matching import (
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SIZE_ALL_IN,
    SIZE_CLOSE,
    SIZE_FIXED,
    STOP,
    OrderQueue,
    Ticket,
    crossed_on_arrival,
    limit_price_on,
    trigger_price_on,
)
from flint_core.records import (
    BorrowSnapshot,
    Candle,
    Fill,
    Order,
    OrderbookSnapshot,
)
from flint_core.terms import VenueTerms

_HOLD: Final = Signal.HOLD
_BUY: Final = Signal.BUY
_SELL: Final = Signal.SELL
_ORDER_TYPES: Final = (
    OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT,
)
_TIFS: Final = (TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTC)
# Enum members as module constants: on Python 3.11 reading ``OrderStatus.FILLED`` goes
# through EnumType.__getattr__'s slow hook (about 40 ns) on every use.
_PENDING: Final = OrderStatus.PENDING
_FILLED: Final = OrderStatus.FILLED
_PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
_CANCELLED: Final = OrderStatus.CANCELLED
_LIMIT_TYPE: Final = OrderType.LIMIT
_GTC_TIF: Final = TimeInForce.GTC

#: How often (in bars) the loop looks at the clock for ``max_runtime_s``.
CLOCK_EVERY: Final = 1024
#: Messages kept per warning code; the rest are counted.
WARNINGS_PER_CODE: Final = 10


class BacktestCore:
    """State of one run, built from its :class:`~flint_core.inputs.RunInputs`: feeds,
    ledger and accounts, open orders, event streams, warnings.

    ``feeds[0]`` drives the loop (the primary market). Venue terms are looked up on
    first use (:meth:`venue_terms`). An order on the ``default`` venue (v1 signals,
    orders naming no venue) trades on the venue of its market's candles
    (:meth:`trading_venue`): that venue's terms, funding and order books; only candles
    without a venue trade on ``default`` itself. ``accounts`` maps venues that have
    their own account; every other venue uses ``default_account``.
    """

    def __init__(self, inputs: RunInputs) -> None:
        if not inputs.markets:
            raise ValueError("a backtest needs at least one candle feed")
        feeds = [Feed(m.series, m.candles, inputs.history_size, m.lead_in) for m in inputs.markets]
        fill_model = inputs.fill_model
        self.feeds: Final = feeds
        self.fill_model: Final = fill_model
        # a built-in (compiled) model is called natively; any other through Python
        self._kernel: Final = fill_model if isinstance(fill_model, FillKernel) else None
        self.terms_for: Final = inputs.terms_for
        accounts, by_venue, default = _accounts(inputs)
        self.ledger: Final = Ledger(accounts)
        self.accounts: Final = by_venue
        self.default_account: Final = default
        self.funding: Final = [FundingStream(e) for e in inputs.funding]
        self.books: Final = [EventStream(e) for e in inputs.books]
        self.open_interest: Final = [EventStream(e) for e in inputs.open_interest]
        self.oracles: Final = [EventStream(e) for e in inputs.oracles]
        self.borrow: Final = [EventStream(e) for e in inputs.borrow]
        self.margin: Final = inputs.margin
        self.allow_short: Final = inputs.allow_short
        self.max_runtime_s: Final = inputs.max_runtime_s
        self.transfer_routes: Final = {
            (source, target): (seconds, cost)
            for source, target, seconds, cost in inputs.transfer_routes
        }
        self.transfer_default: Final = inputs.transfer_default
        self.queue: Final = OrderQueue(len(feeds), inputs.max_resting)
        self.feeds_by_venue: Final[dict[str, dict[str, int]]] = {}
        self.feeds_by_market: Final[dict[str, list[int]]] = {}
        for i, f in enumerate(feeds):
            self.feeds_by_venue.setdefault(f.venue, {})[f.market] = i
            self.feeds_by_market.setdefault(f.market, []).append(i)
        self._has_events: Final = bool(
            self.funding or self.books or self.open_interest or self.oracles or self.borrow
        )
        self._next_open_fills: Final = bool(getattr(fill_model, "next_bar_open", False))
        self.terms: dict[str, VenueTerms] = {}
        self.unknown_venues: list[str] = []  # why candle venues traded at default terms
        # gate(kind, market, side, size, price, reduce_only, venue, sizing): "" admits an
        # order, else the reason it is refused (a risk engine; None: every order passes)
        self.gate: Any = None
        self.slots: dict[str, dict[str, PositionSlot]] = {}  # venue -> market -> slot
        self.equity_curve: list[float] = []
        self.warnings: list[str] = []
        self.warning_counts: dict[str, int] = {}
        self.bar_index = -1
        self.now = 0
        self.close_ts = 0
        self.candle: Candle | None = None
        self.liquidations = 0
        self.rejections = 0
        self.max_leverage = 0.0
        self.min_margin_ratio = math.inf
        self.peak_margin_used = 0.0
        self._next_id = 0
        self._signal_orders = 0
        self._signal_slot: PositionSlot | None = None

    # The loop

    def run(self, strategy: Any, ctx: Any, pass_ctx: bool) -> None:
        """Walk every bar of the primary feed, calling ``strategy.on_candle`` once per bar."""
        feed = self.feeds[0]
        n = feed.n
        res = feed.resolution_s
        history = feed.history
        queue = self.queue
        ledger = self.ledger
        extras = len(self.feeds) > 1
        has_events = self._has_events
        margin = self.margin
        on_candle = strategy.on_candle
        curve: list[object] = [0.0] * n
        self.equity_curve = cast(list[float], curve)
        last_value = math.nan
        last_box: object = 0.0
        limit = self.max_runtime_s
        started = time.perf_counter()
        for i in range(n):
            bar = feed.advance(i)
            ts = bar.ts
            close_ts = ts + res
            self.bar_index = i
            self.now = ts
            self.close_ts = close_ts
            self.candle = bar
            if extras:
                self._catch_up(close_ts)
            if feed.slots or queue.n_resting or queue.n_next_open:
                self._on_bar(0, feed, bar)
            if has_events:
                self._events(close_ts)
            if ledger.pending:
                ledger.receive(close_ts)
            signal = on_candle(bar, history, ctx) if pass_ctx else on_candle(bar, history)
            if signal is not _HOLD and signal is not None:
                self._on_signal(signal)
            if queue.in_flight:
                self._fill_in_flight()
            value = ledger.equity()
            if value != last_value:  # box a new float only when equity moved
                last_value = value
                last_box = value
            curve[i] = last_box
            if margin:
                self._track_margin(value)
            if limit > 0.0 and (i & (CLOCK_EVERY - 1)) == 0 and i:
                elapsed = time.perf_counter() - started
                if elapsed > limit:
                    del curve[i + 1 :]
                    raise BacktestTimeoutError(
                        f"backtest exceeded max_runtime_s={limit:g} after {elapsed:.1f} s "
                        f"({i + 1} of {n} bars processed); raise max_runtime_s or pass 0 "
                        f"to disable the limit"
                    )
        self._finish()

    def _catch_up(self, close_ts: int) -> None:
        feeds = self.feeds
        for fidx in range(1, len(feeds)):
            feed = feeds[fidx]
            res = feed.resolution_s
            while feed.pos + 1 < feed.n and feed.ts_at(feed.pos + 1) + res <= close_ts:
                bar = feed.advance(feed.pos + 1)
                self._on_bar(fidx, feed, bar)

    def _on_bar(self, fidx: int, feed: Feed, bar: Candle) -> None:
        queue = self.queue
        if queue.next_open[fidx]:
            for ticket in list(queue.next_open[fidx]):
                queue.discard(ticket)
                self._fill_taker(ticket, bar.open, bar)
        close = bar.close
        for slot in feed.slots:
            slot.mark = close
        ledger = self.ledger
        if ledger.open:
            ledger.version += 1  # the marks of open positions moved
        if self.margin and ledger.open:
            self._liquidate(feed, bar)
        if queue.resting[fidx]:
            self._match_resting(fidx, bar)

    def _events(self, close_ts: int) -> None:
        ledger = self.ledger
        for funding in self.funding:
            ts = funding.ts
            while funding.pos < funding.n and ts[funding.pos] <= close_ts:
                k = funding.pos
                funding.pos = k + 1
                for slot in funding.slots:
                    if slot.size != 0.0:
                        price = funding.oracle_price[k]
                        if not price > 0.0:
                            mark = funding.mark_price[k]
                            price = mark if mark > 0.0 else slot.mark
                        ledger.pay_funding(slot, ts[k], funding.rate[k], price)
        for stream in self.borrow:
            while stream.pos < stream.n and stream.ts[stream.pos] <= close_ts:
                if stream.pos > 0:
                    prev: BorrowSnapshot = stream.records[stream.pos - 1]
                    snap: BorrowSnapshot = stream.records[stream.pos]
                    hours = (snap.ts - prev.ts) / 3600.0
                    for slot in stream.slots:
                        if slot.size != 0.0:
                            ledger.pay_borrow(slot, snap.ts, prev.rate_hourly * hours, slot.mark)
                stream.pos += 1
        for group in (self.books, self.open_interest, self.oracles):
            for stream in group:
                while stream.pos < stream.n and stream.ts[stream.pos] <= close_ts:
                    stream.pos += 1

    def _finish(self) -> None:
        queue = self.queue
        stranded = [t for t in queue.open_tickets() if t.kind == MARKET]
        for ticket in stranded:
            ticket.order.status = _CANCELLED
            queue.discard(ticket)
            self._settled(ticket)
        if stranded:
            self.warn(
                "unfilled_orders",
                f"{len(stranded)} market order(s) were still waiting to fill when the data "
                f"ended (latency or next-open fills past the last bar); they were cancelled",
            )

    # Orders: placement (called by the execution context)

    def place(
        self,
        kind: int,
        market: str,
        side: int,
        size: float,
        *,
        price: float = 0.0,
        reduce_only: bool = False,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        tif: int = IOC,
        sizing: int = SIZE_FIXED,
        from_signal: bool = False,
    ) -> str:
        """Open an order of ``kind`` (MARKET, LIMIT, STOP, TAKE_PROFIT) buying (``side``
        +1) or selling (-1) ``size``; its id, or "" when it is refused (see the warnings).

        ``price`` is the limit or trigger price; ``tif`` is IOC, FOK or GTC.
        """
        fidx = self.feed_index(venue, market)
        feed = self.feeds[fidx]
        if feed.bar is None:
            self.reject(
                "no_price_data",
                f"{venue}/{market} has no closed bar yet at ts={self.now}; order refused",
            )
            return ""
        gate = self.gate
        if gate is not None:
            refused: str = gate(kind, market, side, size, price, reduce_only, venue, sizing)
            if refused:
                self.reject("risk_denied", refused)
                return ""
        slot = self.slot(venue, market, fidx)
        oid = f"bt-{self._next_id}"
        self._next_id += 1
        order = Order(
            market, side_of(side), _ORDER_TYPES[kind], size, price=price, order_id=oid,
            status=_PENDING, ts=self.now, venue=venue, time_in_force=_TIFS[tif],
            reduce_only=reduce_only, tag=tag,
        )
        ticket = Ticket(order, kind, side, fidx, slot, tif, sizing=sizing,
                        from_signal=from_signal)
        if from_signal:
            self._signal_orders += 1
        queue = self.queue
        if kind == MARKET:
            if self._next_open_fills:
                queue.add_next_open(ticket)
            else:
                delay = self._latency(slot.terms)
                ticket.latency_ms = delay * 1000.0
                ticket.eligible_ts = self.now + delay
                queue.add_in_flight(ticket)
        elif not queue.add_resting(ticket):
            order.status = _CANCELLED
            self._settled(ticket)
            self.reject(
                "order_rejected",
                f"{oid} refused: {queue.max_resting} resting orders are open already",
            )
            return ""
        return oid

    def feed_index(self, venue: str, market: str) -> int:
        """The feed that prices ``market`` on ``venue`` (ValueError when there is none)."""
        on_venue = self.feeds_by_venue.get(venue)
        if on_venue is not None:
            idx = on_venue.get(market, -1)
            if idx >= 0:
                return idx
        found = self.feeds_by_market.get(market)
        if not found:
            known = ", ".join(sorted(self.feeds_by_market))
            raise ValueError(f"no candles for market '{market}'; markets with data: {known}")
        if len(found) == 1:
            return found[0]
        venues = ", ".join(self.feeds[i].venue for i in found)
        raise ValueError(
            f"market '{market}' has candles from several venues ({venues}); "
            f"venue='{venue}' is none of them, so pass one of those"
        )

    def slot(self, venue: str, market: str, fidx: int) -> PositionSlot:
        """The position of (venue, market), created (and linked to funding) on first use."""
        on_venue = self.slots.get(venue)
        if on_venue is None:
            on_venue = {}
            self.slots[venue] = on_venue
        found = on_venue.get(market)
        if found is not None:
            return found
        trading = self.trading_venue(venue, fidx)
        terms = self.venue_terms(trading)
        account = self.accounts.get(venue, self.default_account)
        feed = self.feeds[fidx]
        slot = PositionSlot(venue, market, terms, account, fidx)
        slot.mark = feed.close
        on_venue[market] = slot
        self.ledger.slots.append(slot)
        feed.slots.append(slot)
        for funding in self.funding:
            if funding.market == market and funding.venue in (venue, trading):
                funding.slots.append(slot)
                slot.funding_linked = True
        for stream in self.borrow:
            if stream.market == market and stream.venue in (venue, trading):
                stream.slots.append(slot)
        return slot

    def trading_venue(self, venue: str, fidx: int) -> str:
        """The venue whose costs and funding apply to an order on ``venue`` priced by feed
        ``fidx``: ``default`` stands for the venue the candles come from."""
        return self.feeds[fidx].venue if venue == DEFAULT_VENUE else venue

    def venue_terms(self, venue: str) -> VenueTerms:
        """Terms of ``venue`` (looked up once per run).

        Candles of a venue without a config trade at the ``default`` venue's terms;
        why is kept in ``unknown_venues``. Any other venue without one raises KeyError.
        """
        terms = self.terms.get(venue)
        if terms is None:
            try:
                terms = self.terms_for(venue)
            except KeyError as exc:
                if venue == DEFAULT_VENUE or venue not in self.feeds_by_venue:
                    raise
                self.unknown_venues.append(str(exc.args[0]))
                terms = self.venue_terms(DEFAULT_VENUE)
            self.terms[venue] = terms
        return terms

    def cancel(self, order_id: str) -> bool:
        """Cancel a resting order; False when none rests under that id (market orders,
        executing from submission, and filled or cancelled orders)."""
        return self.queue.cancel(order_id)

    def cancel_all(self, market: str | None) -> int:
        """Cancel every resting order (of ``market``); how many."""
        return self.queue.cancel_where(market)

    def transfer(self, source: str, target: str, amount: float) -> bool:
        """Move ``amount`` between venue accounts (debited now, credited after the delay);
        False when either has no account of its own or no route joins them."""
        src = self.accounts.get(source)
        dst = self.accounts.get(target)
        if src is None or dst is None or src is dst:
            return False
        route = self.transfer_routes.get((source, target), self.transfer_default)
        if route is None:
            return False
        seconds, cost = route
        arrival = self.close_ts + math.ceil(seconds)
        return self.ledger.send(src, dst, amount, cost, self.close_ts, arrival)

    def quote(self, venue: str, market: str, side: int, size: float) -> FillQuote:
        """What the fill model would give ``size`` on the current bar of the market."""
        fidx = self.feed_index(venue, market)
        feed = self.feeds[fidx]
        bar = feed.bar
        if bar is None:
            raise ValueError(f"{venue}/{market} has no closed bar yet")
        terms = self.venue_terms(self.trading_venue(venue, fidx))
        book = self._book(venue, market, feed)
        return self._quote(side, size, bar.close, bar, book, terms)

    # Warnings

    def warn(self, code: str, message: str) -> None:
        """Record a warning ``code: message`` (the first few per code; the rest counted)."""
        count = self.warning_counts.get(code, 0) + 1
        self.warning_counts[code] = count
        if count <= WARNINGS_PER_CODE:
            self.warnings.append(f"{code}: {message}")

    def reject(self, code: str, message: str) -> None:
        """Record a refused order."""
        self.rejections += 1
        self.warn(code, message)

    # Orders: execution

    def _latency(self, terms: VenueTerms) -> float:
        kernel = self._kernel
        if kernel is not None:
            return kernel.latency_s(terms)
        return float(self.fill_model.latency_s(terms))

    def _quote(
        self,
        side: int,
        size: float,
        base: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        kernel = self._kernel
        if kernel is not None:
            return kernel.quote(side, size, base, bar, book, terms)
        quote: FillQuote = self.fill_model.quote(side, size, base, bar, book, terms)
        return quote

    def _fill_in_flight(self) -> None:
        queue = self.queue
        feeds = self.feeds
        for ticket in list(queue.in_flight):
            feed = feeds[ticket.feed]
            bar = feed.bar
            if bar is None or bar.ts + feed.resolution_s < ticket.eligible_ts:
                continue
            queue.discard(ticket)
            self._fill_taker(ticket, bar.close, bar)

    def _match_resting(self, fidx: int, bar: Candle) -> None:
        tickets = list(self.queue.resting[fidx])
        for ticket in tickets:  # stops first: within a bar, assume the adverse move came first
            if ticket.kind == STOP:
                self._try_resting(ticket, bar)
        for ticket in tickets:
            if ticket.kind != STOP:
                self._try_resting(ticket, bar)
        for ticket in tickets:
            ticket.fresh = False

    def _try_resting(self, ticket: Ticket, bar: Candle) -> None:
        if ticket.order.status == _CANCELLED:
            return
        if ticket.kind == LIMIT:
            price = limit_price_on(ticket.side, ticket.price, ticket.fresh, bar)
            if price > 0.0:
                maker = not (ticket.fresh and crossed_on_arrival(ticket.side, ticket.price, bar))
                self.queue.discard(ticket)
                self._fill_limit(ticket, price, maker, bar)
            return
        base = trigger_price_on(ticket.kind, ticket.side, ticket.price, bar)
        if base > 0.0:
            self.queue.discard(ticket)
            self._fill_taker(ticket, base, bar)

    def _size_for(self, ticket: Ticket, price: float, fee_rate: float) -> float:
        slot = ticket.slot
        held = slot.size
        if ticket.sizing == SIZE_CLOSE or ticket.reduce_only:
            if held == 0.0 or (held > 0.0) == (ticket.side > 0):
                return 0.0
            if ticket.sizing == SIZE_CLOSE:
                return abs(held)
            return min(ticket.remaining, abs(held))
        if ticket.sizing == SIZE_ALL_IN:
            cash = slot.account.cash
            return cash / (price * (1.0 + fee_rate)) if cash > 0.0 and price > 0.0 else 0.0
        return ticket.remaining

    def _fill_taker(self, ticket: Ticket, base: float, bar: Candle) -> None:
        """Execute a market, stop or take-profit ticket from ``base`` through the fill model."""
        slot = ticket.slot
        terms = slot.terms
        rate = terms.taker_rate
        size = self._size_for(ticket, base, rate)
        if size <= 0.0:
            self._drop(ticket)
            return
        book = self._book(slot.venue, slot.market, self.feeds[ticket.feed]) if self.books else None
        quote = self._quote(ticket.side, size, base, bar, book, terms)
        if ticket.sizing == SIZE_ALL_IN:  # size again at the quoted price, then quote that size
            size = self._size_for(ticket, quote.price, rate)
            if size <= 0.0:
                self._drop(ticket)
                return
            quote = self._quote(ticket.side, size, base, bar, book, terms)
        price = quote.price
        if not (price > 0.0 and math.isfinite(price)) or not quote.size >= 0.0:
            raise ValueError(
                f"fill model {self.fill_model!r} quoted price={price!r} size={quote.size!r} for "
                f"{ticket.order.order_id}; a quote needs a finite price > 0 and a size >= 0"
            )
        filled = min(quote.size, size)
        short = filled < size * (1.0 - 1e-12)
        if filled <= 0.0 or (short and ticket.tif == FOK):
            self._drop(ticket)
            return
        if not self._margin_allows(ticket, filled, price):
            return
        self._book_fill(ticket, filled, price, filled * price * rate, False, quote.impact_bps, bar)
        if short and ticket.tif == GTC:
            self._rest_remainder(ticket, size - filled, price)
        ticket.order.status = _PARTIALLY_FILLED if short else _FILLED
        self._settled(ticket)

    def _fill_limit(self, ticket: Ticket, price: float, maker: bool, bar: Candle) -> None:
        terms = ticket.slot.terms
        rate = terms.maker_rate if maker else terms.taker_rate
        size = self._size_for(ticket, price, rate)
        if size <= 0.0:
            self._drop(ticket)
            return
        if not self._margin_allows(ticket, size, price):
            return
        self._book_fill(ticket, size, price, size * price * rate, maker, 0.0, bar)
        ticket.order.status = _FILLED
        self._settled(ticket)

    def _margin_allows(self, ticket: Ticket, size: float, price: float) -> bool:
        if not self.margin or ticket.reduce_only or ticket.sizing == SIZE_CLOSE:
            return True
        slot = ticket.slot
        added = abs(slot.size + ticket.side * size) - abs(slot.size)
        reason = check_increase(self.ledger, slot, added, price)
        if not reason:
            return True
        ticket.order.status = _CANCELLED
        self._settled(ticket)
        self.reject("margin_rejected", f"{ticket.order.order_id} at ts={self.now}: {reason}")
        return False

    def _book_fill(
        self,
        ticket: Ticket,
        size: float,
        price: float,
        fee: float,
        maker: bool,
        impact_bps: float,
        bar: Candle,
    ) -> None:
        slot = ticket.slot
        order = ticket.order
        if ticket.sizing != SIZE_FIXED:
            order.size = size
        self.ledger.trade(slot, ticket.side, size, price, bar.ts)
        self.ledger.charge_fee(slot, fee)
        done = order.filled_size
        order.filled_price = (order.filled_price * done + price * size) / (done + size)
        order.filled_size = done + size
        self.ledger.record_fill(
            Fill(
                slot.market, order.side, price, size, fee, bar.ts, order_id=order.order_id,
                venue=slot.venue, is_partial=size < order.size * (1.0 - 1e-12),
                latency_ms=ticket.latency_ms, impact_bps=impact_bps, is_maker=maker,
            )
        )

    def _rest_remainder(self, ticket: Ticket, size: float, price: float) -> None:
        parent = ticket.order
        order = Order(
            parent.market, parent.side, _LIMIT_TYPE, size, price=price,
            order_id=f"{parent.order_id}-gtc", status=_PENDING, ts=self.now,
            venue=parent.venue, time_in_force=_GTC_TIF, reduce_only=parent.reduce_only,
            tag=parent.tag,
        )
        rest = Ticket(order, LIMIT, ticket.side, ticket.feed, ticket.slot, GTC)
        if not self.queue.add_resting(rest):
            order.status = _CANCELLED
            self.reject(
                "order_rejected",
                f"{order.order_id}: GTC remainder not rested, {self.queue.max_resting} "
                f"resting orders are open already",
            )

    def _drop(self, ticket: Ticket) -> None:
        """Cancel a ticket that found nothing to do (reduce-only while flat, no cash, FOK)."""
        ticket.order.status = _CANCELLED
        self.queue.discard(ticket)
        self._settled(ticket)

    def _settled(self, ticket: Ticket) -> None:
        if ticket.from_signal:
            ticket.from_signal = False
            self._signal_orders -= 1

    def _book(self, venue: str, market: str, feed: Feed) -> OrderbookSnapshot | None:
        """Newest order book of ``market`` (its venue, else the feed's, else any), if fresh."""
        best: OrderbookSnapshot | None = None
        rank = 3
        for stream in self.books:
            if stream.market != market or stream.pos == 0:
                continue
            r = 0 if stream.venue == venue else (1 if stream.venue == feed.venue else 2)
            if r < rank:
                rank = r
                best = stream.records[stream.pos - 1]
        if best is None:
            return None
        max_age = max(feed.resolution_s, 3600)
        return best if self.close_ts - best.ts <= max_age else None

    # Margin

    def _liquidate(self, feed: Feed, bar: Candle) -> None:
        ledger = self.ledger
        for slot in list(feed.slots):
            if slot.size == 0.0:
                continue
            level = liquidation_price(ledger, slot)
            if slot.size > 0.0:
                if level <= 0.0 or bar.low > level:
                    continue
                price = min(level, bar.open)
            else:
                if bar.high < level:
                    continue
                price = max(level, bar.open)
            size = abs(slot.size)
            side = -1 if slot.size > 0.0 else 1
            penalty = slot.terms.liquidation_penalty * size * price
            ledger.trade(slot, side, size, price, bar.ts)
            ledger.charge_fee(slot, penalty)
            self.liquidations += 1
            ledger.record_fill(
                Fill(
                    slot.market, side_of(side), price, size, penalty, bar.ts,
                    order_id=f"liq-{self.liquidations}", venue=slot.venue,
                )
            )
            cancelled = self.queue.cancel_where(slot=slot)
            self.warn(
                "liquidation",
                f"{slot.venue}/{slot.market} {size:g} liquidated at {price:g} on bar "
                f"ts={bar.ts} (penalty {penalty:.2f}; {cancelled} resting order(s) cancelled)",
            )

    def _track_margin(self, equity: float) -> None:
        notional, used = exposure(self.ledger)
        if notional <= 0.0:
            return
        self.peak_margin_used = max(self.peak_margin_used, used)
        if equity > 0.0:
            self.max_leverage = max(self.max_leverage, notional / equity)
        self.min_margin_ratio = min(self.min_margin_ratio, equity / notional)

    # v1 signals

    def _on_signal(self, signal: Any) -> None:
        if signal is _BUY or signal is _SELL:  # the members themselves: no string compare
            side = 1 if signal is _BUY else -1
        elif signal == _BUY:
            side = 1
        elif signal == _SELL:
            side = -1
        elif signal == _HOLD:
            return
        else:
            raise TypeError(
                f"on_candle must return a Signal (BUY, SELL or HOLD), got {signal!r}"
            )
        slot = self._signal_slot
        if slot is None:
            primary = self.feeds[0]
            slot = self.slot(DEFAULT_VENUE, primary.market, 0)
            self._signal_slot = slot
        if self._signal_orders:
            return  # an earlier signal's order is still on its way
        held = slot.size
        if (held > 0.0 and side > 0) or (held < 0.0 and side < 0):
            return
        if held != 0.0:
            self._signal_order(slot, side, SIZE_CLOSE)
        opens = self.allow_short or (side > 0 and held == 0.0)
        if opens:
            self._signal_order(slot, side, SIZE_ALL_IN)

    def _signal_order(self, slot: PositionSlot, side: int, sizing: int) -> None:
        self.place(
            MARKET, slot.market, side, 0.0, reduce_only=sizing == SIZE_CLOSE, tag="signal",
            sizing=sizing, from_signal=True,
        )


def _accounts(inputs: RunInputs) -> tuple[list[Account], dict[str, Account], Account]:
    """The run's accounts, those of venues with their own, and the default account."""
    if not inputs.balances:
        shared = Account(DEFAULT_VENUE, inputs.capital)
        return [shared], {}, shared
    accounts = [Account(venue, cash) for venue, cash in inputs.balances]
    by_venue = {a.name: a for a in accounts}
    default = by_venue.get(DEFAULT_VENUE)
    if default is None:
        allocated = sum((cash for _, cash in inputs.balances), 0.0)
        default = Account(DEFAULT_VENUE, max(0.0, inputs.capital - allocated))
        accounts.append(default)
    return accounts, by_venue, default
