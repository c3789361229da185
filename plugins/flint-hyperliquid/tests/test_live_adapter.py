"""HyperliquidAdapter against the fake exchange: nonces, signatures, tick and lot rules,
order kinds, amends, the dead-man switch, restarts, and the registered live context."""

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from flint_hyperliquid.adapter import KEY_VAR, HyperliquidAdapter
from flint_hyperliquid.testing.harness import HyperliquidHarness
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action

from flint.live.adapter import AmbiguousOutcome, OrderRequest, VenueRejected, VenueUnavailable
from flint.live.credentials import CredentialError, Secret
from flint.store import FlintStore
from flint.testing.fakes import Fault
from flint_core.enums import OrderState, OrderType, Side, TimeInForce


@pytest.fixture
def harness():
    made = HyperliquidHarness()
    yield made
    made.close()


def _limit(price: float = 90.0, size: float = 1.0, side: Side = Side.LONG,
           **changes) -> OrderRequest:
    return OrderRequest(f"t-{time.time_ns()}-{secrets.token_hex(2)}", "SOL-PERP", side,
                        OrderType.LIMIT, size, price, **changes)


def _exchange_bodies(harness: HyperliquidHarness) -> list[dict]:
    return [r.body for r in harness.fake.requests if r.path == "/exchange"]


# Nonces


def test_100_concurrent_orders_get_100_distinct_nonces_and_no_rejection(harness):
    adapters = [harness.adapter(timeout_s=10.0), harness.adapter(timeout_s=10.0)]
    requests = [_limit(price=80.0 + i / 10) for i in range(100)]
    with ThreadPoolExecutor(max_workers=25) as pool:
        placed = list(pool.map(lambda ir: adapters[ir[0] % 2].place(ir[1]),
                               enumerate(requests)))
    assert [p.state for p in placed] == [OrderState.CONFIRMED] * 100
    nonces = [b["nonce"] for b in _exchange_bodies(harness)
              if b["action"]["type"] == "order"]
    assert len(nonces) == len(set(nonces)) == 100
    assert len(harness.exchange.open_orders()) == 100
    assert all(b["expiresAfter"] > b["nonce"] for b in _exchange_bodies(harness))


# Signatures and nonces at the fake


def _signed(key: str, action: dict, nonce: int, expires: int | None = None) -> dict:
    signature = sign_l1_action(Account.from_key(key), action, None, nonce, expires, False)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None,
            "expiresAfter": expires}


def _order_action(price: str = "90", size: str = "1", cloid: str | None = None) -> dict:
    wire = {"a": 2, "b": True, "p": price, "s": size, "r": False,
            "t": {"limit": {"tif": "Gtc"}}}
    if cloid:
        wire["c"] = cloid
    return order_wires_to_order_action([wire])


def _post(harness: HyperliquidHarness, body: dict) -> dict:
    reply = httpx.post(f"{harness.fake.url}/exchange", json=body, timeout=5)
    return reply.json()


def test_the_fake_verifies_the_signer_and_the_nonce(harness):
    key = harness._key
    now = int(time.time() * 1000)
    assert _post(harness, _signed(key, _order_action(), now))["status"] == "ok"
    reused = _post(harness, _signed(key, _order_action(price="91"), now))
    assert reused == {"status": "err", "response": f"Invalid nonce: {now} was already used"}
    stale = _post(harness, _signed(key, _order_action(), now - 3 * 86_400_000))
    assert "outside the allowed time window" in stale["response"]
    expired = _post(harness, _signed(key, _order_action(), now + 1, expires=now - 1000))
    assert expired["status"] == "err" and "expired" in expired["response"]
    stranger = "0x" + secrets.token_hex(32)
    refused = _post(harness, _signed(stranger, _order_action(), now + 2))
    assert refused["status"] == "err" and "does not exist" in refused["response"]
    tampered = _signed(key, _order_action(), now + 3)
    tampered["action"]["orders"][0]["p"] = "95"  # the signature no longer matches
    assert _post(harness, tampered)["status"] == "err"
    assert len(harness.exchange.open_orders()) == 1


