"""The tests every venue adapter is held to, run against the venue's loopback fake.

A plugin wraps its fake in a :class:`VenueHarness` and subclasses the contracts::

    from flint.testing.live_contracts import (
        CrashContract, LiveContextContract, VenueAdapterContract)

    class TestMyVenueAdapter(VenueAdapterContract):
        def make_harness(self):
            return MyHarness()

    class TestMyVenueLive(LiveContextContract): ...   # same make_harness
    class TestMyVenueCrashes(CrashContract): ...

:class:`flint.testing.sim_harness.SimHarness` (the simulated venue) is the model.
Every test is bounded in time: waits poll with a deadline, never a bare sleep.
"""

import abc
import json
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flint.execution.live_base import LiveExecutionContext
from flint.execution.order_tracker import EXTERNAL, SIZE_TOL, STRATEGY, OrderTracker
from flint.live.adapter import (
    AmbiguousOutcome,
    OrderRequest,
    VenueAdapter,
    VenueError,
    VenueRejected,
    VenueUnavailable,
)
from flint.live.journal import OrderJournal
from flint.risk.engine import Reason, TradingState
from flint.store import FlintStore
from flint.testing.processes import wait_until
from flint_core.enums import OrderState, OrderType, Side

#: Fault kinds every harness injects, and when (before or after the venue commits).
FAULT_KINDS = ("delay", "reset", "5xx", "429", "garbage")
WHEN = ("before", "after")


class VenueHarness(abc.ABC):
    """A venue's loopback fake as the contracts drive it. Faults: ``inject(op, kind,
    when, delay_s)`` with ``op`` in submit, cancel, amend, read; ``kind`` in
    :data:`FAULT_KINDS`; ``when`` before (the venue never processes the command, or
    processes it ``delay_s`` late) or after (it did; the reply is lost or broken)."""

    venue: ClassVar[str]
    market: ClassVar[str]
    #: The market's mark when the harness starts.
    price: ClassVar[float]
    #: Client timeout of the adapters it builds (delays are longer than this).
    timeout_s: float

    @abc.abstractmethod
    def adapter(self, **options: Any) -> VenueAdapter:
        """A new adapter for the fake (``options`` override the harness's)."""

    @abc.abstractmethod
    def adapter_spec(self, **options: Any) -> dict[str, Any]:
        """``{"factory": "module:callable", "kwargs": {...}}`` building the same adapter
        in another process, its keys read from :meth:`env`."""

    @abc.abstractmethod
    def env(self) -> dict[str, str]:
        """Environment variables holding the adapter's keys."""

    @abc.abstractmethod
    def secret_values(self) -> tuple[str, ...]:
        """Every key value (none may ever show in a log, the journal or an error)."""

    @abc.abstractmethod
    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        """Fail the next ``op`` request (see the class doc)."""

    @abc.abstractmethod
    def set_mark(self, market: str, price: float) -> None:
        """Move the mark (resting orders it reaches fill)."""

    @abc.abstractmethod
    def fill(self, client_id: str, size: float | None = None) -> None:
        """Fill (part of) a resting order."""

    @abc.abstractmethod
    def place_external(self, market: str, side: str, size: float, price: float) -> str:
        """Rest a limit order placed outside flint (``side``: buy/sell); its client id."""

    @abc.abstractmethod
    def close_by_hand(self, market: str) -> None:
        """Close the position with a market order placed outside flint."""

    @abc.abstractmethod
    def set_position(self, market: str, size: float, entry_price: float) -> None:
        """Change a position without any fill."""

    @abc.abstractmethod
    def venue_orders(self) -> dict[str, tuple[OrderState, float]]:
        """``{client_id: (state, filled size)}`` of every order the venue ever took."""

    @abc.abstractmethod
    def venue_position(self, market: str) -> float:
        """The signed position of ``market``."""

    @abc.abstractmethod
    def submissions(self, client_id: str | None = None) -> int:
        """How many order submissions reached the venue (processed or not)."""

    def close(self) -> None:  # noqa: B027 (optional)
        """Stop the fake."""


