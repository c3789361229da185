"""The live core's parts: journal tables, order tracker rules, credentials, risk in the
live context, amend, the kill switch monitor. (The contract kit runs in
test_live_sim_contract.py.)"""

import logging
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring.backend import KeyringBackend

from flint.execution.live_base import LiveExecutionContext
from flint.execution.order_tracker import OrderTracker, TrackedOrder
from flint.live.adapter import (
    AmbiguousOutcome,
    OrderRequest,
    VenueError,
    VenueFill,
    VenueOrder,
)
from flint.live.credentials import CredentialError, Secret, load_secret
from flint.live.journal import Kind, OrderJournal
from flint.risk import (
    EquityMonitor,
    MaxNotionalPerOrder,
    MaxPositionSize,
    PriceBand,
    Reason,
    RiskEngine,
    TradingState,
)
from flint.store import FlintStore
from flint.testing.live_contracts import differences, replay
from flint.testing.sim_adapter import Connections, SimAdapter
from flint.testing.sim_harness import SimHarness
from flint_core.enums import OrderState, OrderType, Side

LONG, SHORT = Side.LONG, Side.SHORT


@pytest.fixture
def harness() -> Iterator[SimHarness]:
    made = SimHarness()
    yield made
    made.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FlintStore]:
    with FlintStore(tmp_path / "live.duckdb") as opened:
        yield opened


def started(harness: SimHarness, store: FlintStore, **options) -> LiveExecutionContext:
    ctx = LiveExecutionContext(harness.adapter(), store, reconcile_interval_s=3600, **options)
    ctx.start(background=False)
    return ctx


# Journal and store


def fill(trade: str, cid: str, size: float, price: float = 100.0) -> VenueFill:
    return VenueFill(trade, cid, "SOL-PERP", LONG, price, size, 0.0, 1.0)


def test_the_journal_tables_come_with_the_schema_and_refuse_a_trade_id_twice(store):
    journal = OrderJournal(store, "acct")
    event = (1, "acct", 0.0, "state", "c1", "filled", "{}")
    assert journal.append([], fill("T1", "c1", 1.0))
    assert not store.append_live_events([event], (
        "acct", "T1", 9, "c1", "SOL-PERP", "long", 100.0, 1.0, 0.0, 1.0, False))
    assert store.live_events("acct") == []  # nothing of the refused batch was written
    assert [f["trade_id"] for f in store.live_fills("acct")] == ["T1"]


@pytest.mark.parametrize("read_first", [True, False])
def test_a_trade_id_booked_before_a_reopen_is_refused_after_it(tmp_path, read_first):
    """Whether the account's fills were read first (a context's start does) or not, a
    fill journaled by an earlier opening of the store is booked once, and so is one
    booked while the fills were read."""
    path = tmp_path / "s.duckdb"
    with FlintStore(path) as store:
        assert OrderJournal(store, "acct").append([], fill("T1", "c1", 1.0))
    with FlintStore(path) as store:
        journal = OrderJournal(store, "acct")
        if read_first:
            assert [f["trade_id"] for f in journal.fills()] == ["T1"]
        assert not journal.append([], fill("T1", "c1", 1.0))
        assert journal.append([], fill("T2", "c1", 1.0))
        assert not journal.append([], fill("T2", "c1", 1.0))
        assert [f["trade_id"] for f in journal.fills()] == ["T1", "T2"]


def test_a_held_store_is_shared_by_threads(tmp_path):
    with FlintStore(tmp_path / "s.duckdb") as store, store.hold_open():
        journal = OrderJournal(store, "acct")
        writers = [threading.Thread(target=journal.append, args=([],),
                                    kwargs={"fill": fill(f"T{i}", "c", 1.0)}) for i in range(8)]
        for w in writers:
            w.start()
        for w in writers:
            w.join(timeout=10)
        assert len(journal.fills()) == 8


# Tracker rules


def tracker_with_order(store: FlintStore, size: float = 2.0) -> tuple[OrderTracker, TrackedOrder]:
    tracker = OrderTracker(OrderJournal(store, "acct"))
    order = TrackedOrder("c1", "SOL-PERP", LONG, OrderType.LIMIT, size, 95.0)
    tracker.add_intent(order)
    return tracker, order


def report(state: OrderState, filled: float = 0.0, size: float = 2.0) -> VenueOrder:
    return VenueOrder("c1", "SOL-PERP", LONG, OrderType.LIMIT, size, state, 95.0, filled)