def test_the_fake_keeps_the_100_highest_nonces(harness):
    key = harness._key
    start = int(time.time() * 1000)
    for i in range(100):
        body = _signed(key, {"type": "scheduleCancel"}, start + 10 + i)
        assert _post(harness, body)["status"] == "ok"
    too_low = _post(harness, _signed(key, {"type": "scheduleCancel"}, start))
    assert "lower than every kept nonce" in too_low["response"]


def test_an_adapter_with_an_unknown_key_is_refused_and_nothing_rests(harness):
    other = harness.adapter(private_key=Secret(KEY_VAR, "0x" + secrets.token_hex(32)))
    with pytest.raises(VenueRejected, match="does not exist"):
        other.place(_limit())
    assert harness.exchange.open_orders() == []


def test_a_4xx_with_a_plain_text_body_is_a_rejection(harness):
    harness.fake.inject(Fault.status_code(422, match=lambda r: r.path == "/exchange"))
    with pytest.raises(VenueRejected, match="422"):
        harness.adapter().place(_limit())
    assert harness.exchange.open_orders() == []


def test_a_bad_key_is_named_never_shown():
    with pytest.raises(CredentialError) as err:
        HyperliquidAdapter("http://127.0.0.1:9", private_key=Secret(KEY_VAR, "not-a-key-123"))
    assert KEY_VAR in str(err.value) and "not-a-key-123" not in str(err.value)


# Tick and lot rules


def test_prices_and_sizes_are_rounded_before_signing(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit(price=91.234567, size=1.23789))
    wire = _exchange_bodies(harness)[-1]["action"]["orders"][0]
    assert (wire["p"], wire["s"]) == ("91.235", "1.23")
    assert (placed.price, placed.size) == (91.235, 1.23)
    with pytest.raises(VenueRejected, match="below one lot"):
        adapter.place(_limit(size=0.004))


def test_the_fake_refuses_off_tick_prices_small_lots_and_small_orders(harness):
    key, now = harness._key, int(time.time() * 1000)
    statuses = [
        _post(harness, _signed(key, _order_action(price=p, size=s), now + i))
        ["response"]["data"]["statuses"][0]
        for i, (p, s) in enumerate([("90.123456", "1"), ("90", "1.001"), ("90", "0.1")])
    ]
    assert "Tick size violation" in statuses[0]["error"]
    assert "invalid size" in statuses[1]["error"]
    assert "minimum value" in statuses[2]["error"]


# Order kinds


def test_a_market_order_is_an_ioc_limit_within_the_slippage_bound(harness):
    adapter = harness.adapter(slippage=0.01)
    placed = adapter.place(OrderRequest("m-1", "SOL-PERP", Side.LONG, OrderType.MARKET, 2.0))
    wire = _exchange_bodies(harness)[-1]["action"]["orders"][0]
    assert wire["t"] == {"limit": {"tif": "Ioc"}} and wire["p"] == "101"
    assert placed.state is OrderState.FILLED and placed.filled_size == 2.0
    assert 100.0 < placed.avg_price <= 101.0


def test_an_ioc_larger_than_the_book_fills_partly_and_the_rest_is_cancelled():
    harness = HyperliquidHarness(levels=2, level_size=1.5)
    try:
        placed = harness.adapter().place(
            OrderRequest("m-2", "SOL-PERP", Side.LONG, OrderType.MARKET, 5.0))
        assert placed.state is OrderState.CANCELLED and placed.filled_size == 3.0
        assert harness.venue_position("SOL-PERP") == 3.0
    finally:
        harness.close()