def differences(tracker: OrderTracker, harness: VenueHarness) -> list[str]:
    """Where the journal (replayed into ``tracker``) and the venue disagree."""
    venue = harness.venue_orders()
    out = []
    for cid, order in tracker.orders.items():
        there = venue.get(cid)
        if there is None:
            if order.state is not OrderState.FAILED:
                out.append(f"{cid}: journal {order.state}, unknown at the venue")
            continue
        state, filled = there
        if order.state is not state or abs(order.filled_size - filled) > SIZE_TOL:
            out.append(f"{cid}: journal {order.state} {order.filled_size:g}, venue {state} "
                       f"{filled:g}")
    for cid, (state, _) in venue.items():
        if cid not in tracker.orders and state in (OrderState.CONFIRMED,
                                                   OrderState.PARTIALLY_FILLED):
            out.append(f"{cid}: open at the venue, not in the journal")
    ours, theirs = tracker.position_size(harness.market), harness.venue_position(harness.market)
    if abs(ours - theirs) > SIZE_TOL:
        out.append(f"position: journal {ours:g}, venue {theirs:g}")
    return out


def replay(store: FlintStore, account: str) -> OrderTracker:
    """The journal of ``account`` replayed (what a restart would know)."""
    tracker = OrderTracker(OrderJournal(store, account))
    tracker.load()
    return tracker


class _HarnessFixture:
    """``harness`` fixture from the subclass's :meth:`make_harness`."""

    def make_harness(self) -> VenueHarness:
        raise NotImplementedError("return the venue's harness")

    @pytest.fixture
    def harness(self) -> Iterator[VenueHarness]:
        made = self.make_harness()
        try:
            yield made
        finally:
            made.close()


def _limit_below(harness: VenueHarness, size: float = 1.0) -> OrderRequest:
    return OrderRequest(f"ct-{time.time_ns()}", harness.market, Side.LONG, OrderType.LIMIT,
                        size, round(harness.price * 0.9, 2))


class VenueAdapterContract(_HarnessFixture):
    """The adapter speaks the venue correctly and classifies every failure."""

    def test_place_query_cancel_round_trip(self, harness: VenueHarness) -> None:
        adapter = harness.adapter()
        request = _limit_below(harness)
        placed = adapter.place(request)
        assert placed.client_id == request.client_id and placed.state is OrderState.CONFIRMED
        assert adapter.order_status(request.client_id) == placed
        assert request.client_id in {o.client_id for o in adapter.open_orders()}
        cancelled = adapter.cancel(request.client_id)
        assert cancelled.state is OrderState.CANCELLED
        with pytest.raises(VenueRejected):
            adapter.cancel(request.client_id)
        assert adapter.order_status("never-placed") is None

    def test_fills_positions_balances_and_events(self, harness: VenueHarness) -> None:
        adapter = harness.adapter()
        head = adapter.events("", 0.0)
        assert head.orders == () and head.fills == ()
        start = time.time() - 1
        request = OrderRequest(f"ct-{time.time_ns()}", harness.market, Side.LONG,
                               OrderType.MARKET, 2.0)
        placed = adapter.place(request)
        assert placed.state is OrderState.FILLED
        fills = [f for f in adapter.fills_since(start) if f.client_id == request.client_id]
        assert sum(f.size for f in fills) == pytest.approx(2.0)
        assert len({f.trade_id for f in fills}) == len(fills)
        held = {p.market: p.size for p in adapter.positions()}
        assert held[harness.market] == pytest.approx(2.0)
        assert adapter.quote_asset in {b.asset for b in adapter.balances()}
        batch = adapter.events(head.cursor, 2.0)
        assert {f.trade_id for f in batch.fills} >= {f.trade_id for f in fills}
        assert batch.cursor and batch.cursor != head.cursor

    def test_refusals_are_rejections(self, harness: VenueHarness) -> None:
        adapter = harness.adapter()
        close = OrderRequest(f"ct-{time.time_ns()}", harness.market, Side.SHORT,
                             OrderType.MARKET, 1.0, reduce_only=True)
        with pytest.raises(VenueRejected):
            adapter.place(close)  # nothing to reduce

    @pytest.mark.parametrize("kind", FAULT_KINDS)
    def test_ambiguous_replies_are_never_rejections(self, harness: VenueHarness,
                                                    kind: str) -> None:
        adapter = harness.adapter()
        harness.inject("submit", kind, "after", delay_s=harness.timeout_s * 3)
        with pytest.raises(AmbiguousOutcome):
            adapter.place(_limit_below(harness))
        harness.inject("read", kind, "after", delay_s=harness.timeout_s * 3)
        with pytest.raises(VenueUnavailable):
            adapter.open_orders()


