"""Open orders and the rules that trigger resting ones against a bar's range.

A :class:`Ticket` is an order as the engine tracks it: the strategy-facing
:class:`~flint_core.records.Order` plus where it trades and how it is sized.
:class:`OrderQueue` holds the open tickets: resting limit / stop / take-profit
orders per price feed, market orders waiting for a later bar (latency) and market
orders waiting for the next bar's open. Only resting orders can be cancelled: a
market order executes on submission, as on a venue, even while it is in flight.
"""

from typing import Final

from flint_core.enums import OrderStatus
from flint_core.ledger import PositionSlot
from flint_core.records import Candle, Order

# Order kinds.
MARKET: Final = 0
LIMIT: Final = 1
STOP: Final = 2
TAKE_PROFIT: Final = 3

# How a ticket's size is decided when it fills.
SIZE_FIXED: Final = 0
SIZE_ALL_IN: Final = 1  # all of the account's cash at the fill price, net of the fee
SIZE_CLOSE: Final = 2  # the whole position, whatever it is by then

#: OrderStatus.CANCELLED as a module constant (enum attribute reads are slow on 3.11).
_CANCELLED: Final = OrderStatus.CANCELLED

# Time in force.
IOC: Final = 0
FOK: Final = 1
GTC: Final = 2


class Ticket:
    """One open order: its record, side (+1 buy / -1 sell), price feed and position."""

    def __init__(
        self,
        order: Order,
        kind: int,
        side: int,
        feed: int,
        slot: PositionSlot,
        tif: int,
        sizing: int = SIZE_FIXED,
        eligible_ts: float = 0.0,
        latency_ms: float = 0.0,
        from_signal: bool = False,
    ) -> None:
        self.order = order
        self.kind = kind
        self.side = side
        self.feed = feed
        self.slot = slot
        self.tif = tif
        self.sizing = sizing
        self.reduce_only = order.reduce_only
        self.price = order.price
        self.eligible_ts = eligible_ts
        self.latency_ms = latency_ms
        self.from_signal = from_signal
        self.fresh = True  # no bar has been matched against it yet

    @property
    def remaining(self) -> float:
        """Size still to fill."""
        return self.order.size - self.order.filled_size


def limit_price_on(side: int, limit: float, fresh: bool, bar: Candle) -> float:
    """The price a resting limit fills at on ``bar``, or 0.0 when the bar does not reach it.

    A buy fills when the low reaches the limit, a sell when the high does, at the limit
    itself (a resting order trades at its own price, also when the market gaps
    through it). An order whose first bar after placement opens through it was
    marketable on arrival: it takes that open, which is better than its limit.
    """
    if side > 0:
        if fresh and bar.open <= limit:
            return bar.open
        if bar.low <= limit:
            return limit
    else:
        if fresh and bar.open >= limit:
            return bar.open
        if bar.high >= limit:
            return limit
    return 0.0


def crossed_on_arrival(side: int, limit: float, bar: Candle) -> bool:
    """Whether a limit meeting ``bar`` first was marketable when it arrived (a taker fill)."""
    return bar.open <= limit if side > 0 else bar.open >= limit


def trigger_price_on(kind: int, side: int, trigger: float, bar: Candle) -> float:
    """The base price of a stop or take-profit that triggers on ``bar`` (0.0: it does not).

    ``side`` is the order's (closing) side. A sell stop triggers when the low reaches
    the trigger, a buy stop when the high does; a sell take-profit when the high
    reaches it, a buy take-profit when the low does. The order then executes from the
    trigger, or from the open when the bar opened beyond it (a gap).
    """
    if kind == STOP:
        if side < 0:
            return min(bar.open, trigger) if bar.low <= trigger else 0.0
        return max(bar.open, trigger) if bar.high >= trigger else 0.0
    if side < 0:
        return max(bar.open, trigger) if bar.high >= trigger else 0.0
    return min(bar.open, trigger) if bar.low <= trigger else 0.0


class OrderQueue:
    """Open tickets: resting per feed, in flight (latency) and waiting for the next open.

    ``version`` changes whenever a ticket is added or leaves (filled, cancelled).
    """

    def __init__(self, n_feeds: int, max_resting: int) -> None:
        self.resting: list[list[Ticket]] = [[] for _ in range(n_feeds)]
        self.next_open: list[list[Ticket]] = [[] for _ in range(n_feeds)]
        self.in_flight: list[Ticket] = []
        self.by_id: dict[str, Ticket] = {}
        self.max_resting: Final = max_resting
        self.n_resting = 0
        self.n_next_open = 0
        self.version = 0

    def add_resting(self, ticket: Ticket) -> bool:
        """Rest ``ticket``; False (nothing added) when the queue is full."""
        if self.n_resting >= self.max_resting:
            return False
        self.resting[ticket.feed].append(ticket)
        self.by_id[ticket.order.order_id] = ticket
        self.n_resting += 1
        self.version += 1
        return True

    def add_in_flight(self, ticket: Ticket) -> None:
        """Queue a market ticket that fills once its latency has elapsed."""
        self.in_flight.append(ticket)
        self.by_id[ticket.order.order_id] = ticket
        self.version += 1

    def add_next_open(self, ticket: Ticket) -> None:
        """Queue a market ticket that fills at its feed's next open."""
        self.next_open[ticket.feed].append(ticket)
        self.by_id[ticket.order.order_id] = ticket
        self.n_next_open += 1
        self.version += 1

    def discard(self, ticket: Ticket) -> None:
        """Forget a ticket that filled or was cancelled (it may already be gone)."""
        self.version += 1
        oid = ticket.order.order_id
        if self.by_id.get(oid) is ticket:
            del self.by_id[oid]
        if ticket.kind != MARKET:
            rest = self.resting[ticket.feed]
            if ticket in rest:
                rest.remove(ticket)
                self.n_resting -= 1
            return
        if ticket in self.in_flight:
            self.in_flight.remove(ticket)
            return
        waiting = self.next_open[ticket.feed]
        if ticket in waiting:
            waiting.remove(ticket)
            self.n_next_open -= 1

    def cancel(self, order_id: str) -> bool:
        """Cancel a resting order by id; False when no order rests under that id.

        Market tickets are executing, not resting (in flight or waiting for the next
        open): they cannot be cancelled, nor can a filled or cancelled order.
        """
        ticket = self.by_id.get(order_id)
        if ticket is None or ticket.kind == MARKET:
            return False
        ticket.order.status = _CANCELLED
        self.discard(ticket)
        return True

    def cancel_where(self, market: str | None = None, slot: PositionSlot | None = None) -> int:
        """Cancel every resting order (of ``market``, of ``slot``); how many."""
        victims = [
            t for t in self.by_id.values()
            if t.kind != MARKET and (market is None or t.order.market == market)
            and (slot is None or t.slot is slot)
        ]
        for ticket in victims:
            ticket.order.status = _CANCELLED
            self.discard(ticket)
        return len(victims)

    def open_tickets(self) -> list[Ticket]:
        """Every open ticket, in placement order."""
        return list(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)
