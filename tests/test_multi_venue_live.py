"""MultiVenueLiveContext over two simulated venues on 127.0.0.1: routing, sums, outages, legs."""

from collections.abc import Iterator

import pytest

from flint.execution.live_base import LiveExecutionContext
from flint.execution.multi_venue_live import MultiVenueLiveContext
from flint.live.journal import OrderJournal
from flint.models import OrderLeg, Side
from flint.risk import MaxNotionalPerOrder, RiskEngine
from flint.store import FlintStore
from flint.testing.sim_harness import SimHarness

M = "SOL-PERP"


@pytest.fixture
def venues() -> Iterator[dict[str, SimHarness]]:
    made = {"alpha": SimHarness(), "beta": SimHarness()}
    yield made
    for harness in made.values():
        harness.close()


@pytest.fixture
def store(tmp_path) -> Iterator[FlintStore]:
    with FlintStore(tmp_path / "live.duckdb") as opened, opened.hold_open():
        yield opened


def router(venues, store, risk=None, **options) -> MultiVenueLiveContext:
    contexts = {}
    for name, harness in venues.items():
        adapter = harness.adapter()
        adapter.venue = name
        ctx = LiveExecutionContext(adapter, store, reconcile_interval_s=3600,
                                   risk=(risk or {}).get(name))
        ctx.set_mark(M, harness.price)
        contexts[name] = ctx
    multi = MultiVenueLiveContext(contexts, **options)
    for ctx in contexts.values():
        ctx.start(background=False)
    return multi


def test_orders_go_to_their_venue_and_the_account_is_the_sum(venues, store):
    ctx = router(venues, store)
    assert ctx.market_order(M, Side.LONG, 2.0, venue="beta")
    assert ctx.market_order(M, Side.SHORT, 1.0)  # no venue: the primary, alpha
    assert venues["beta"].venue_position(M) == 2.0 and venues["alpha"].venue_position(M) == -1.0
    held = {(p.venue, p.side, p.size) for p in ctx.positions}
    assert held == {("beta", Side.LONG, 2.0), ("alpha", Side.SHORT, 1.0)}
    assert ctx.total_exposure(M) == pytest.approx(1.0)
    parts = [ctx.venue_account(v) for v in ("alpha", "beta")]
    assert ctx.account.equity == pytest.approx(sum(a.equity for a in parts))
    assert ctx.venue_balances() == {"alpha": parts[0].cash, "beta": parts[1].cash}
    assert ctx.market_order(M, Side.LONG, 1.0, venue="gamma") == ""
    assert "no live context for venue 'gamma'" in ctx.strategy_warnings[-1]
    assert ctx.transfer("alpha", "beta", 100.0) is False
    assert "not executed in live trading" in ctx.strategy_warnings[-1]


def test_one_venue_down_does_not_stop_cancels_on_the_other(venues, store):
    ctx = router(venues, store)
    ctx.limit_order(M, Side.LONG, 1.0, 90.0, venue="alpha")
    resting = ctx.limit_order(M, Side.LONG, 1.0, 90.0, venue="beta")
    venues["alpha"].close()  # the first venue asked goes away
    assert ctx.cancel_all() >= 1
    assert venues["beta"].venue_orders()[resting][0].value == "cancelled"
    assert ctx.order_venue(resting) == "beta"


def test_a_leg_group_is_journaled_before_its_legs_are_sent(venues, store):
    ctx = router(venues, store)
    legs = [OrderLeg(M, Side.LONG, 1.0, "alpha"), OrderLeg(M, Side.SHORT, 1.0, "beta")]
    result = ctx.submit_leg_group(legs)
    assert result.status == "filled" and len(result.filled_legs) == 2
    assert venues["alpha"].venue_position(M) == 1.0 and venues["beta"].venue_position(M) == -1.0
    events = OrderJournal(store, "alpha").events()
    groups = [e for e in events if e["kind"] == "leg_group"]
    assert [g["detail"]["status"] for g in groups] == ["pending", "sent", "filled"]
    first_intent = min(e["seq"] for e in events if e["kind"] == "intent")
    assert groups[0]["seq"] < first_intent  # recorded before the first byte was sent
    assert {leg["venue"] for leg in groups[0]["detail"]["legs"]} == {"alpha", "beta"}


@pytest.mark.parametrize(("unwind", "status", "left"), [(True, "unwound", 0.0),
                                                        (False, "partial", 1.0)])
def test_a_failed_leg_unwinds_the_filled_ones_only_when_asked(venues, store, unwind, status,
                                                              left):
    risk = {"beta": RiskEngine([MaxNotionalPerOrder(50.0)])}  # beta refuses a 100 leg
    ctx = router(venues, store, risk=risk, auto_unwind_failed_legs=unwind)
    legs = [OrderLeg(M, Side.LONG, 1.0, "alpha"), OrderLeg(M, Side.SHORT, 1.0, "beta")]
    result = ctx.submit_leg_group(legs, timeout_s=5.0)
    assert result.status == status
    assert [leg.venue for leg in result.failed_legs] == ["beta"]
    assert venues["alpha"].venue_position(M) == left and venues["beta"].venue_position(M) == 0
    assert len(result.unwind_order_ids) == (1 if unwind else 0)


def test_the_kill_switch_reaches_every_venue(venues, store):
    ctx = router(venues, store)
    ctx.market_order(M, Side.LONG, 1.0, venue="alpha")
    ctx.market_order(M, Side.LONG, 2.0, venue="beta")
    ctx.kill("test")
    assert ctx.trading_state.value == "halted"
    assert venues["alpha"].venue_position(M) == 0 and venues["beta"].venue_position(M) == 0
    assert ctx.market_order(M, Side.LONG, 1.0, venue="beta") == ""
