"""CCXTAdapter and LiveCCXTContext against the fake Binance USD-M, through the real ccxt
client: signatures, recvWindow, Binance's error codes, order kinds, the dead-man switch,
a restart of the venue, testnet by default and the plugin's registration."""

import hashlib
import hmac
import socket
import threading
import time
from urllib.parse import urlencode

import ccxt
import pytest
import requests
from flint_binance.live import KEY_VAR, SECRET_VAR, CCXTAdapter, classify, wallet_balances
from flint_binance.live_context import LiveCCXTContext
from flint_binance.testing.harness import BinanceHarness

from flint.live.adapter import AmbiguousOutcome, OrderRequest, VenueRejected, VenueUnavailable
from flint.live.credentials import Secret
from flint.plugins import get_execution_context
from flint.store import FlintStore
from flint.testing.processes import wait_until
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_core.registry import PluginNotFound

MARKET = BinanceHarness.market


@pytest.fixture
def harness(fake_data):
    made = BinanceHarness(fake_data)
    yield made
    made.close()


def request(kind=OrderType.LIMIT, side=Side.LONG, size=1.0, price=18000.0, **options):
    return OrderRequest(f"t-{time.time_ns()}", MARKET, side, kind, size, price, **options)


def test_the_signature_covers_the_exact_query(harness):
    key, secret = harness.env()[KEY_VAR], harness.env()[SECRET_VAR]
    query = urlencode({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1",
                       "price": "18000", "timeInForce": "GTC", "newClientOrderId": "raw-1",
                       "timestamp": int(time.time() * 1000)})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    url, headers = f"{harness.fake.url}/fapi/v1/order", {"X-MBX-APIKEY": key}
    tampered = query.replace("quantity=1", "quantity=2")
    refused = requests.post(url, data=f"{tampered}&signature={signature}", headers=headers,
                            timeout=5)
    assert refused.status_code == 400 and refused.json()["code"] == -1022
    assert "raw-1" not in harness.venue_orders()
    taken = requests.post(url, data=f"{query}&signature={signature}", headers=headers, timeout=5)
    assert taken.status_code == 200 and harness.venue_orders()["raw-1"][0] is (
        OrderState.CONFIRMED)


@pytest.mark.parametrize(("which", "code"), [("secret", "-1022"), ("key", "-2015")])
def test_wrong_keys_are_refused_and_never_shown(harness, which, code):
    wrong = Secret("WRONG", "not-the-real-one-0123456789")
    options = {"api_secret": wrong} if which == "secret" else {"api_key": wrong}
    adapter = harness.adapter(**options)
    with pytest.raises(VenueRejected) as refused:
        adapter.place(request())
    assert refused.value.code == code
    assert harness.submissions() == 1 and harness.venue_orders() == {}
    for value in (*harness.secret_values(), wrong.reveal()):
        assert value not in str(refused.value) and value not in repr(adapter)


def test_a_request_arriving_after_its_recv_window_is_refused_not_taken(harness):
    adapter = harness.adapter(timeout_s=5.0, recv_window_s=1.0)
    adapter.connect()
    harness.inject("submit", "delay", "before", delay_s=1.5)
    with pytest.raises(VenueRejected) as refused:
        adapter.place(request())
    assert refused.value.code == "-1021"
    assert harness.venue_orders() == {}
    assert adapter.ambiguity_window_s == pytest.approx(1.0 + harness.visibility_s)