def test_a_fill_is_booked_once_and_an_overfill_is_refused_and_logged(store, caplog):
    tracker, order = tracker_with_order(store)
    warnings: list[str] = []
    tracker.on_warning = warnings.append
    assert tracker.book_fill(fill("T1", "c1", 1.5))
    assert not tracker.book_fill(fill("T1", "c1", 1.5))
    assert not tracker.book_fill(fill("T2", "c1", 1.0))  # 2.5 > 2.0
    assert not tracker.book_fill(fill("T2", "c1", 1.0))  # refused once, logged once
    assert order.filled_size == 1.5 and order.state is OrderState.PARTIALLY_FILLED
    assert tracker.position_size("SOL-PERP") == 1.5
    kinds = [e["kind"] for e in tracker.journal.events()]
    assert kinds.count("overfill") == 1 and len(warnings) == 1
    assert "overfill" in caplog.text


def test_reports_never_move_an_order_backwards_and_the_venue_overrides_assumptions(store):
    tracker, order = tracker_with_order(store)
    tracker.apply_report(order, report(OrderState.CONFIRMED))
    tracker.book_fill(fill("T1", "c1", 2.0))
    tracker.apply_report(order, report(OrderState.CONFIRMED))  # stale
    assert order.state is OrderState.FILLED
    other = TrackedOrder("c2", "SOL-PERP", LONG, OrderType.LIMIT, 1.0, 95.0)
    tracker.add_intent(other)
    tracker.set_state(other, OrderState.FAILED, "never arrived")
    tracker.apply_report(other, VenueOrder("c2", "SOL-PERP", LONG, OrderType.LIMIT, 1.0,
                                           OrderState.CONFIRMED))
    assert other.state is OrderState.CONFIRMED


def test_a_filled_report_without_its_fills_asks_for_them(store):
    tracker, order = tracker_with_order(store)
    assert tracker.apply_report(order, report(OrderState.FILLED, 2.0))
    assert order.state is OrderState.CONFIRMED
    assert not tracker.apply_report(order, report(OrderState.FILLED, 2.0), missing_fills_ok=True)
    assert order.state is OrderState.FILLED


def test_the_journal_replays_into_the_same_state(store):
    tracker, order = tracker_with_order(store)
    tracker.apply_report(order, report(OrderState.CONFIRMED))
    tracker.book_fill(fill("T1", "c1", 0.5, 96.0))
    tracker.book_fill(VenueFill("T9", "web-1", "SOL-PERP", SHORT, 101.0, 0.2, 0.0, 2.0))
    tracker.record(Kind.TRADING, None, state="reducing", memory={"state": "reducing"})
    again = OrderTracker(OrderJournal(store, "acct"))
    again.load()
    assert again.orders == tracker.orders
    assert again.positions == tracker.positions
    assert again.trade_ids == tracker.trade_ids == {"T1", "T9"}
    assert again.risk_memory == tracker.risk_memory


def test_an_external_order_fills_as_the_venue_reports_it(store, harness):
    external = harness.place_external("SOL-PERP", "sell", 1.0, 101.0)
    harness.fill(external, 0.3)
    ctx = started(harness, store, adopt_venue_positions=True)
    assert ctx.order(external).filled_size == pytest.approx(0.3)
    harness.fill(external, 0.2)
    ctx.sync()
    assert ctx.order(external).filled_size == pytest.approx(0.5)
    assert ctx.position("SOL-PERP").size == pytest.approx(0.5)
    assert differences(ctx.tracker, harness) == []
    ctx.stop()
    again = replay(store, ctx.journal.account)
    assert again.orders[external].filled_size == pytest.approx(0.5)
    assert differences(again, harness) == []


# Credentials


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.values.get((service, username))

    def set_password(self, service, username, password):
        self.values[(service, username)] = password

    def delete_password(self, service, username):
        self.values.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keys_come_from_the_environment_then_the_keyring(memory_keyring):
    assert load_secret("FLINT_X_KEY", environ={"FLINT_X_KEY": "from-env"}).reveal() == "from-env"
    memory_keyring.set_password("flint", "FLINT_X_KEY", "from-keyring")
    assert load_secret("FLINT_X_KEY", environ={}).reveal() == "from-keyring"
    with pytest.raises(CredentialError, match=r"FLINT_Y_KEY.*keyring set flint FLINT_Y_KEY"):
        load_secret("FLINT_Y_KEY", environ={})


def test_a_secret_never_shows_its_value():
    secret = Secret("FLINT_X_KEY", "hunter2")
    shown = [str(secret), repr(secret), f"{secret}", str([secret]), str({"key": secret})]
    assert not any("hunter2" in s for s in shown)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_the_sim_adapter_reads_its_keys_from_the_environment(harness, monkeypatch):
    for name, value in harness.env().items():
        monkeypatch.setenv(name, value)
    adapter = SimAdapter(harness.sim.url, timeout_s=1.0)
    assert adapter.balances()[0].asset == "USD"