def test_stop_and_take_profit_triggers_fire_when_the_mark_crosses(harness):
    adapter = harness.adapter()
    adapter.place(OrderRequest("open", "SOL-PERP", Side.LONG, OrderType.MARKET, 2.0))
    stop = adapter.place(OrderRequest("sl", "SOL-PERP", Side.SHORT, OrderType.STOP_LOSS,
                                      1.0, 95.0, reduce_only=True))
    take = adapter.place(OrderRequest("tp", "SOL-PERP", Side.SHORT, OrderType.TAKE_PROFIT,
                                      1.0, 110.0, reduce_only=True))
    wire = _exchange_bodies(harness)[-2]["action"]["orders"][0]
    assert wire["t"] == {"trigger": {"isMarket": True, "triggerPx": "95", "tpsl": "sl"}}
    assert wire["r"] is True
    assert (stop.state, stop.order_type, stop.price) == (OrderState.CONFIRMED,
                                                          OrderType.STOP_LOSS, 95.0)
    harness.set_mark("SOL-PERP", 94.0)
    assert adapter.order_status("sl").state is OrderState.FILLED
    assert adapter.order_status("tp").state is OrderState.CONFIRMED
    harness.set_mark("SOL-PERP", 111.0)
    assert adapter.order_status(take.client_id).state is OrderState.FILLED
    assert harness.venue_position("SOL-PERP") == pytest.approx(0.0)


def test_reduce_only_never_grows_a_position(harness):
    adapter = harness.adapter()
    adapter.place(OrderRequest("open", "SOL-PERP", Side.LONG, OrderType.MARKET, 1.0))
    closing = adapter.place(OrderRequest("close", "SOL-PERP", Side.SHORT, OrderType.MARKET,
                                         3.0, reduce_only=True))
    assert closing.filled_size == 1.0 and harness.venue_position("SOL-PERP") == 0.0
    with pytest.raises(VenueRejected, match="Reduce only"):
        adapter.place(OrderRequest("again", "SOL-PERP", Side.SHORT, OrderType.MARKET, 1.0,
                                   reduce_only=True))


def test_post_only_refuses_a_crossing_limit_and_rests_one_that_does_not(harness):
    adapter = harness.adapter(post_only=True)
    with pytest.raises(VenueRejected, match="Post only"):
        adapter.place(_limit(price=105.0))
    assert adapter.place(_limit(price=95.0)).state is OrderState.CONFIRMED
    assert _exchange_bodies(harness)[-1]["action"]["orders"][0]["t"] == {
        "limit": {"tif": "Alo"}}
    with pytest.raises(VenueRejected, match="fill-or-kill"):
        adapter.place(_limit(time_in_force=TimeInForce.FOK))


def test_cancel_is_by_cloid_and_partial_fills_are_reported(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit(size=2.0))
    harness.fill(placed.client_id, 0.5)
    assert adapter.order_status(placed.client_id).state is OrderState.PARTIALLY_FILLED
    cancelled = adapter.cancel(placed.client_id)
    action = _exchange_bodies(harness)[-1]["action"]
    assert action["type"] == "cancelByCloid" and action["cancels"][0]["asset"] == 2
    assert cancelled.state is OrderState.CANCELLED and cancelled.filled_size == 0.5
    fills = adapter.fills_since(time.time() - 60)
    assert [(f.client_id, f.size, f.is_maker) for f in fills] == [
        (placed.client_id, 0.5, True)]


def test_an_order_placed_on_the_website_is_seen_by_oid(harness):
    adapter = harness.adapter()
    external = harness.place_external("SOL-PERP", "sell", 1.0, 120.0)
    assert [o.client_id for o in adapter.open_orders()] == [external]
    assert adapter.cancel(external).state is OrderState.CANCELLED


# Amending


def _modifies(harness: HyperliquidHarness) -> list[dict]:
    return [b for b in _exchange_bodies(harness) if b["action"]["type"] == "batchModify"]


def test_a_resting_order_is_amended_in_place_and_keeps_its_cloid(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit(price=90.0, size=1.0))
    cloid = harness.exchange.open_orders()[0]["cloid"]
    amended = adapter.amend(placed.client_id, size=2.34567, price=91.234567)
    [body] = _modifies(harness)
    [modify] = body["action"]["modifies"]
    assert modify["oid"] == int(placed.venue_order_id)
    assert (modify["order"]["p"], modify["order"]["s"], modify["order"]["c"]) == (
        "91.235", "2.34", cloid)
    assert modify["order"]["t"] == {"limit": {"tif": "Gtc"}}
    assert body["expiresAfter"] > body["nonce"]
    assert (amended.client_id, amended.state, amended.size, amended.price) == (
        placed.client_id, OrderState.CONFIRMED, 2.34, 91.235)
    [resting] = harness.exchange.open_orders()
    assert (resting["cloid"], resting["limitPx"], resting["origSz"], resting["left"]) == (
        cloid, 91.235, 2.34, 2.34)
    assert adapter.amend(placed.client_id, price=92.0).size == 2.34  # the size kept