@pytest.mark.parametrize(("order", "code"), [
    (request(size=10_000.0), "-2019"),  # margin is insufficient
    (request(size=0.001, price=1000.0), "-4164"),  # notional below 5 USDT
    (request(OrderType.MARKET, Side.SHORT, reduce_only=True), "-2022"),  # nothing to reduce
    (request(price=18000.05), "-4014"),  # off the tick (ccxt rounds to the market's precision
])                                      # only when it knows it: here it does, see below)
def test_venue_refusals_are_rejections_with_binance_codes(harness, order, code):
    adapter = harness.adapter()
    adapter.connect()
    if code == "-4014":  # ccxt would round the price: send it unrounded as a venue would see
        adapter._exchange.markets["BTC/USDT:USDT"]["precision"]["price"] = 0.01
    with pytest.raises(VenueRejected) as refused:
        adapter.place(order)
    assert refused.value.code == code
    assert order.client_id not in harness.venue_orders() or (
        harness.venue_orders()[order.client_id][0] is not OrderState.CONFIRMED)


def test_a_client_id_taken_by_an_open_order_is_an_ambiguous_duplicate(harness):
    adapter = harness.adapter()
    first = request()
    adapter.place(first)
    with pytest.raises(AmbiguousOutcome) as duplicate:
        adapter.place(first)
    assert duplicate.value.kind == "duplicate"
    assert harness.submissions(first.client_id) == 2 and len(harness.venue_orders()) == 1


@pytest.mark.parametrize(("error", "writes", "expected", "kind"), [
    (ccxt.ExchangeError('binanceusdm {"code":-1007,"msg":"Timeout waiting for response from '
                        'backend server. Send status unknown; execution status unknown."}'),
     True, AmbiguousOutcome, "timeout"),
    (ccxt.ExchangeError('binanceusdm {"code":-1001,"msg":"Internal error."}'), True,
     AmbiguousOutcome, "server_error"),
    (ccxt.InvalidNonce('binanceusdm {"code":-1021,"msg":"Timestamp for this request is '
                       'outside of the recvWindow."}'), True, VenueRejected, "-1021"),
    (ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'),
     True, VenueRejected, "-2019"),
    (ccxt.ExchangeError('binanceusdm {"code":-2010,"msg":"NEW_ORDER_REJECTED"}'), True,
     VenueRejected, "-2010"),
    (ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"), True, AmbiguousOutcome,
     "rate_limited"),
    (ccxt.ExchangeNotAvailable("binanceusdm 503 Service Unavailable"), True, AmbiguousOutcome,
     "server_error"),
    (ccxt.RequestTimeout("binanceusdm POST timed out"), True, AmbiguousOutcome, "timeout"),
    (ccxt.RequestTimeout("binanceusdm GET timed out"), False, VenueUnavailable, ""),
    (ValueError("unexpected reply"), True, AmbiguousOutcome, "unparsable"),
])
def test_ccxt_errors_are_classified_by_binance_code_first(error, writes, expected, kind):
    result = classify(error, "create_order", writes)
    assert type(result) is expected
    assert getattr(result, "kind", getattr(result, "code", "")) == kind or not kind


@pytest.mark.parametrize(("fault", "kind"), [("5xx", "server_error"), ("429", "rate_limited"),
                                             ("reset", "reset"), ("garbage", "unparsable")])
def test_a_lost_reply_after_the_venue_took_the_order_is_ambiguous(harness, fault, kind):
    adapter = harness.adapter()
    order = request()
    harness.inject("submit", fault, "after")
    with pytest.raises(AmbiguousOutcome) as unknown:
        adapter.place(order)
    assert unknown.value.kind == kind
    assert adapter.order_status(order.client_id).state is OrderState.CONFIRMED


def test_429_carries_retry_after(harness):
    harness.fake.inject_trading("read", "429", retry_after_s=7)
    adapter = harness.adapter()
    adapter.connect()
    with pytest.raises(VenueUnavailable):
        adapter.open_orders()
    assert adapter._exchange.last_response_headers.get("Retry-After") == "7"