class LiveContextContract(_HarnessFixture):
    """The live context over this venue: ambiguity resolved by query, never resent;
    fills booked once; reconciliation; risk states; dry run."""

    def context(self, harness: VenueHarness, store: FlintStore,
                **options: Any) -> LiveExecutionContext:
        ctx = LiveExecutionContext(harness.adapter(), store, poll_interval_s=0.05,
                                   reconcile_interval_s=3600, **options)
        ctx.start(background=False)
        return ctx

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FlintStore]:
        with FlintStore(tmp_path / "live.duckdb") as opened:
            yield opened

    def settle(self, ctx: LiveExecutionContext, harness: VenueHarness) -> None:
        """Sync until no order is in doubt (bounded by the ambiguity window)."""
        assert wait_until(lambda: not any(o.state is OrderState.UNKNOWN or not o.acked
                                          for o in ctx.tracker.open_orders()),
                          ctx.adapter.ambiguity_window_s + 3.0, between=ctx.sync), \
            "orders still in doubt"

    @pytest.mark.parametrize("when", WHEN)
    @pytest.mark.parametrize("kind", FAULT_KINDS)
    def test_ambiguous_submit_ends_with_one_order(self, harness: VenueHarness,
                                                  store: FlintStore, kind: str,
                                                  when: str) -> None:
        ctx = self.context(harness, store)
        harness.inject("submit", kind, when, delay_s=harness.timeout_s * 2)
        cid = ctx.limit_order(harness.market, Side.LONG, 1.0, harness.price * 0.9)
        assert cid, ctx.strategy_warnings
        self.settle(ctx, harness)
        arrived = when == "after" or kind == "delay"  # a delayed command arrives late
        assert harness.submissions(cid) == 1
        assert (cid in harness.venue_orders()) is arrived
        assert ctx.order(cid).state is (OrderState.CONFIRMED if arrived else OrderState.FAILED)
        assert differences(replay(store, ctx.journal.account), harness) == []
        ctx.stop()

    @pytest.mark.parametrize("when", WHEN)
    @pytest.mark.parametrize("kind", FAULT_KINDS)
    def test_ambiguous_cancel_ends_with_one_order(self, harness: VenueHarness,
                                                  store: FlintStore, kind: str,
                                                  when: str) -> None:
        ctx = self.context(harness, store)
        cid = ctx.limit_order(harness.market, Side.LONG, 1.0, harness.price * 0.9)
        harness.inject("cancel", kind, when, delay_s=harness.timeout_s * 2)
        ctx.cancel(cid)
        self.settle(ctx, harness)
        cancelled = when == "after" or kind == "delay"
        assert wait_until(lambda: (harness.venue_orders()[cid][0] is OrderState.CANCELLED)
                          is cancelled, 5.0), "the venue's state"
        assert wait_until(lambda: ctx.order(cid).state is harness.venue_orders()[cid][0], 5.0,
                          between=ctx.sync), "the journal never matched the venue"
        assert harness.submissions(cid) == 1 and len(harness.venue_orders()) == 1
        assert differences(replay(store, ctx.journal.account), harness) == []
        ctx.stop()

    def test_a_fill_delivered_twice_is_booked_once(self, harness: VenueHarness,
                                                   store: FlintStore) -> None:
        ctx = self.context(harness, store)
        cid = ctx.limit_order(harness.market, Side.LONG, 2.0, harness.price * 0.9)
        harness.fill(cid, 1.0)
        assert wait_until(lambda: ctx.order(cid).filled_size > 0, 5.0, between=ctx.sync), \
            "no fill"
        booked = len(ctx.journal.fills())
        ctx.reconcile()  # reads every fill again
        ctx.reconcile()
        assert len(ctx.journal.fills()) == booked == 1
        assert ctx.order(cid).state is OrderState.PARTIALLY_FILLED
        assert ctx.position(harness.market).size == pytest.approx(1.0)
        ctx.stop()

    def test_reconciliation_adopts_external_orders_and_is_idempotent(
        self, harness: VenueHarness, store: FlintStore
    ) -> None:
        external = harness.place_external(harness.market, "sell", 1.0, harness.price * 1.1)
        ctx = self.context(harness, store)
        order = ctx.order(external)
        assert order is not None and order.origin == EXTERNAL
        assert order.state is OrderState.CONFIRMED
        events = len(ctx.journal_events())
        ctx.reconcile()
        ctx.reconcile()
        assert len(ctx.journal_events()) == events
        assert harness.venue_orders()[external][0] is OrderState.CONFIRMED  # left alone
        ctx.stop()

    def test_a_position_mismatch_blocks_new_exposure_until_adopted(
        self, harness: VenueHarness, store: FlintStore
    ) -> None:
        harness.set_position(harness.market, 3.0, harness.price)
        ctx = self.context(harness, store)
        assert ctx.mismatches
        assert ctx.market_order(harness.market, Side.LONG, 1.0) == ""
        assert any("POSITION_MISMATCH" in w for w in ctx.strategy_warnings)
        assert harness.submissions() == 0
        ctx.stop()
        adopted = self.context(harness, store, adopt_venue_positions=True)
        assert not adopted.mismatches
        assert adopted.position(harness.market).size == pytest.approx(3.0)
        assert adopted.close_position(harness.market)
        assert harness.venue_position(harness.market) == pytest.approx(0.0)
        adopted.stop()

    def test_nothing_is_sent_before_reconciliation(self, harness: VenueHarness,
                                                   store: FlintStore) -> None:
        ctx = LiveExecutionContext(harness.adapter(), store)
        assert ctx.market_order(harness.market, Side.LONG, 1.0) == ""
        assert any("NOT_RECONCILED" in w for w in ctx.strategy_warnings)
        assert harness.submissions() == 0

    def test_dry_run_sends_nothing(self, harness: VenueHarness, store: FlintStore) -> None:
        ctx = self.context(harness, store, dry_run=True)
        cid = ctx.market_order(harness.market, Side.LONG, 1.0)
        lid = ctx.limit_order(harness.market, Side.SHORT, 1.0, harness.price * 1.02)
        assert cid and lid and harness.submissions() == 0
        assert ctx.order(cid).state is OrderState.FAILED and "dry run" in ctx.order(cid).reason
        assert not ctx.cancel(lid)
        ctx.stop()

    @pytest.mark.parametrize("state", list(TradingState))
    def test_cancels_and_reduce_only_closes_pass_in_every_state(
        self, harness: VenueHarness, store: FlintStore, state: TradingState
    ) -> None:
        ctx = self.context(harness, store)
        ctx.market_order(harness.market, Side.LONG, 2.0)
        resting = ctx.limit_order(harness.market, Side.LONG, 1.0, harness.price * 0.9)
        ctx.risk.trip(state, Reason.MANUAL, "test")
        assert ctx.cancel(resting)
        closing = ctx.close_position(harness.market)
        assert closing and ctx.order(closing).state is OrderState.FILLED
        assert harness.venue_position(harness.market) == pytest.approx(0.0)
        if state is not TradingState.ACTIVE:
            assert ctx.market_order(harness.market, Side.LONG, 1.0) == ""
        ctx.stop()

    def test_kill_switch_flattens_and_stays_halted_across_restarts(
        self, harness: VenueHarness, store: FlintStore
    ) -> None:
        alerts: list[tuple[str, str]] = []
        ctx = self.context(harness, store, alert=lambda *a: alerts.append(a))
        ctx.market_order(harness.market, Side.LONG, 2.0)
        resting = ctx.limit_order(harness.market, Side.LONG, 1.0, harness.price * 0.9)
        ctx.kill("drawdown test")
        assert ctx.trading_state is TradingState.HALTED
        assert harness.venue_orders()[resting][0] is OrderState.CANCELLED
        assert harness.venue_position(harness.market) == pytest.approx(0.0)
        assert [a[0] for a in alerts] == ["kill_switch"]
        ctx.stop()
        again = self.context(harness, store)
        assert again.trading_state is TradingState.HALTED
        assert again.market_order(harness.market, Side.LONG, 1.0) == ""
        again.resume()
        assert again.market_order(harness.market, Side.LONG, 1.0)
        again.stop()
        assert self.context(harness, store).trading_state is TradingState.ACTIVE

    def test_keys_never_show_in_logs_journal_or_errors(
        self, harness: VenueHarness, store: FlintStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        texts: list[str] = []
        ctx = self.context(harness, store)
        adapter = harness.adapter()
        for kind in FAULT_KINDS:
            for op in ("submit", "cancel", "read"):
                harness.inject(op, kind, "after", delay_s=harness.timeout_s * 2)
                try:
                    if op == "submit":
                        adapter.place(_limit_below(harness))
                    elif op == "cancel":
                        adapter.cancel(adapter.place(_limit_below(harness)).client_id)
                    else:
                        adapter.positions()
                except VenueError as exc:
                    texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            harness.inject("submit", kind, "after", delay_s=harness.timeout_s * 2)
            ctx.limit_order(harness.market, Side.LONG, 1.0, harness.price * 0.9)
        self.settle(ctx, harness)
        texts += [repr(adapter), str(vars(adapter))]
        texts += [r.getMessage() for r in caplog.records]
        texts += [json.dumps(e, default=str) for e in ctx.journal_events()]
        texts += [json.dumps(f, default=str) for f in ctx.journal.fills()]
        ctx.stop()
        for secret in harness.secret_values():
            leaks = [t for t in texts if secret in t]
            assert not leaks, f"a key shows in: {leaks[0][:200]}"


class CrashContract(_HarnessFixture):
    """``kill -9`` of a process running the live context, at every dangerous point;
    after a restart the journal equals the venue, no order was sent twice and none
    before reconciliation finished."""

    account = "crash"

    def spawn(self, tmp_path: Path, harness: VenueHarness, name: str,
              script: list[dict[str, Any]], **adapter_options: Any) -> "Worker":
        config = {
            "db": str(tmp_path / "live.duckdb"), "account": self.account,
            "adapter": harness.adapter_spec(**adapter_options),
            "status": str(tmp_path / f"{name}.jsonl"), "script": script,
        }
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        env = {**os.environ, **harness.env()}
        process = subprocess.Popen([sys.executable, "-m", "flint.testing.live_worker", str(path)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return Worker(process, Path(config["status"]))

    def order(self, harness: VenueHarness, side: str = "long",
              kind: str = "limit") -> dict[str, Any]:
        price = harness.price * (0.9 if side == "long" else 1.1)
        return {"op": kind, "side": side, "size": 2.0, "price": round(price, 2),
                "market": harness.market}

    def restart_and_check(self, tmp_path: Path, harness: VenueHarness) -> OrderTracker:
        """Restart, place one order, settle, reconcile twice; check everything."""
        worker = self.spawn(tmp_path, harness, "restart", [
            self.order(harness), {"op": "settle", "timeout_s": 15}, {"op": "reconcile"},
        ])
        done = worker.wait_for("done", 60)
        reconciled = worker.event("reconciled")
        assert reconciled["before"] == reconciled["after"], "reconciliation added events"
        placed = worker.event("placed")["client_id"]
        log = [e["event"] if e["event"] != "call" else e["method"] for e in worker.events()]
        started = log.index("started")
        assert {"open_orders", "positions"} <= set(log[:started]), "start() did not reconcile"
        assert "place" not in log[:started] and "place" in log[started:], (
            "an order was sent before reconciliation finished")
        assert done is not None
        with FlintStore(tmp_path / "live.duckdb") as store:
            tracker = replay(store, self.account)
        assert differences(tracker, harness) == []
        for cid, order in tracker.orders.items():
            assert harness.submissions(cid) <= 1, f"{cid} was sent twice"
            if order.origin != EXTERNAL:
                assert cid not in harness.venue_orders() or harness.submissions(cid) == 1
        assert harness.submissions(placed) == 1
        return tracker

    def test_kill_between_journal_commit_and_send(self, tmp_path: Path,
                                                  harness: VenueHarness) -> None:
        worker = self.spawn(tmp_path, harness, "first",
                            [{"op": "pause_before_send"}, self.order(harness)])
        cid = worker.wait_for("paused", 30)["client_id"]
        worker.kill()
        assert harness.submissions(cid) == 0
        tracker = self.restart_and_check(tmp_path, harness)
        assert tracker.orders[cid].state is OrderState.FAILED
        assert harness.submissions(cid) == 0

    def test_kill_between_send_and_reply(self, tmp_path: Path, harness: VenueHarness) -> None:
        harness.inject("submit", "delay", "after", delay_s=30.0)
        worker = self.spawn(tmp_path, harness, "first",
                            [{"op": "announce_send"}, self.order(harness)], timeout_s=60.0)
        cid = worker.wait_for("sending", 30)["client_id"]
        assert wait_until(lambda: cid in harness.venue_orders(), 10), "the venue never took it"
        worker.kill()
        tracker = self.restart_and_check(tmp_path, harness)
        assert tracker.orders[cid].state is OrderState.CONFIRMED
        assert tracker.orders[cid].origin == STRATEGY  # journaled before it was sent

    def _first(self, tmp_path: Path, harness: VenueHarness,
               *orders: dict[str, Any]) -> tuple["Worker", list[str]]:
        worker = self.spawn(tmp_path, harness, "first", [*orders, {"op": "idle"}])
        worker.wait_for("idle", 30)
        return worker, [e["client_id"] for e in worker.events() if e["event"] == "placed"]

    def test_kill_with_a_resting_order(self, tmp_path: Path, harness: VenueHarness) -> None:
        worker, (cid,) = self._first(tmp_path, harness, self.order(harness))
        worker.kill()
        assert self.restart_and_check(tmp_path, harness).orders[cid].state is (
            OrderState.CONFIRMED)

    def test_kill_after_a_partial_fill(self, tmp_path: Path, harness: VenueHarness) -> None:
        worker, (cid,) = self._first(tmp_path, harness, self.order(harness))
        harness.fill(cid, 0.5)
        worker.kill()
        order = self.restart_and_check(tmp_path, harness).orders[cid]
        assert order.state is OrderState.PARTIALLY_FILLED
        assert order.filled_size == pytest.approx(0.5)

    def test_fill_while_down(self, tmp_path: Path, harness: VenueHarness) -> None:
        worker, (cid,) = self._first(tmp_path, harness, self.order(harness))
        worker.kill()
        harness.fill(cid)
        tracker = self.restart_and_check(tmp_path, harness)
        assert tracker.orders[cid].state is OrderState.FILLED
        assert tracker.position_size(harness.market) == pytest.approx(2.0)

    def test_manual_close_while_down(self, tmp_path: Path, harness: VenueHarness) -> None:
        worker, _ = self._first(tmp_path, harness, self.order(harness, kind="market"))
        worker.kill()
        harness.close_by_hand(harness.market)
        tracker = self.restart_and_check(tmp_path, harness)
        assert tracker.position_size(harness.market) == pytest.approx(0.0)

    def test_external_order_while_down(self, tmp_path: Path, harness: VenueHarness) -> None:
        worker, _ = self._first(tmp_path, harness)
        worker.kill()
        external = harness.place_external(harness.market, "sell", 1.0, harness.price * 1.2)
        tracker = self.restart_and_check(tmp_path, harness)
        assert tracker.orders[external].origin == EXTERNAL
        assert harness.venue_orders()[external][0] is OrderState.CONFIRMED


class Worker:
    """A live worker process (:mod:`flint.testing.live_worker`) and its status lines."""

    def __init__(self, process: "subprocess.Popen[bytes]", status: Path) -> None:
        self.process, self.status = process, status

    def events(self) -> list[dict[str, Any]]:
        """The status lines written so far."""
        if not self.status.exists():
            return []
        lines = self.status.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def event(self, name: str) -> dict[str, Any]:
        """The first status line ``name``."""
        return next(e for e in self.events() if e["event"] == name)

    def wait_for(self, name: str, timeout_s: float) -> dict[str, Any]:
        """Wait for status ``name`` (failing with the worker's stderr if it died)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["event"] == name]
            if found:
                return found[0]
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
        raise AssertionError(f"worker never reported {name!r}; stderr:\n{stderr[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