def test_an_amended_size_is_the_whole_size_filled_part_included(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit(size=2.0))
    harness.fill(placed.client_id, 0.5)
    amended = adapter.amend(placed.client_id, size=3.0)
    assert _modifies(harness)[-1]["action"]["modifies"][0]["order"]["s"] == "2.5"
    assert (amended.state, amended.size, amended.filled_size, amended.price) == (
        OrderState.PARTIALLY_FILLED, 3.0, 0.5, 90.0)
    with pytest.raises(VenueRejected, match="less than one lot"):
        adapter.amend(placed.client_id, size=0.5)


def test_a_price_amended_across_the_mark_trades_at_once(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit(price=90.0, size=1.0))
    amended = adapter.amend(placed.client_id, price=101.0)
    assert amended.state is OrderState.FILLED
    assert harness.venue_position("SOL-PERP") == pytest.approx(1.0)


def test_only_open_limit_orders_are_amended(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit())
    harness.fill(placed.client_id)
    with pytest.raises(VenueRejected, match="no open order"):
        adapter.amend(placed.client_id, price=91.0)
    stop = adapter.place(OrderRequest("sl", "SOL-PERP", Side.SHORT, OrderType.STOP_LOSS,
                                      1.0, 95.0, reduce_only=True))
    with pytest.raises(VenueRejected, match="only resting limit orders"):
        adapter.amend(stop.client_id, price=94.0)
    with pytest.raises(VenueRejected, match="no open order"):
        adapter.amend("never-placed", price=91.0)
    assert _modifies(harness) == []


def test_the_fake_refuses_a_modify_of_a_filled_or_unknown_order(harness):
    key, now = harness._key, int(time.time() * 1000)
    assert _post(harness, _signed(key, _order_action(cloid="0x" + "ab" * 16), now))[
        "status"] == "ok"
    [order] = harness.exchange.open_orders()
    harness.exchange.fill(order["oid"])
    wire = _order_action(price="91", cloid="0x" + "ab" * 16)["orders"][0]
    for n, ident in enumerate([order["oid"], "0x" + "ab" * 16, 424242]):
        action = {"type": "batchModify", "modifies": [{"oid": ident, "order": wire}]}
        reply = _post(harness, _signed(key, action, now + 1 + n))
        assert reply["status"] == "ok"
        [status] = reply["response"]["data"]["statuses"]
        assert status["error"].startswith("Cannot modify canceled or filled order")
    assert harness.exchange.orders[order["oid"]]["limitPx"] == 90.0
    tampered = _signed(key, {"type": "batchModify", "modifies": [
        {"oid": order["oid"], "order": wire}]}, now + 10)
    tampered["action"]["modifies"][0]["order"]["p"] = "95"
    assert _post(harness, tampered)["status"] == "err"


@pytest.mark.parametrize(("fault", "when"), [("5xx", "after"), ("reset", "after"),
                                             ("garbage", "after"), ("429", "before"),
                                             ("delay", "after")])
def test_a_lost_modify_reply_is_ambiguous_and_resolved_by_asking(fault, when):
    harness = HyperliquidHarness(timeout_s=0.5)
    try:
        adapter = harness.adapter()
        placed = adapter.place(_limit(price=90.0))
        harness.inject("amend", fault, when, delay_s=1.5)  # "after": run, then no reply
        with pytest.raises(AmbiguousOutcome):
            adapter.amend(placed.client_id, price=91.0)
        asked = adapter.order_status(placed.client_id)
        assert asked.state is OrderState.CONFIRMED
        assert asked.price == (90.0 if when == "before" else 91.0)
        assert len(harness.exchange.orders) == 1 and harness.submissions() == 1
        assert len(_modifies(harness)) == 1
    finally:
        harness.close()