def test_stops_go_to_the_algo_service_and_fill_when_triggered(harness):
    adapter = harness.adapter()
    adapter.place(request(OrderType.MARKET, size=2.0))
    stop = request(OrderType.STOP_LOSS, Side.SHORT, 2.0, 19000.0, reduce_only=True)
    take = request(OrderType.TAKE_PROFIT, Side.SHORT, 2.0, 21000.0, reduce_only=True)
    for order in (stop, take):
        placed = adapter.place(order)
        assert placed.state is OrderState.CONFIRMED and placed.order_type is order.order_type
        assert placed.price == order.price
    paths = [r.path for r in harness.fake.signed if r.op == "submit"]
    assert paths[1:] == ["/fapi/v1/algoOrder"] * 2
    assert {o.client_id for o in adapter.open_orders()} == {stop.client_id, take.client_id}
    harness.set_mark(MARKET, 18900.0)
    done = adapter.order_status(stop.client_id)
    assert done.state is OrderState.FILLED and done.filled_size == pytest.approx(2.0)
    fills = [f for f in adapter.fills_since(time.time() - 60) if f.client_id == stop.client_id]
    assert sum(f.size for f in fills) == pytest.approx(2.0)
    assert harness.venue_position(MARKET) == 0.0
    assert adapter.cancel(take.client_id).state is OrderState.CANCELLED


def test_an_ioc_limit_fills_what_the_book_holds_and_expires_the_rest(harness):
    adapter = harness.adapter()
    order = request(size=30.0, price=20004.0, time_in_force=TimeInForce.IOC)
    placed = adapter.place(order)
    assert placed.state is OrderState.EXPIRED
    assert 0 < placed.filled_size < 30.0
    assert placed.avg_price > harness.price
    fills = [f for f in adapter.fills_since(time.time() - 60) if f.client_id == order.client_id]
    assert sum(f.size for f in fills) == pytest.approx(placed.filled_size)
    assert len({f.price for f in fills}) > 1  # walked several levels of the book


def test_post_only_rests_as_gtx_or_is_refused_when_it_would_take(harness):
    adapter = harness.adapter(post_only=True)
    resting = adapter.place(request())
    assert resting.state is OrderState.CONFIRMED
    assert harness.fake.submissions(resting.client_id)[0].params["timeInForce"] == "GTX"
    with pytest.raises(VenueRejected) as refused:
        adapter.place(request(price=20100.0))
    assert refused.value.code == "-5022"


def test_the_dead_man_switch_cancels_when_flint_stops_refreshing_it(harness):
    adapter = harness.adapter(dead_man_s=2.0)  # refreshed every 0.5 s: slack for a slow host
    adapter.connect()
    kept, dropped = request(), request(price=18100.0)
    adapter.place(kept)
    cursor = adapter.events("", 0.0).cursor
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # heartbeats: every events round refreshes it
        cursor = adapter.events(cursor, 0.1).cursor
    assert harness.venue_orders()[kept.client_id][0] is OrderState.CONFIRMED
    adapter.place(dropped)

    def states():
        return {cid: state for cid, (state, _) in harness.venue_orders().items()}

    cancelled = {kept.client_id: OrderState.CANCELLED, dropped.client_id: OrderState.CANCELLED}
    assert wait_until(lambda: states() == cancelled, 20.0), states()  # no heartbeat
    countdowns = [r.params["countdownTime"] for r in harness.fake.signed
                  if r.path.endswith("countdownCancelAll")]
    assert set(countdowns) == {"2000"}


def test_a_clean_close_disarms_the_dead_man_switch(harness):
    adapter = harness.adapter(dead_man_s=1.0, markets=[])
    order = request()
    adapter.place(order)  # arms the switch of a market before its first order
    assert [r.path for r in harness.fake.signed][-2:] == ["/fapi/v1/countdownCancelAll",
                                                          "/fapi/v1/order"]
    adapter.close()
    time.sleep(1.3)
    assert harness.venue_orders()[order.client_id][0] is OrderState.CONFIRMED


