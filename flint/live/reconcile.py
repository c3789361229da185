"""Reconciliation: align the journal with the venue before the first order (and then
periodically). The venue wins.

1. fills since the journal was last in step (earliest open order, last sync) are
   read and booked (each trade id once);
2. every order the journal holds open is looked up (open orders, else by client
   id) and takes the venue's state; an order the venue never reported and does not
   know becomes ``FAILED`` once its ambiguity window has passed (never re-sent); one
   it did report and no longer knows is closed (filled if its fills say so);
3. open orders the journal does not know are adopted as ``external`` orders;
4. positions are compared: a difference blocks trading unless the user adopts the
   venue's positions.

Only differences are journaled, so running it twice adds nothing.
"""


import attrs

from flint.execution.order_tracker import (
    EXTERNAL,
    SIZE_TOL,
    OrderTracker,
    TrackedOrder,
)
from flint.live.adapter import VenueAdapter, VenueOrder, VenuePosition
from flint_core.enums import OrderState, TimeInForce


@attrs.frozen
class ReconcileReport:
    """What a reconciliation found and did."""

    fills_booked: int = 0
    orders_updated: tuple[str, ...] = ()
    adopted_orders: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()
    mismatches: tuple[str, ...] = ()
    adopted_positions: tuple[str, ...] = ()
    positions: tuple[VenuePosition, ...] = ()

    @property
    def blocked(self) -> bool:
        """True when positions differ from the venue's (trading blocked)."""
        return bool(self.mismatches)


def reconcile(
    tracker: OrderTracker,
    adapter: VenueAdapter,
    *,
    now: float,
    synced_ts: float,
    overlap_s: float,
    adopt_positions: bool = False,
    check_positions: bool = True,
) -> ReconcileReport:
    """Read open orders, fills, order states and positions from the venue and align
    ``tracker`` (and its journal) to them; ``synced_ts`` is when the journal was last
    known to be in step (0: never, so no fills are read)."""
    venue_open = {o.client_id: o for o in adapter.open_orders()}
    open_here = tracker.open_orders()
    starts = [o.created_ts for o in open_here] + ([synced_ts] if synced_ts > 0 else [])
    booked = 0
    if starts:
        for fill in adapter.fills_since(min(starts) - overlap_s):
            booked += tracker.book_fill(fill)

    updated, unresolved = [], []
    for order in open_here:
        before = (order.state, order.filled_size)
        report = venue_open.get(order.client_id) or adapter.order_status(order.client_id)
        if report is not None:
            tracker.apply_report(order, report, missing_fills_ok=True)
        else:
            settle_missing(tracker, order, now)
        if (order.state, order.filled_size) != before:
            updated.append(order.client_id)
        if not order.terminal and not order.acked:
            unresolved.append(order.client_id)

    adopted = []
    for cid, report in venue_open.items():
        if cid not in tracker.orders:
            adopt_external(tracker, report)
            adopted.append(cid)

    positions = tuple(adapter.positions())
    mismatches = tracker.mismatches(positions) if check_positions else []
    adopted_positions = []
    if mismatches and adopt_positions:
        by_market = {p.market: p for p in positions}
        for line in mismatches:
            market = line.split(":", 1)[0]
            tracker.adopt_position(by_market.get(market, VenuePosition(market, 0.0, 0.0)))
            adopted_positions.append(line)
        mismatches = []
    return ReconcileReport(booked, tuple(updated), tuple(adopted), tuple(unresolved),
                           tuple(mismatches), tuple(adopted_positions), positions)


def settle_missing(tracker: OrderTracker, order: TrackedOrder, now: float) -> None:
    """``order`` is not known at the venue: close it if it ever was (it is gone), fail it
    once its ambiguity window has passed (it never arrived), else leave it UNKNOWN."""
    if order.acked:
        done = order.filled_size >= order.size - SIZE_TOL
        tracker.set_state(order, OrderState.FILLED if done else OrderState.CANCELLED,
                          "no longer at the venue")
    elif now >= order.resolve_after:
        tracker.set_state(order, OrderState.FAILED, "never arrived at the venue")
    elif order.state is not OrderState.UNKNOWN:
        tracker.set_state(order, OrderState.UNKNOWN, "outcome unknown; querying the venue")


def adopt_external(tracker: OrderTracker, report: VenueOrder) -> TrackedOrder:
    """Track an open order placed outside flint (not cancelled: it is not ours); what it
    filled before is taken from the venue (those fills are booked as they are read)."""
    order = TrackedOrder(
        report.client_id, report.market, report.side, report.order_type, report.size,
        report.price, report.reduce_only, TimeInForce.GTC, "external", EXTERNAL, report.ts,
        report.state, report.filled_size, report.avg_price, report.venue_order_id,
        acked=True,
    )
    tracker.add_intent(order, venue_order_id=report.venue_order_id)
    return order
