"""What a live context knows of its account: orders, fills and positions, kept in step
with the order journal.

:class:`OrderTracker` changes nothing without journaling it first, and rebuilds
itself from the journal after a restart. It never talks to the venue: the live
context and reconciliation feed it the venue's reports, and it applies them by these
rules:

- the venue wins, but a report never moves an order backwards (an older
  "open" report arriving after a fill is ignored) and never reopens an order the
  venue itself closed (filled, cancelled, expired); what flint concluded on its own
  (``FAILED``, ``UNKNOWN``) gives way to any venue report;
- a fill is booked once per venue trade id, and refused (journaled as an overfill,
  not booked) when it would fill an order beyond its size;
- positions are the sum of booked fills (of flint's orders and of orders placed
  outside flint), plus positions the user chose to adopt from the venue.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from flint.live.adapter import VenueFill, VenueOrder, VenuePosition
from flint.live.journal import Event, Kind, OrderJournal
from flint_core.enums import OrderState, OrderStatus, OrderType, Side, TimeInForce
from flint_core.records import Order

log = logging.getLogger("flint.live")

#: States after which an order never trades again.
TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED,
                      OrderState.FAILED})
#: States flint concludes without the venue saying so; any venue report overrides them.
_ASSUMED = frozenset({OrderState.PENDING, OrderState.SUBMITTED, OrderState.UNKNOWN,
                      OrderState.FAILED})
_RANK = {
    OrderState.PENDING: 0, OrderState.SUBMITTED: 1, OrderState.UNKNOWN: 1,
    OrderState.CONFIRMED: 2, OrderState.PARTIALLY_FILLED: 3, OrderState.FILLED: 4,
    OrderState.CANCELLED: 4, OrderState.EXPIRED: 4, OrderState.FAILED: 4,
}
_STATUS = {
    OrderState.FILLED: OrderStatus.FILLED, OrderState.PARTIALLY_FILLED:
    OrderStatus.PARTIALLY_FILLED, OrderState.CANCELLED: OrderStatus.CANCELLED,
    OrderState.EXPIRED: OrderStatus.CANCELLED, OrderState.FAILED: OrderStatus.CANCELLED,
}
#: Size tolerance (base units) when comparing fills with an order's size.
SIZE_TOL = 1e-9

STRATEGY = "strategy"
EXTERNAL = "external"


@attrs.define
class TrackedOrder:
    """One order of the account and everything known of it."""

    client_id: str
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float = 0.0
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    tag: str = ""
    origin: str = STRATEGY
    created_ts: float = 0.0
    state: OrderState = OrderState.PENDING
    filled_size: float = 0.0
    avg_price: float = 0.0
    venue_order_id: str = ""
    reason: str = ""
    #: The venue has reported this order at least once.
    acked: bool = False
    #: Unix time after which "not found at the venue" is final for an unacknowledged order.
    resolve_after: float = 0.0
    state_history: list[tuple[str, float]] = attrs.field(factory=list)

    @property
    def terminal(self) -> bool:
        """Filled, cancelled, expired or failed: it will not trade again."""
        return self.state in TERMINAL

    @property
    def remaining(self) -> float:
        """Size not filled yet."""
        return max(self.size - self.filled_size, 0.0)

    @property
    def cancellable(self) -> bool:
        """A resting order (or one whose state is unknown) that a cancel may reach."""
        return not self.terminal and self.order_type is not OrderType.MARKET

    def fields(self) -> dict[str, Any]:
        """The order's intent, as journaled."""
        return {
            "market": self.market, "side": self.side.value,
            "order_type": self.order_type.value, "size": self.size, "price": self.price,
            "reduce_only": self.reduce_only, "time_in_force": self.time_in_force.value,
            "tag": self.tag, "origin": self.origin, "created_ts": self.created_ts,
            "filled_size": self.filled_size, "avg_price": self.avg_price,
        }

    def to_order(self, venue: str) -> Order:
        """The order as a strategy sees it (``pending_orders``)."""
        return Order(
            self.market, self.side, self.order_type, self.size, self.price, self.client_id,
            _STATUS.get(self.state, OrderStatus.PENDING), int(self.created_ts),
            self.filled_size, self.avg_price, venue, self.time_in_force, self.reduce_only,
            self.tag,
        )