def test_the_venue_restarting_keeps_orders_and_a_refused_connection_sends_nothing(harness):
    adapter = harness.adapter()
    order = adapter.place(request())
    down = threading.Thread(target=harness.fake.restart, kwargs={"down_s": 1.5})
    down.start()
    port, deadline = int(harness.fake.url.rsplit(":", 1)[1]), time.monotonic() + 5
    while time.monotonic() < deadline:  # until the port refuses connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        time.sleep(0.02)
    with pytest.raises(VenueRejected) as refused:
        adapter.place(request(price=18100.0))
    assert refused.value.code == "unreachable"
    down.join()
    assert adapter.order_status(order.client_id).state is OrderState.CONFIRMED
    assert len(harness.venue_orders()) == 1


def test_testnet_by_default_and_mainnet_only_when_asked():
    keys = {"api_key": Secret(KEY_VAR, "k" * 16), "api_secret": Secret(SECRET_VAR, "s" * 32)}
    assert CCXTAdapter(**keys).endpoint == "https://demo-fapi.binance.com"
    assert CCXTAdapter(network="mainnet", **keys).endpoint == "https://fapi.binance.com"
    with pytest.raises(ValueError, match="network"):
        CCXTAdapter(network="real", **keys)
    with pytest.raises(ValueError, match="countdownCancelAll"):
        CCXTAdapter("okx", dead_man_s=60, **keys)


def test_dry_run_checks_the_market_rules_without_sending(harness):
    adapter = harness.adapter()
    adapter.check_order(request())
    with pytest.raises(VenueRejected):
        adapter.check_order(request(size=0.0001))  # below the lot step
    with pytest.raises(VenueRejected):
        adapter.check_order(OrderRequest("x", "NOPE-PERP", Side.LONG, OrderType.MARKET, 1.0))
    assert harness.submissions() == 0


def test_registered_live_context_trades_through_the_fake(harness, tmp_path):
    from flint.execution.ccxt_live import LiveCCXTContext as SeedPath

    assert SeedPath is LiveCCXTContext
    with pytest.raises(PluginNotFound):
        get_execution_context("binance", "paper")
    keys = {"api_key": Secret(KEY_VAR, harness.env()[KEY_VAR]),
            "api_secret": Secret(SECRET_VAR, harness.env()[SECRET_VAR])}
    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = get_execution_context(
            "binance", "live", store=store, api_url=harness.fake.url, markets=[MARKET],
            adapter_options={**keys, "timeout_s": 2.0}, reconcile_interval_s=3600)
        assert isinstance(ctx, LiveCCXTContext) and ctx.venue == "binance"
        ctx.start(background=False)
        cid = ctx.market_order(MARKET, Side.LONG, 0.5)
        assert ctx.order(cid).state is OrderState.FILLED
        assert ctx.position(MARKET).size == pytest.approx(0.5)
        assert ctx.account.cash > 0
        assert ctx.close_position(MARKET)
        assert harness.venue_position(MARKET) == 0.0
        ctx.stop()


def test_an_adapter_closed_and_connected_again_trades_on(harness):
    adapter = harness.adapter(dead_man_s=30.0)
    first = adapter.place(request())
    adapter.close()
    adapter.connect()
    assert adapter.order_status(first.client_id).state is OrderState.CONFIRMED
    assert adapter.cancel(first.client_id).state is OrderState.CANCELLED


def test_a_stop_triggered_at_the_venue_is_booked_on_its_order(harness, tmp_path):
    from flint.execution.live_base import LiveExecutionContext
    from flint.testing.live_contracts import differences, replay
    from flint.testing.processes import wait_until

    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = LiveExecutionContext(harness.adapter(), store, reconcile_interval_s=3600)
        ctx.start(background=False)
        ctx.market_order(MARKET, Side.LONG, 2.0)
        stop = ctx.stop_order(MARKET, Side.SHORT, 2.0, trigger_price=19500.0)
        ctx.sync()
        assert ctx.order(stop).state is OrderState.CONFIRMED
        harness.set_mark(MARKET, 19400.0)
        assert wait_until(lambda: ctx.order(stop).state is OrderState.FILLED, 5.0,
                          between=ctx.sync), "the stop never filled"
        assert ctx.order(stop).filled_size == pytest.approx(2.0)
        assert ctx.position(MARKET) is None
        assert differences(replay(store, ctx.journal.account), harness) == []
        ctx.stop()