@pytest.mark.parametrize("fault", [None, "5xx", "reset"])
def test_the_live_context_amends_a_resting_order_and_resolves_a_lost_reply(harness, tmp_path,
                                                                          fault):
    from flint_hyperliquid.live import LiveHyperliquidContext

    from flint.testing.processes import wait_until

    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = LiveHyperliquidContext(
            store, url=harness.fake.url, private_key=harness.secret(),
            account_address=harness.user, timeout_s=1.0, request_ttl_s=3.0, rate_limit=False,
            poll_s=0.05, reconcile_interval_s=3600)
        ctx.start(background=False)
        cid = ctx.limit_order("SOL-PERP", Side.LONG, 1.0, 90.0)
        if fault:
            harness.inject("amend", fault, "after")
        assert ctx.modify_order(cid, new_size=2.0, new_price=91.0) == cid
        assert wait_until(lambda: ctx.order(cid).state is OrderState.CONFIRMED, 5.0,
                          between=ctx.sync), "never resolved"
        assert (ctx.order(cid).size, ctx.order(cid).price) == (2.0, 91.0)
        [resting] = harness.exchange.open_orders()
        assert (resting["cloid"], resting["origSz"], resting["limitPx"]) == (cid, 2.0, 91.0)
        assert len(harness.exchange.orders) == 1 and len(_modifies(harness)) == 1
        ctx.stop()


# Request budget


def test_rest_polling_is_throttled_to_poll_s(harness):
    adapter = harness.adapter(websocket=False, poll_s=30.0)
    cursor = adapter.events("", 0.0).cursor
    adapter.events(cursor, 0.0)  # the first poll
    reads = harness.fake.count_type("userFillsByTime")
    placed = adapter.place(_limit())
    harness.fill(placed.client_id)
    for _ in range(5):
        assert adapter.events(cursor, 0.0).fills == ()
    assert harness.fake.count_type("userFillsByTime") == reads


def test_a_429_pauses_the_shared_budget_for_its_retry_after(harness):
    adapter = harness.adapter(rate_limit=True)
    harness.inject("read", "429", "before")
    with pytest.raises(VenueUnavailable, match="rate_limited"):
        adapter.positions()
    assert 0 < adapter._limiter.paused_for_s <= 1.0  # Retry-After: 1


# The dead-man switch


def test_the_dead_man_switch_cancels_everything_when_flint_goes_quiet():
    now = [time.time()]
    harness = HyperliquidHarness(request_ttl_s=60.0, clock=lambda: now[0])
    try:
        with pytest.raises(ValueError, match="at least 5"):
            harness.adapter(dead_man_switch_s=1.0)
        adapter = harness.adapter(dead_man_switch_s=30.0)
        adapter.connect()
        assert harness.exchange.dead_man_ms == pytest.approx((time.time() + 30) * 1000,
                                                             abs=2000)
        placed = adapter.place(_limit())
        now[0] += 31
        harness.exchange.expire_dead_man()
        assert adapter.order_status(placed.client_id).state is OrderState.EXPIRED
        adapter.close()
        assert harness.exchange.dead_man_ms is None  # switched off on a clean close
    finally:
        harness.close()


# Restarts of the venue


def test_a_restarted_venue_keeps_its_orders(harness):
    adapter = harness.adapter()
    placed = adapter.place(_limit())
    harness.restart()
    assert [o.client_id for o in adapter.open_orders()] == [placed.client_id]
    assert adapter.cancel(placed.client_id).state is OrderState.CANCELLED


# The registered context


def test_the_live_context_is_registered_and_importable_at_the_seed_path(harness, tmp_path:
                                                                         Path):
    from flint_hyperliquid.live import LiveHyperliquidContext

    from flint.execution.hyperliquid_live import LiveHyperliquidContext as seeded
    from flint.plugins import get_execution_context

    assert seeded is LiveHyperliquidContext
    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = get_execution_context(
            "hyperliquid", "live", store=store, url=harness.fake.url,
            private_key=Secret(KEY_VAR, harness._key), account_address=harness.user,
            timeout_s=2.0, poll_interval_s=0.05, rate_limit=False)
        assert isinstance(ctx, LiveHyperliquidContext)
        ctx.start(background=False)
        cid = ctx.market_order("SOL-PERP", Side.LONG, 1.0)
        assert ctx.order(cid).state is OrderState.FILLED
        assert ctx.position("SOL-PERP").size == pytest.approx(1.0)
        assert harness.venue_position("SOL-PERP") == pytest.approx(1.0)
        ctx.stop()


