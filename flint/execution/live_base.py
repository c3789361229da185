"""The live execution context: the strategy's ``ctx`` on a real venue account.

``LiveExecutionContext(adapter, store)`` trades through a venue plugin's
:class:`~flint.live.adapter.VenueAdapter` with the safety every venue shares:

- **write-ahead journal**: an order's intent and client order id are committed to
  the store's journal before the first byte goes to the venue; every state change,
  fill, cancel request and risk decision follows as an event (:mod:`flint.live.journal`);
- **ambiguity is not failure**: a timeout, reset, 5xx, 429 or unparsable reply leaves
  the order ``UNKNOWN``; it is resolved by asking the venue for that client order id
  (now, then every ``poll_interval_s``), never by sending the order again; after the
  adapter's ambiguity window an order the venue never saw is ``FAILED``;
- **reconciliation first**: :meth:`start` aligns the journal with the venue
  (:mod:`flint.live.reconcile`) before any order may leave; orders asked for earlier
  are refused (``NOT_RECONCILED``); a position that differs from the venue's blocks
  new exposure (``POSITION_MISMATCH``) until it matches or is adopted;
- **one risk engine** (:mod:`flint.risk`): every order is checked; denials carry a
  reason code, are journaled and appear in :attr:`strategy_warnings`; cancels and
  reduce-only orders are never blocked; the trading state survives restarts until
  :meth:`resume`; :meth:`kill` is the kill switch;
- **dry run** (``dry_run=True``): everything but the final send (orders are
  journaled, risk-checked and built by the adapter, then marked ``FAILED: dry run``).

Orders follow the :class:`~flint.execution.context.ExecutionContext` rules: a market
order executes on submission, ``cancel`` reaches resting orders only. Each order call
blocks until the venue answers (or the adapter's timeout). A background thread
(:meth:`start`) books the venue's events; :meth:`sync` does one round by hand.
Marks come from :meth:`set_candle` / :meth:`set_mark` (the live feed) and from the
venue's position reports.
"""

import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flint.execution.context import DEFAULT_VENUE, ExecutionContext
from flint.execution.order_tracker import TERMINAL, OrderTracker, TrackedOrder
from flint.live.adapter import (
    OrderRequest,
    UserEvents,
    VenueAdapter,
    VenueError,
    VenueOrder,
    VenueRejected,
)
from flint.live.journal import Kind, OrderJournal
from flint.live.reconcile import ReconcileReport, adopt_external, reconcile, settle_missing
from flint.risk.engine import (
    Holding,
    Mark,
    OrderIntent,
    Reason,
    RiskDecision,
    RiskEngine,
    RiskView,
    TradingState,
)
from flint.risk.monitor import Alert
from flint.store import FlintStore
from flint_core.entry import market_name, positive
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_core.records import AccountState, Candle, Order, PositionInfo

log = logging.getLogger("flint.live")

#: An order being sent has no resolution deadline until the send returns.
_IN_FLIGHT = math.inf


def _as_side(side: Any) -> Side:
    try:
        return Side(side)
    except ValueError:
        raise ValueError(f"side must be Side.LONG or Side.SHORT, got {side!r}") from None