def test_a_late_reply_is_never_read_as_the_next_requests(harness):
    """A submit whose reply comes after the timeout is ambiguous; the reply that comes
    later must not be taken for the answer to the next request on that thread."""
    adapter = harness.adapter(timeout_s=0.3)
    harness.inject("submit", "delay", when="after", delay_s=0.6)
    first = OrderRequest("late-1", harness.market, LONG, OrderType.MARKET, 1.0)
    with pytest.raises(AmbiguousOutcome, match="timeout"):
        adapter.place(first)
    assert adapter.order_status("never-sent") is None  # not the late reply's order
    threading.Event().wait(0.5)  # the late reply arrives meanwhile
    assert adapter.order_status("late-1").state is OrderState.FILLED
    second = adapter.place(OrderRequest("next-1", harness.market, SHORT, OrderType.MARKET, 1.0))
    assert (second.client_id, second.side) == ("next-1", SHORT)
    assert [o["client_id"] for o in harness.sim.submissions()] == ["late-1", "next-1"]
    adapter.close()


def test_a_connection_the_venue_closed_while_idle_is_replaced_before_a_write():
    """A keep-alive connection the venue closed while it was idle is noticed before a
    request is written on it (written into the dead socket, an order would have an
    ambiguous outcome); the request goes on a new connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve() -> None:  # answers one request a connection, then closes it, keep-alive or not
        for _ in range(2):
            conn, _ = listener.accept()
            accepted.append(conn.recv(65536).split(b"\r\n", 1)[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            conn.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    wire = Connections(f"http://127.0.0.1:{listener.getsockname()[1]}", 1.0)
    try:
        assert wire.exchange("GET", "/a", "", b"", 1.0) == (200, b"{}")
        threading.Event().wait(0.2)  # the venue has closed it by now
        assert wire.exchange("POST", "/b", "", b"{}", 1.0) == (200, b"{}")
    finally:
        wire.close()
        listener.close()
    server.join(1.0)
    assert accepted == [b"GET /a HTTP/1.1", b"POST /b HTTP/1.1"]


# The live context


def test_a_venue_that_cannot_be_read_stops_the_start(store, harness):
    adapter = harness.adapter(timeout_s=0.2)
    harness.close()
    ctx = LiveExecutionContext(adapter, store)
    with pytest.raises(VenueError):
        ctx.start(background=False)
    assert not ctx.reconciled
    assert ctx.market_order("SOL-PERP", LONG, 1.0) == ""


class RacingAdapter(SimAdapter):
    """The sim adapter, with ``race`` run after it has read the venue's positions and
    before it returns them (an order filling meanwhile makes them stale)."""

    race = None

    def positions(self):
        seen = super().positions()
        if self.race is not None:
            self.race()
        return seen


def test_an_order_racing_the_position_read_is_no_mismatch(store, harness, caplog,
                                                          monkeypatch):
    """A position read that an order overtook differs from the journal: neither an
    error nor a block; a real difference is both."""
    for name, value in harness.env().items():
        monkeypatch.setenv(name, value)
    adapter = RacingAdapter(harness.sim.url)
    ctx = LiveExecutionContext(adapter, store, reconcile_interval_s=3600)
    ctx.start(background=False)
    ctx.set_mark(harness.market, harness.price)

    def order_meanwhile() -> None:
        adapter.race = None
        placing = threading.Thread(target=ctx.market_order, args=(harness.market, LONG, 2.0))
        placing.start()
        placing.join()

    adapter.race = order_meanwhile
    with caplog.at_level(logging.ERROR, logger="flint.live"):
        ctx.reconcile()
    assert ctx.position(harness.market).size == pytest.approx(2.0)
    assert not ctx.mismatches
    assert "position differs" not in caplog.text
    harness.set_position(harness.market, 5.0, harness.price)  # a real difference
    with caplog.at_level(logging.ERROR, logger="flint.live"):
        ctx.reconcile()
    assert ctx.mismatches
    assert "position differs from the venue's (SOL-PERP" in caplog.text
    with caplog.at_level(logging.WARNING, logger="flint.live"):
        ctx.reconcile()  # the same difference: still blocked, not logged again
        assert ctx.mismatches and caplog.text.count("position differs") == 1
        harness.set_position(harness.market, 2.0, harness.price)  # matches again
        ctx.reconcile()
    assert not ctx.mismatches
    assert "positions match the venue's again" in caplog.text
    ctx.stop()


def test_a_risk_denial_is_journaled_surfaced_and_never_sent(store, harness):
    ctx = started(harness, store, risk=RiskEngine([MaxNotionalPerOrder(500)]))
    ctx.set_mark("SOL-PERP", 100.0)
    assert ctx.market_order("SOL-PERP", LONG, 6.0) == ""
    assert harness.submissions() == 0
    denial = [e for e in ctx.journal_events() if e["kind"] == "risk"]
    assert denial[0]["detail"]["reason"] == "NOTIONAL_EXCEEDS_MAX_PER_ORDER"
    assert ctx.strategy_warnings[-1].startswith("WARNING order denied "
                                                "(NOTIONAL_EXCEEDS_MAX_PER_ORDER)")
    assert ctx.market_order("SOL-PERP", LONG, 4.0)
    ctx.stop()


def test_amend_changes_the_resting_order_and_survives_a_restart(store, harness):
    ctx = started(harness, store)
    cid = ctx.limit_order("SOL-PERP", LONG, 1.0, 90.0)
    assert ctx.modify_order(cid, new_size=2.0, new_price=91.0) == cid
    assert harness.sim.all_orders()[cid]["price"] == 91.0
    ctx.stop()
    again = started(harness, store)
    assert (again.order(cid).size, again.order(cid).price) == (2.0, 91.0)
    again.stop()


def test_the_equity_monitor_kills_a_live_context(store, harness):
    ctx = started(harness, store)
    ctx.market_order("SOL-PERP", LONG, 20.0)
    monitor = EquityMonitor(ctx, kill_switch_pct=0.1, warning_pct=0.05)
    assert not monitor.check()
    harness.set_mark("SOL-PERP", 40.0)  # equity 10_000 -> ~8_800
    ctx.reconcile()  # reads the new mark with the position
    assert monitor.check()
    assert ctx.trading_state is TradingState.HALTED
    assert harness.venue_position("SOL-PERP") == 0.0
    ctx.stop()


def test_the_event_thread_books_fills_as_they_happen(store, harness):
    ctx = LiveExecutionContext(harness.adapter(), store, poll_interval_s=0.1)
    ctx.start()
    try:
        cid = ctx.limit_order("SOL-PERP", LONG, 1.0, 99.0)
        harness.set_mark("SOL-PERP", 98.0)
        deadline = threading.Event()
        for _ in range(100):
            if ctx.order(cid).state is OrderState.FILLED:
                break
            deadline.wait(0.05)
        assert ctx.order(cid).state is OrderState.FILLED
        assert ctx.position("SOL-PERP").size == 1.0
    finally:
        ctx.stop()


# Hypothesis through the live context: what reaches the venue obeys the limits, and
# cancels and reduce-only closes pass in every trading state.

actions = st.lists(st.one_of(
    st.tuples(st.just("order"), st.sampled_from([LONG, SHORT]), st.floats(0.1, 8),
              st.sampled_from([0.0, 0.9, 0.97, 1.03, 1.2])),
    st.tuples(st.just("close")),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("trip"), st.sampled_from(list(TradingState))),
), min_size=1, max_size=12)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=actions)
def test_orders_reaching_the_venue_obey_the_limits(harness, tmp_path_factory, steps):
    harness.sim.reset(marks={"SOL-PERP": 100.0})
    logging.getLogger("flint.live").setLevel(logging.ERROR)
    path = tmp_path_factory.mktemp("h") / "live.duckdb"
    with FlintStore(path) as store:
        risk = RiskEngine([MaxNotionalPerOrder(400), MaxPositionSize(600), PriceBand(0.05)])
        ctx = started(harness, store, risk=risk)
        try:
            for step in steps:
                ctx.set_mark("SOL-PERP", 100.0)
                if step[0] == "order":
                    _, side, size, factor = step
                    if factor:
                        ctx.limit_order("SOL-PERP", side, size, 100.0 * factor)
                    else:
                        ctx.market_order("SOL-PERP", side, size)
                elif step[0] == "close":
                    if ctx.position("SOL-PERP") is not None:
                        closing = ctx.close_position("SOL-PERP")
                        assert closing and ctx.order(closing).state is OrderState.FILLED
                elif step[0] == "cancel":
                    for order in ctx.pending_orders:
                        assert ctx.cancel(order.order_id)
                        assert harness.venue_orders()[order.order_id][0] is (
                            OrderState.CANCELLED)
                else:
                    ctx.risk.trip(step[1], Reason.MANUAL, "test")
            venue = harness.sim.all_orders()
            for order in venue.values():
                if order["reduce_only"]:
                    continue
                assert order["size"] * (order["price"] or 100.0) <= 400 + 1e-6
                if order["type"] == "limit":
                    assert abs(order["price"] - 100.0) <= 5.0 + 1e-6
            assert abs(harness.venue_position("SOL-PERP")) * 100.0 <= 600 + 1e-6
            denied = {e["client_id"] for e in ctx.journal_events() if e["kind"] == "risk"}
            assert not denied & set(venue)
        finally:
            ctx.stop()