def order_from_fields(client_id: str, fields: Mapping[str, Any],
                      state: OrderState) -> TrackedOrder:
    """A :class:`TrackedOrder` from its journaled intent."""
    return TrackedOrder(
        client_id, str(fields["market"]), Side(fields["side"]),
        OrderType(fields["order_type"]), float(fields["size"]), float(fields["price"]),
        bool(fields["reduce_only"]), TimeInForce(fields["time_in_force"]),
        str(fields.get("tag", "")), str(fields.get("origin", STRATEGY)),
        float(fields.get("created_ts", 0.0)), state, float(fields.get("filled_size", 0.0)),
        float(fields.get("avg_price", 0.0)), str(fields.get("venue_order_id", "")),
    )


@attrs.define
class BookPosition:
    """A position built from fills: signed ``size`` and average ``entry_price``."""

    market: str
    size: float = 0.0
    entry_price: float = 0.0
    entry_ts: float = 0.0

    def apply(self, signed: float, price: float, ts: float) -> None:
        """Add a fill of ``signed`` base units at ``price``."""
        new = self.size + signed
        if abs(new) <= SIZE_TOL:
            self.size, self.entry_price = 0.0, 0.0
        elif self.size == 0:  # opened: priced as the backtest's ledger does, to the bit
            self.size, self.entry_price, self.entry_ts = new, price * abs(signed) / abs(new), ts
        elif (self.size > 0) != (new > 0):  # flipped
            self.size, self.entry_price, self.entry_ts = new, price, ts
        elif abs(new) > abs(self.size):  # grown: size-weighted entry
            self.entry_price = (self.entry_price * abs(self.size) + price * abs(signed)) / abs(new)
            self.size = new
        else:  # reduced
            self.size = new