class LiveExecutionContext(ExecutionContext):
    """``ctx`` on a live venue account (see the module doc).

    ``account`` names the journal's scope (default: the adapter's venue);
    ``risk`` is the engine every order passes (default: one without guards, which
    still enforces the trading states); ``adopt_venue_positions`` lets reconciliation
    take the venue's positions instead of blocking; ``alert(kind, message)`` receives
    alerts (kill switch, venue loop failures).
    """

    def __init__(
        self,
        adapter: VenueAdapter,
        store: FlintStore,
        *,
        account: str = "",
        risk: RiskEngine | None = None,
        dry_run: bool = False,
        adopt_venue_positions: bool = False,
        poll_interval_s: float = 1.0,
        reconcile_interval_s: float = 30.0,
        balance_interval_s: float = 5.0,
        fill_overlap_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        alert: Alert | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        self.store = store
        self.dry_run = dry_run
        self.adopt_venue_positions = adopt_venue_positions
        self.poll_interval_s = poll_interval_s
        self.reconcile_interval_s = reconcile_interval_s
        self.balance_interval_s = balance_interval_s
        self.fill_overlap_s = fill_overlap_s
        self.clock = clock
        self.alert = alert
        self.session = uuid.uuid4().hex[:8]
        self.journal = OrderJournal(store, account or adapter.venue, clock)
        self.tracker = OrderTracker(self.journal)
        self.tracker.on_warning = self._warn
        self.risk = risk if risk is not None else RiskEngine()
        self.strategy_warnings: list[str] = []
        self.logs: list[str] = []
        self._numbers = 0
        self._reconciled = False
        self._mismatches: tuple[str, ...] = ()
        self._synced_ts = 0.0
        self._cash = self._available = 0.0
        self._marks: dict[str, Mark] = {}
        self._candle: Candle | None = None
        self._cursor = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: contextlib.ExitStack | None = None
        self._next_reconcile = self._next_balance = 0.0

    # Lifecycle

    def start(self, background: bool = True) -> ReconcileReport:
        """Load the journal, connect, reconcile, then allow orders (and, with
        ``background``, book the venue's events in a thread). A venue that cannot be
        read makes this raise: nothing is sent before reconciliation finished."""
        self._held = contextlib.ExitStack()
        self._held.enter_context(self.store.hold_open())
        try:
            self.tracker.load()
            if self.tracker.risk_memory is not None:
                self.risk.restore(self.tracker.risk_memory.get("memory", {}))
            self.risk.listener = self._on_trading_state
            restart = self.clock()
            for order in self.tracker.open_orders():
                if not order.acked:  # whatever was sent, was sent before this start
                    order.resolve_after = restart + self.adapter.ambiguity_window_s
            self.adapter.connect()
            self._cursor = self.adapter.events("", 0.0).cursor  # events from here on
            report = self.reconcile()
        except BaseException:
            self._release()
            raise
        self._reconciled = True
        if background:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=f"flint-live-{self.venue}",
                                            daemon=True)
            self._thread.start()
        return report

    def stop(self) -> None:
        """Stop booking events, save the risk guards' memory and release the venue and
        the store (resting orders stay at the venue: cancel them first if you want)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._held is not None:
            self._save_risk_memory()
        self._reconciled = False
        self._release()

    def _release(self) -> None:
        with contextlib.suppress(Exception):
            self.adapter.close()
        if self._held is not None:
            self._held.close()
            self._held = None

    def __enter__(self) -> "LiveExecutionContext":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reconcile(self, adopt_positions: bool | None = None) -> ReconcileReport:
        """Align the journal with the venue (see :mod:`flint.live.reconcile`); a
        position mismatch blocks new exposure until a later run finds none."""
        adopt = self.adopt_venue_positions if adopt_positions is None else adopt_positions
        now, numbers = self.clock(), self._numbers
        synced = self._synced_ts or self._last_journal_ts()
        in_flight = self._in_flight()
        report = reconcile(
            self.tracker, self.adapter, now=now, synced_ts=synced,
            overlap_s=self.fill_overlap_s, adopt_positions=adopt,
            check_positions=not in_flight,
        )
        self._synced_ts = now
        if not (in_flight or self._in_flight() or numbers != self._numbers):
            known, self._mismatches = self._mismatches, report.mismatches
            for line in report.mismatches:  # else an order raced the position read
                if line not in known:  # logged once, not at every reconciliation
                    log.error("reconciliation: position differs from the venue's (%s); "
                              "trading is blocked until it matches or you adopt the venue's "
                              "positions", line)
            if known and not report.mismatches:
                log.warning("reconciliation: positions match the venue's again; trading "
                            "is unblocked")
        for position in report.positions:
            if position.mark_price > 0:
                self._marks[position.market] = Mark(position.mark_price, now)
        self._refresh_balances()
        self._next_reconcile = now + self.reconcile_interval_s
        return report

    def _in_flight(self) -> bool:
        return any(o.resolve_after == _IN_FLIGHT for o in self.tracker.open_orders())

    def _last_journal_ts(self) -> float:
        events = self.journal.events()
        return float(events[-1]["ts"]) if events else 0.0

    def _refresh_balances(self) -> None:
        for balance in self.adapter.balances():
            if balance.asset == self.adapter.quote_asset:
                self._cash, self._available = balance.total, balance.available
        self._next_balance = self.clock() + self.balance_interval_s

    # The venue's events

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._round(self.poll_interval_s)
                failures = 0
            except VenueError as exc:
                failures += 1
                log.warning("venue %s: %s (retrying)", self.venue, exc)
                self._stop.wait(min(0.2 * 2 ** failures, 5.0))
            except Exception as exc:  # never a silent dead loop: halt and say so
                log.exception("the %s event loop failed", self.venue)
                message = f"the {self.venue} event loop failed: {type(exc).__name__}: {exc}"
                self.risk.trip(TradingState.HALTED, Reason.KILL_SWITCH, message)
                self._raise_alert("loop_failure", message)
                self._stop.wait(1.0)

    def sync(self) -> None:
        """One round of the event loop now: book new events, resolve orders whose
        outcome is unknown, refresh balances and reconcile when due."""
        self._round(0.0)

    def _round(self, wait_s: float) -> None:
        self._apply_events(self.adapter.events(self._cursor, wait_s))
        self._resolve_due()
        now = self.clock()
        if now >= self._next_reconcile:
            self.reconcile()
            self._save_risk_memory()
        elif now >= self._next_balance:
            self._refresh_balances()

    def _apply_events(self, batch: UserEvents) -> None:
        for fill in batch.fills:
            self.tracker.book_fill(fill)
        for report in batch.orders:
            order = self.tracker.orders.get(report.client_id)
            if order is not None:
                self._apply(order, report)
            elif report.state not in TERMINAL:
                adopt_external(self.tracker, report)
        if batch.cursor:
            self._cursor = batch.cursor

    def _apply(self, order: TrackedOrder, report: VenueOrder) -> None:
        if self.tracker.apply_report(order, report):
            self._fetch_fills(order.created_ts)
            self.tracker.apply_report(order, report, missing_fills_ok=True)

    def _fetch_fills(self, since: float) -> None:
        for fill in self.adapter.fills_since(since - self.fill_overlap_s):
            self.tracker.book_fill(fill)

    def _resolve_due(self) -> None:
        now = self.clock()
        for order in self.tracker.open_orders():
            if order.state is OrderState.UNKNOWN or (
                not order.acked and order.resolve_after != _IN_FLIGHT
            ):
                self._resolve(order, now)

    def _resolve(self, order: TrackedOrder, now: float) -> None:
        """Ask the venue for ``order`` by its client id and take its answer."""
        try:
            report = self.adapter.order_status(order.client_id)
        except VenueError as exc:
            log.info("order %s: status query failed (%s); will ask again", order.client_id, exc)
            return
        if report is not None:
            self._apply(order, report)
        else:
            settle_missing(self.tracker, order, now)

    # State

    @property
    def account(self) -> AccountState:
        unrealized = notional = 0.0
        for held in self.tracker.open_positions():
            price = self._price(held.market, held.entry_price)
            unrealized += (price - held.entry_price) * held.size
            notional += abs(held.size) * price
        equity = self._cash + unrealized
        used = max(self._cash - self._available, 0.0)
        return AccountState(equity, self._cash, unrealized, used, equity - used,
                            notional / equity if equity > 0 else 0.0)

    def _price(self, market: str, fallback: float) -> float:
        mark = self._marks.get(market)
        return mark.price if mark is not None else fallback

    @property
    def positions(self) -> list[PositionInfo]:
        out = []
        for held in self.tracker.open_positions():
            price = self._price(held.market, held.entry_price)
            out.append(PositionInfo(
                held.market, Side.LONG if held.size > 0 else Side.SHORT, abs(held.size),
                held.entry_price, (price - held.entry_price) * held.size,
                int(held.entry_ts), self.venue,
            ))
        return out

    def position(self, market: str, venue: str = DEFAULT_VENUE) -> PositionInfo | None:
        return super().position(market, self.venue if venue == DEFAULT_VENUE else venue)

    @property
    def pending_orders(self) -> list[Order]:
        return [o.to_order(self.venue) for o in self.tracker.open_orders()]

    @property
    def current_candle(self) -> Candle | None:
        return self._candle

    @property
    def timestamp(self) -> int:
        return int(self.clock())

    @property
    def markets(self) -> list[str]:
        held = {p.market for p in self.tracker.open_positions()}
        return sorted(held | set(self._marks))

    @property
    def trading_state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED (see :mod:`flint.risk`)."""
        return self.risk.state

    @property
    def reconciled(self) -> bool:
        """True once :meth:`start` reconciled (orders may be sent)."""
        return self._reconciled

    @property
    def mismatches(self) -> tuple[str, ...]:
        """Positions that differ from the venue's at the last reconciliation."""
        return self._mismatches

    def order(self, order_id: str) -> TrackedOrder | None:
        """Everything known of an order (any state), or None."""
        return self.tracker.orders.get(order_id)

    # Market data fed by the runner

    def set_candle(self, candle: Candle) -> None:
        """The bar being processed; its close is the market's mark at the bar's end."""
        self._candle = candle
        self.set_mark(candle.market, candle.close, candle.ts + candle.resolution_s)

    def set_mark(self, market: str, price: float, ts: float | None = None) -> None:
        """A fresh reference price of ``market`` (observed at ``ts``, default now)."""
        self._marks[market] = Mark(float(price), self.clock() if ts is None else float(ts))

    # Orders

    def market_order(
        self,
        market: str,
        side: Side,
        size: float,
        reduce_only: bool = False,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        time_in_force: TimeInForce = TimeInForce.IOC,
    ) -> str:
        return self._submit(OrderType.MARKET, market, side, size, 0.0, reduce_only, tag, venue,
                            TimeInForce(time_in_force))

    def limit_order(
        self,
        market: str,
        side: Side,
        size: float,
        price: float,
        reduce_only: bool = False,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
    ) -> str:
        return self._submit(OrderType.LIMIT, market, side, size, positive("price", price),
                            reduce_only, tag, venue, TimeInForce.GTC)

    def stop_order(
        self,
        market: str,
        side: Side,
        size: float,
        trigger_price: float,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        reduce_only: bool = True,
    ) -> str:
        return self._submit(OrderType.STOP_LOSS, market, side, size,
                            positive("trigger_price", trigger_price), reduce_only, tag, venue,
                            TimeInForce.GTC)

    def take_profit_order(
        self,
        market: str,
        side: Side,
        size: float,
        trigger_price: float,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        reduce_only: bool = True,
    ) -> str:
        return self._submit(OrderType.TAKE_PROFIT, market, side, size,
                            positive("trigger_price", trigger_price), reduce_only, tag, venue,
                            TimeInForce.GTC)

    def _submit(self, kind: OrderType, market: str, side: Side, size: float, price: float,
                reduce_only: bool, tag: str, venue: str, tif: TimeInForce) -> str:
        market, side = market_name(market), _as_side(side)
        size, reduce_only = positive("size", size), bool(reduce_only)
        intent = OrderIntent(market, side, size, kind, price, reduce_only, self.venue)
        tracker = self.tracker
        with tracker.lock:
            decision = self._precheck(intent, venue)
            if decision is None:
                decision = self.risk.check(intent, self._risk_view(exclude=None))
            self._numbers += 1
            cid = self.adapter.new_client_id(self.session, self._numbers)
            order = TrackedOrder(cid, market, side, kind, size, price, reduce_only, tif,
                                 str(tag), created_ts=self.clock())
            if not decision.accepted:
                self._deny(order, decision)
                return ""
            order.resolve_after = _IN_FLIGHT
            tracker.add_intent(order, risk="accepted")  # write-ahead: before any byte
        request = OrderRequest(cid, market, side, kind, size, price, reduce_only, tif)
        if self.dry_run:
            return self._dry_run(order, request)
        try:
            report = self.adapter.place(request)
        except VenueRejected as exc:
            order.resolve_after = 0.0
            tracker.set_state(order, OrderState.FAILED, f"rejected: {exc}")
            self._warn(f"WARNING order {cid} rejected by {self.venue}: {exc}")
            return ""
        except VenueError as exc:  # ambiguous, or anything the adapter did not classify
            self._unknown(order, f"submit outcome unknown: {exc}")
            return cid
        order.resolve_after = 0.0
        self._apply(order, report)
        return cid

    def _precheck(self, intent: OrderIntent, venue: str) -> RiskDecision | None:
        """The context's own refusals (before the risk engine), or None."""
        if venue not in (DEFAULT_VENUE, self.venue):
            return RiskDecision(False, Reason.UNKNOWN_VENUE,
                                f"this context trades on {self.venue}, not {venue}")
        if not self._reconciled:
            return RiskDecision(False, Reason.NOT_RECONCILED,
                                "orders are refused until start() has reconciled with the venue")
        if self._mismatches and not intent.reduce_only:
            return RiskDecision(False, Reason.POSITION_MISMATCH,
                                "positions differ from the venue's: " + "; ".join(
                                    self._mismatches))
        return None

    def _deny(self, order: TrackedOrder, decision: RiskDecision) -> None:
        self.tracker.record(Kind.RISK, order.client_id, decision="denied",
                            reason=str(decision.reason), message=decision.message,
                            **order.fields())
        self._warn(f"WARNING order denied ({decision.reason}): {decision.message}")

    def _dry_run(self, order: TrackedOrder, request: OrderRequest) -> str:
        order.resolve_after = 0.0
        try:
            self.adapter.check_order(request)
        except VenueRejected as exc:
            self.tracker.set_state(order, OrderState.FAILED, f"dry run; the venue would "
                                   f"reject it: {exc}")
            self._warn(f"WARNING dry run: {self.venue} would reject {order.client_id}: {exc}")
            return ""
        self.tracker.set_state(order, OrderState.FAILED, "dry run: not sent")
        log.info("dry run: %s %s %g %s not sent", order.order_type, order.side, order.size,
                 order.market)
        return order.client_id

    def _unknown(self, order: TrackedOrder, reason: str) -> None:
        """The outcome is ambiguous: UNKNOWN now, resolved by a query (not a resend)."""
        order.resolve_after = self.clock() + self.adapter.ambiguity_window_s
        self.tracker.set_state(order, OrderState.UNKNOWN, reason)
        log.warning("order %s: %s; asking the venue for it", order.client_id, reason)
        self._resolve(order, self.clock())

    def _risk_view(self, exclude: str | None) -> RiskView:
        holdings = [Holding(self.venue, p.market, p.size, p.entry_price)
                    for p in self.tracker.open_positions()]
        orders = [
            OrderIntent(o.market, o.side, o.remaining, o.order_type, o.price, o.reduce_only,
                        self.venue)
            for o in self.tracker.open_orders() if o.client_id != exclude and o.remaining > 0
        ]
        return RiskView(self.clock(), self.account.equity, holdings, orders, dict(self._marks))

    def cancel(self, order_id: str) -> bool:
        order = self.tracker.orders.get(order_id)
        if order is None or not order.cancellable:
            return False
        self.tracker.record(Kind.CANCEL, order_id)
        if self.dry_run:
            log.info("dry run: cancel of %s not sent", order_id)
            return False
        try:
            report = self.adapter.cancel(order_id)
        except VenueRejected as exc:
            log.info("cancel of %s refused (%s); asking the venue for its state", order_id, exc)
            self._resolve(order, self.clock())
        except VenueError as exc:
            self._unknown(order, f"cancel outcome unknown: {exc}")
        else:
            self._apply(order, report)
        return order.state is OrderState.CANCELLED

    def cancel_all(self, market: str | None = None) -> int:
        return sum(
            self.cancel(o.client_id) for o in self.tracker.open_orders()
            if o.cancellable and (market is None or o.market == market)
        )

    def modify_order(
        self, order_id: str, new_size: float | None = None, new_price: float | None = None
    ) -> str:
        """Amend a resting order's size and/or price (risk-checked like a new order);
        the order id, or "" when refused."""
        order = self.tracker.orders.get(order_id)
        if order is None or not order.cancellable or order.state is OrderState.UNKNOWN:
            return ""
        size = order.size if new_size is None else positive("new_size", new_size)
        price = order.price if new_price is None else positive("new_price", new_price)
        intent = OrderIntent(order.market, order.side, size - order.filled_size,
                             order.order_type, price, order.reduce_only, self.venue)
        with self.tracker.lock:
            decision = self._precheck(intent, DEFAULT_VENUE) or self.risk.check(
                intent, self._risk_view(exclude=order_id))
            if not decision.accepted:
                self._deny(order, decision)
                return ""
            self.tracker.record(Kind.AMEND, order_id, size=size, price=price)
        if self.dry_run:
            return ""
        try:
            report = self.adapter.amend(order_id, new_size, new_price)
        except VenueRejected as exc:
            self._warn(f"WARNING amend of {order_id} refused by {self.venue}: {exc}")
            return ""
        except VenueError as exc:
            self._unknown(order, f"amend outcome unknown: {exc}")
            return order_id
        self._apply(order, report)
        return order_id

    # Kill switch and trading state

    def kill(self, message: str) -> None:
        """The kill switch: HALTED, cancel every resting order, close every position
        with a reduce-only market order, alert."""
        self.risk.trip(TradingState.HALTED, Reason.KILL_SWITCH, message)
        self.cancel_all()
        for held in self.positions:
            self.close_position(held.market, held.venue)
        self._raise_alert("kill_switch", message)

    def resume(self) -> None:
        """Back to ACTIVE after a trip (journaled); equity guards restart from now."""
        self.risk.resume(self.account.equity, self.clock())

    def _on_trading_state(self, state: TradingState, reason: Reason, message: str) -> None:
        self.tracker.record(Kind.TRADING, None, state=state.value, reason=reason.value,
                            message=message, memory=self.risk.snapshot())
        text = f"WARNING trading {state.value} ({reason.value}): {message}"
        log.warning(text)
        self.strategy_warnings.append(text)

    def _save_risk_memory(self) -> None:
        memory = self.risk.snapshot()
        saved = self.tracker.risk_memory or {}
        if saved.get("memory") != memory:
            self.tracker.record(Kind.RISK_MEMORY, None, memory=memory)

    def _raise_alert(self, kind: str, message: str) -> None:
        if self.alert is not None:
            try:
                self.alert(kind, message)
            except Exception:
                log.exception("the %s alert could not be sent", kind)

    # Logs

    def _warn(self, text: str) -> None:
        log.warning(text)
        self.strategy_warnings.append(text)

    def log(self, message: str) -> None:
        """Keep a line ``[ts] message``; lines starting with WARNING become warnings."""
        text = str(message)
        self.logs.append(f"[{self.timestamp}] {text}")
        if text.upper().startswith("WARNING"):
            self.strategy_warnings.append(text)

    def journal_events(self) -> Sequence[dict[str, Any]]:
        """The journal's events of this account, oldest first."""
        return self.journal.events()