def test_market_orders_walk_a_book_shaped_like_a_real_one(flint_test_data):
    from flint_hyperliquid.testing.exchange import book_shape

    path = flint_test_data / "fixtures" / "hyperliquid" / "info_l2Book_DYDX.response.json"
    if not path.is_file():
        pytest.skip(f"no Hyperliquid l2Book fixture in {flint_test_data}")
    shape = book_shape(path)
    harness = HyperliquidHarness(shape=shape)
    try:
        asks = harness.exchange._book("SOL", True)
        assert len(asks) == len(shape[1]) and asks[0][0] > 100.0
        size = round(asks[0][1] + asks[1][1] + asks[2][1] / 2, 2)
        placed = harness.adapter().place(
            OrderRequest("walk", "SOL-PERP", Side.LONG, OrderType.MARKET, size))
        third = size - asks[0][1] - asks[1][1]
        expected = (asks[0][0] * asks[0][1] + asks[1][0] * asks[1][1]
                    + asks[2][0] * third) / size
        assert placed.state is OrderState.FILLED
        assert placed.avg_price == pytest.approx(expected, rel=1e-6)
        fills = harness.adapter().fills_since(0)
        assert [f.price for f in fills] == pytest.approx([a[0] for a in asks[:3]], rel=1e-7)
    finally:
        harness.close()


# The websocket


def _streaming_adapter(harness: HyperliquidHarness) -> tuple[HyperliquidAdapter, str]:
    adapter = harness.adapter(resync_s=60.0)
    adapter.connect()
    deadline = time.monotonic() + 10
    while not adapter._stream.connected:
        assert time.monotonic() < deadline, "the websocket never connected"
        time.sleep(0.02)
    return adapter, adapter.events("", 0.0).cursor


def _events_until(adapter: HyperliquidAdapter, cursor: str, trade_ids: int) -> list:
    fills, orders, deadline = [], [], time.monotonic() + 10
    while len(fills) < trade_ids:
        assert time.monotonic() < deadline, f"only {fills} arrived"
        batch = adapter.events(cursor, 0.5)
        fills, orders, cursor = fills + list(batch.fills), orders + list(batch.orders), (
            batch.cursor)
    return fills, orders


def test_fills_and_order_updates_come_from_the_websocket(harness):
    adapter, cursor = _streaming_adapter(harness)
    try:
        placed = adapter.place(_limit(size=2.0))
        harness.fill(placed.client_id, 0.5)
        rest_reads = harness.fake.count_type("userFillsByTime")
        fills, orders = _events_until(adapter, cursor, 1)
        assert [(f.client_id, f.size) for f in fills] == [(placed.client_id, 0.5)]
        assert orders and orders[-1].client_id == placed.client_id
        assert orders[-1].state is OrderState.PARTIALLY_FILLED
        assert harness.fake.count_type("userFillsByTime") == rest_reads  # no REST read
    finally:
        adapter.close()


def test_after_the_websocket_drops_what_it_missed_is_read_over_rest(harness):
    adapter, cursor = _streaming_adapter(harness)
    try:
        placed = adapter.place(_limit(size=2.0))
        generation = adapter._stream.generation
        harness.fake.muted = True  # the pushes of this fill are lost
        harness.fill(placed.client_id, 0.5)
        harness.fake.muted = False
        harness.fake.drop_sockets()
        rest_reads = harness.fake.count_type("userFillsByTime")
        fills, _ = _events_until(adapter, cursor, 1)
        assert [(f.client_id, f.size) for f in fills] == [(placed.client_id, 0.5)]
        assert harness.fake.count_type("userFillsByTime") > rest_reads
        deadline = time.monotonic() + 10
        while adapter._stream.generation == generation:  # it resubscribes
            assert time.monotonic() < deadline, "the websocket never reconnected"
            time.sleep(0.02)
    finally:
        adapter.close()