class OrderTracker:
    """Orders, fills and positions of one account, journaled before they change.

    Thread-safe: the strategy's thread and the venue's event thread share it.
    """

    def __init__(self, journal: OrderJournal) -> None:
        self.journal = journal
        self.lock = threading.RLock()
        self.orders: dict[str, TrackedOrder] = {}
        self._open: dict[str, TrackedOrder] = {}  # the orders not terminal, kept in step
        self.positions: dict[str, BookPosition] = {}
        self.trade_ids: set[str] = set()
        self.refused_trade_ids: set[str] = set()
        self.last_fill_ts = 0.0
        #: The latest journaled trading state and risk memory (for the risk engine).
        self.risk_memory: dict[str, Any] | None = None
        self.on_warning: Callable[[str], None] = lambda message: None

    # Rebuilding from the journal

    def load(self) -> None:
        """Replay the journal (events and fills in the order they were written)."""
        with self.lock:
            fills = iter(self.journal.fills())
            pending = next(fills, None)
            for event in self.journal.events():
                while pending is not None and pending["seq"] <= event["seq"]:
                    self._replay_fill(pending)
                    pending = next(fills, None)
                self._replay_event(event)
            while pending is not None:
                self._replay_fill(pending)
                pending = next(fills, None)

    def _replay_event(self, event: Mapping[str, Any]) -> None:
        kind, cid, detail = Kind(event["kind"]), event["client_id"], event["detail"]
        if kind is Kind.INTENT:
            order = order_from_fields(cid, detail, OrderState(event["state"]))
            order.acked = order.origin == EXTERNAL
            order.state_history.append((order.state.value, event["ts"]))
            self.orders[cid] = order
            self._track(order)
        elif kind is Kind.STATE:
            order = self.orders[cid]
            order.state = OrderState(event["state"])
            self._track(order)
            order.reason = str(detail.get("reason", order.reason))
            order.venue_order_id = str(detail.get("venue_order_id", order.venue_order_id))
            order.acked = bool(detail.get("acked", order.acked))
            order.size = float(detail.get("size", order.size))
            order.price = float(detail.get("price", order.price))
            if order.origin == EXTERNAL:  # the venue's word (fills do not count here)
                order.filled_size = float(detail.get("filled_size", order.filled_size))
                order.avg_price = float(detail.get("avg_price", order.avg_price))
            order.state_history.append((order.state.value, event["ts"]))
        elif kind is Kind.POSITION:
            self.positions[detail["market"]] = BookPosition(
                detail["market"], float(detail["size"]), float(detail["entry_price"]),
                float(event["ts"]))
        elif kind is Kind.OVERFILL:
            self.refused_trade_ids.add(str(detail["trade_id"]))
        elif kind in (Kind.TRADING, Kind.RISK_MEMORY):
            self.risk_memory = dict(detail)

    def _replay_fill(self, row: Mapping[str, Any]) -> None:
        fill = VenueFill(row["trade_id"], row["client_id"], row["market"], Side(row["side"]),
                         row["price"], row["size"], row["fee"], row["ts"], row["is_maker"])
        self._account_fill(fill)

    # Queries

    def open_orders(self) -> list[TrackedOrder]:
        """Orders that may still trade (incl. those whose state is unknown)."""
        with self.lock:
            return list(self._open.values())

    def _track(self, order: TrackedOrder) -> None:
        """Keep :meth:`open_orders` in step with ``order``'s new state (O(1), not a scan
        of every order the account ever placed)."""
        if order.terminal:
            self._open.pop(order.client_id, None)
        else:
            self._open[order.client_id] = order

    def open_positions(self) -> list[BookPosition]:
        """Positions with a size."""
        with self.lock:
            return [attrs.evolve(p) for p in self.positions.values() if p.size != 0]

    def position_size(self, market: str) -> float:
        """The signed size held in ``market``."""
        with self.lock:
            held = self.positions.get(market)
            return held.size if held is not None else 0.0

    # Changes (each journaled first)

    def add_intent(self, order: TrackedOrder, **detail: Any) -> None:
        """Journal a new order (flint's, before it is sent; or an adopted external one)."""
        with self.lock:
            if order.client_id in self.orders:
                raise ValueError(f"client order id {order.client_id} is used already")
            self.journal.append([Event(Kind.INTENT, order.client_id, order.state.value,
                                       {**order.fields(), **detail})])
            order.state_history.append((order.state.value, self.journal.last_ts))
            self.orders[order.client_id] = order
            self._track(order)

    def record(self, kind: Kind, client_id: str | None = None, **detail: Any) -> None:
        """Journal an event that changes no order (cancel request, risk denial, ...)."""
        self.journal.append([Event(kind, client_id, None, detail)])
        if kind in (Kind.TRADING, Kind.RISK_MEMORY):
            self.risk_memory = dict(detail)

    def set_state(self, order: TrackedOrder, state: OrderState, reason: str = "",
                  **detail: Any) -> bool:
        """Move ``order`` to ``state`` (journaled); False if nothing changed."""
        with self.lock:
            venue_id = str(detail.pop("venue_order_id", "") or order.venue_order_id)
            acked = bool(detail.pop("acked", False)) or order.acked
            force = bool(detail.pop("force", False))
            if (state is order.state and venue_id == order.venue_order_id
                    and acked == order.acked and not force):
                return False
            self.journal.append([Event(
                Kind.STATE, order.client_id, state.value,
                {"reason": reason, "venue_order_id": venue_id, "acked": acked,
                 "filled_size": order.filled_size, **detail},
            )])
            order.state, order.reason = state, reason or order.reason
            order.venue_order_id, order.acked = venue_id, acked
            self._track(order)
            order.state_history.append((state.value, self.journal.last_ts))
            return True

    def apply_report(self, order: TrackedOrder, report: VenueOrder,
                     missing_fills_ok: bool = False) -> bool:
        """Merge the venue's ``report`` of ``order`` (its fills first); True when the
        venue reports more filled than the fills booked (fetch the missing fills, then
        apply the report again with ``missing_fills_ok``: the venue's state wins)."""
        with self.lock:
            for fill in report.fills:
                self.book_fill(fill)
            if order.origin == EXTERNAL and abs(report.filled_size - order.filled_size) > (
                SIZE_TOL
            ):
                order.filled_size, order.avg_price = report.filled_size, report.avg_price
                self.set_state(order, order.state, "filled at the venue", force=True,
                               avg_price=order.avg_price)
            if abs(report.size - order.size) > SIZE_TOL or (
                report.price > 0 and report.price != order.price
            ):  # amended at the venue
                order.size, order.price = report.size, report.price or order.price
                self.set_state(order, order.state, "amended", size=order.size,
                               price=order.price, force=True)
            state = report.state
            if not missing_fills_ok and state in (
                OrderState.FILLED, OrderState.PARTIALLY_FILLED
            ) and order.filled_size < report.filled_size - SIZE_TOL:
                state = order.state if order.state not in _ASSUMED else OrderState.CONFIRMED
                missing = True
            else:
                missing = False
            if not self._may_move(order, state):
                state = order.state
            self.set_state(order, state, report.reason, venue_order_id=report.venue_order_id,
                           acked=True)
            return missing

    @staticmethod
    def _may_move(order: TrackedOrder, state: OrderState) -> bool:
        if state is order.state:
            return False
        if order.state in _ASSUMED:
            return True
        if order.terminal:
            return False
        return _RANK[state] >= _RANK[order.state]

    def book_fill(self, fill: VenueFill) -> bool:
        """Book ``fill`` once (journaled with the order's new state); False for a fill
        already booked or refused as an overfill."""
        with self.lock:
            if fill.trade_id in self.trade_ids or fill.trade_id in self.refused_trade_ids:
                return False
            order = self._own(fill.client_id)
            events: list[Event] = []
            if order is not None:
                filled = order.filled_size + fill.size
                if filled > order.size + SIZE_TOL:
                    self._refuse(order, fill)
                    return False
                state = (OrderState.FILLED if filled >= order.size - SIZE_TOL
                         else OrderState.PARTIALLY_FILLED)
                if not self._may_move(order, state):
                    state = order.state
                events.append(Event(Kind.STATE, order.client_id, state.value, {
                    "reason": "fill", "venue_order_id": order.venue_order_id, "acked": True,
                    "filled_size": filled, "trade_id": fill.trade_id,
                }))
            if not self.journal.append(events, fill):
                self.trade_ids.add(fill.trade_id)
                return False
            self._account_fill(fill)
            if order is not None:
                order.state, order.acked, order.reason = OrderState(events[0].state), True, "fill"
                self._track(order)
                order.state_history.append((order.state.value, self.journal.last_ts))
            return True

    def _own(self, client_id: str) -> TrackedOrder | None:
        """Flint's order with ``client_id``: fills count towards it. (Fills of external
        orders only move positions; the venue's reports say how much those filled.)"""
        order = self.orders.get(client_id)
        return order if order is not None and order.origin != EXTERNAL else None

    def _refuse(self, order: TrackedOrder, fill: VenueFill) -> None:
        message = (f"refused fill {fill.trade_id} of {fill.size:g} {order.market}: order "
                   f"{order.client_id} has {order.filled_size:g} of {order.size:g} filled")
        self.journal.append([Event(Kind.OVERFILL, order.client_id, None, {
            "trade_id": fill.trade_id, "size": fill.size, "price": fill.price,
            "message": message,
        })])
        self.refused_trade_ids.add(fill.trade_id)
        log.warning("overfill: %s", message)
        self.on_warning(f"WARNING overfill: {message}")

    def _account_fill(self, fill: VenueFill) -> None:
        """Apply a booked fill to its order and the position (no journaling)."""
        self.trade_ids.add(fill.trade_id)
        self.last_fill_ts = max(self.last_fill_ts, fill.ts)
        order = self._own(fill.client_id)
        if order is not None:
            total = order.filled_size + fill.size
            order.avg_price = (order.avg_price * order.filled_size + fill.price * fill.size) / (
                total)
            order.filled_size = total
        held = self.positions.setdefault(fill.market, BookPosition(fill.market))
        held.apply(fill.size if fill.side is Side.LONG else -fill.size, fill.price, fill.ts)

    def adopt_position(self, venue: VenuePosition) -> None:
        """Take the venue's position of a market as ours (the user chose to adopt it)."""
        with self.lock:
            self.journal.append([Event(Kind.POSITION, None, None, {
                "market": venue.market, "size": venue.size, "entry_price": venue.entry_price,
            })])
            self.positions[venue.market] = BookPosition(
                venue.market, venue.size, venue.entry_price, self.journal.last_ts)

    def mismatches(self, venue: Iterable[VenuePosition], tol: float = 1e-9) -> list[str]:
        """Markets whose position differs from the venue's, described."""
        with self.lock:
            theirs = {p.market: p.size for p in venue if abs(p.size) > tol}
            ours = {m: p.size for m, p in self.positions.items() if abs(p.size) > tol}
            return [
                f"{m}: journal {ours.get(m, 0.0):g}, venue {theirs.get(m, 0.0):g}"
                for m in sorted(set(theirs) | set(ours))
                if abs(ours.get(m, 0.0) - theirs.get(m, 0.0)) > tol * max(1.0, abs(
                    theirs.get(m, 0.0)))
            ]