@pytest.mark.parametrize("fault", [None, "5xx", "reset"])
def test_a_resting_limit_order_is_amended_and_a_lost_reply_resolved(harness, tmp_path, fault):
    from flint.execution.live_base import LiveExecutionContext
    from flint.testing.processes import wait_until

    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = LiveExecutionContext(harness.adapter(), store, reconcile_interval_s=3600)
        ctx.start(background=False)
        cid = ctx.limit_order(MARKET, Side.LONG, 1.0, 18000.0)
        if fault:
            harness.inject("amend", fault, "after")
        assert ctx.modify_order(cid, new_size=2.0, new_price=18100.0) == cid
        assert wait_until(lambda: ctx.order(cid).state is OrderState.CONFIRMED, 5.0,
                          between=ctx.sync), "never resolved"
        assert (ctx.order(cid).size, ctx.order(cid).price) == (2.0, 18100.0)
        venue = harness.account.orders[harness._order_id(cid)]
        assert (venue["origQty"], venue["price"]) == ("2", "18100")
        assert [r.method for r in harness.fake.signed if r.op == "amend"] == ["PUT"]
        ctx.stop()


def test_only_open_limit_orders_are_amended(harness):
    adapter = harness.adapter()
    adapter.place(request(OrderType.MARKET, size=1.0))
    stop = request(OrderType.STOP_LOSS, Side.SHORT, 1.0, 19000.0, reduce_only=True)
    adapter.place(stop)
    with pytest.raises(VenueRejected):
        adapter.amend(stop.client_id, price=18900.0)
    with pytest.raises(VenueRejected):
        adapter.amend("never-placed", price=18900.0)


def test_cash_is_the_wallet_balance_so_equity_counts_unrealised_pnl_once(harness):
    adapter = harness.adapter()
    [before] = [b for b in adapter.balances() if b.asset == "USDT"]
    harness.set_position(MARKET, 2.0, 100.0)
    harness.set_mark(MARKET, 110.0)  # +20 USDT unrealised
    [after] = [b for b in adapter.balances() if b.asset == "USDT"]
    assert after.total == before.total  # the wallet, not the margin balance
    [position] = [p for p in adapter.positions() if p.market == MARKET]
    assert position.size == 2.0 and position.mark_price == 110.0


def test_wallet_balances_are_read_from_the_balance_list_as_from_the_account():
    # GET /fapi/v3/balance answers a list, one row per asset, the wallet as "balance"
    listed = [
        {"accountAlias": "FzXq", "asset": "USDT", "balance": "1234.5",
         "crossWalletBalance": "1234.5", "crossUnPnl": "20.0", "availableBalance": "1200.0"},
        {"accountAlias": "FzXq", "asset": "BNB", "balance": "0.00000000"},
        {"accountAlias": "FzXq", "asset": "BTC"},  # no balance: not read
        {"balance": "5"},  # no asset: not read
        "not a row",
    ]
    assert wallet_balances(listed) == {"USDT": 1234.5, "BNB": 0.0}
    # GET /fapi/v3/account: the same wallets under "assets", as "walletBalance"
    account = {"totalMarginBalance": "1254.5", "assets": [
        {"asset": "USDT", "walletBalance": "1234.5", "marginBalance": "1254.5"},
        {"asset": "BNB", "walletBalance": "0.00000000"}]}
    assert wallet_balances(account) == wallet_balances(listed)
    for nothing in (None, {}, [], {"assets": "USDT"}, "1234.5"):
        assert wallet_balances(nothing) == {}
