"""The Drift adapter against the fake Solana JSON-RPC: the live contract suite, then what
is Drift's own (same-signature resends, user order ids, signatures, precision)."""

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("driftpy", reason="Drift live trading needs pip install 'flint-drift[live]'")

from flint_drift.live import KEY_VAR, DriftAdapter
from flint_drift.testing.fake import _read_rows
from flint_drift.testing.harness import DriftHarness

from flint.live.adapter import AmbiguousOutcome, OrderRequest, VenueRejected
from flint.live.credentials import CredentialError, Secret
from flint.testing.live_contracts import (
    CrashContract,
    LiveContextContract,
    VenueAdapterContract,
)
from flint_core.enums import OrderState, OrderType, Side


class TestDriftAdapter(VenueAdapterContract):
    def make_harness(self) -> DriftHarness:
        return DriftHarness()


class TestDriftLive(LiveContextContract):
    def make_harness(self) -> DriftHarness:
        return DriftHarness()


class TestDriftCrashes(CrashContract):
    def make_harness(self) -> DriftHarness:
        return DriftHarness()


@pytest.fixture
def harness():
    made = DriftHarness()
    yield made
    made.close()


def limit(cid: str, price: float = 90.0, size: float = 1.0) -> OrderRequest:
    return OrderRequest(cid, "SOL-PERP", Side.LONG, OrderType.LIMIT, size, price)


def test_a_resend_is_the_same_transaction_and_runs_once(harness):
    adapter = harness.adapter()
    harness.inject("submit", "5xx", "after")
    with pytest.raises(AmbiguousOutcome):
        adapter.place(limit("a"))
    first = adapter.send_log.find("a")
    again = adapter.place(limit("a"))  # same client id: the journaled bytes again
    assert adapter.send_log.find("a") == first
    sends = [s for s in harness.rpc.sends if s["memo"] == "a"]
    assert [s["signature"] for s in sends] == [first.signature] * 2
    assert again.state is OrderState.CONFIRMED
    assert list(harness.venue_orders()) == ["a"] and harness.submissions("a") == 1


def test_a_restarted_adapter_resends_the_journaled_transaction(harness):
    harness.inject("submit", "reset", "before")
    with pytest.raises(AmbiguousOutcome):
        harness.adapter().place(limit("b"))
    assert harness.venue_orders() == {}
    signature = harness.adapter().send_log.find("b").signature
    placed = harness.adapter().place(limit("b"))  # a new process, the same journal
    assert placed.state is OrderState.CONFIRMED
    assert {s["signature"] for s in harness.rpc.sends if s["memo"] == "b"} == {signature}


def test_user_order_ids_are_reused_only_after_the_order_is_terminal(harness):
    adapter = harness.adapter()
    for n in range(3):
        adapter.place(limit(f"o{n}"))
    ids = {adapter.send_log.find(f"o{n}").user_order_id for n in range(3)}
    assert len(ids) == 3 and ids <= set(range(1, 256))
    adapter.cancel("o1")
    fresh = harness.adapter()  # a restart: ids come from the journal and the chain
    for n in range(3, 300):
        fresh.place(limit(f"o{n}"))
        fresh.cancel(f"o{n}")
    live = {fresh.send_log.find(c).user_order_id for c in ("o0", "o2")}
    later = [fresh.send_log.find(f"o{n}").user_order_id for n in range(3, 300)]
    assert not live & set(later)
    assert set(later) == set(range(1, 256)) - live  # the freed ids all came back


def test_an_unresolved_send_keeps_its_user_order_id(harness):
    adapter = harness.adapter()
    harness.inject("submit", "reset", "before")
    with pytest.raises(AmbiguousOutcome):
        adapter.place(limit("lost"))
    pending = adapter.send_log.find("lost").user_order_id
    adapter.place(limit("next"))
    assert adapter.send_log.find("next").user_order_id != pending


def test_a_transaction_with_a_bad_signature_is_refused(harness):
    from solders.transaction import VersionedTransaction

    adapter = harness.adapter()
    adapter.place(limit("good"))
    sent = adapter.send_log.find("good")
    tx = VersionedTransaction.from_bytes(sent.tx)
    forged = bytearray(bytes(tx))
    forged[10] ^= 0xFF  # inside the signature
    reply = adapter._client.post(harness.rpc.url, json={
        "jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
        "params": [base64.b64encode(bytes(forged)).decode(), {"encoding": "base64"}]}).json()
    assert reply["error"]["code"] == -32003
    assert list(harness.venue_orders()) == ["good"]


def test_an_expired_blockhash_is_refused_and_resolved_as_never_placed(harness):
    adapter = harness.adapter()
    harness.rpc.lifetime = -1  # every blockhash it hands out is already stale
    with pytest.raises(VenueRejected, match="Blockhash not found"):
        adapter.place(limit("late"))
    assert adapter.order_status("late") is None and harness.venue_orders() == {}


def test_prices_and_sizes_are_rounded_to_tick_and_step(harness):
    adapter = harness.adapter()
    placed = adapter.place(limit("r", price=90.123456, size=1.23456))
    assert placed.price == pytest.approx(90.1235) and placed.size == pytest.approx(1.234)
    with pytest.raises(VenueRejected, match="min_size"):
        adapter.place(limit("tiny", size=0.0001))


def test_trigger_orders_wait_for_the_oracle(harness):
    adapter = harness.adapter()
    adapter.place(OrderRequest("long", "SOL-PERP", Side.LONG, OrderType.MARKET, 2.0))
    stop = adapter.place(OrderRequest("stop", "SOL-PERP", Side.SHORT, OrderType.STOP_LOSS,
                                      2.0, 95.0, reduce_only=True))
    assert stop.state is OrderState.CONFIRMED and stop.order_type is OrderType.STOP_LOSS
    harness.set_mark("SOL-PERP", 94.0)
    done = adapter.order_status("stop")
    assert done.state is OrderState.FILLED and done.avg_price == pytest.approx(94.0)
    assert adapter.positions() == []


def test_post_only_limits_that_would_cross_are_refused(harness):
    adapter = harness.adapter(post_only=True)
    with pytest.raises(VenueRejected, match="PostOnly"):
        adapter.place(limit("cross", price=101.0))
    assert adapter.place(limit("rest", price=99.0)).state is OrderState.CONFIRMED


def test_the_key_never_shows(harness):
    from solders.keypair import Keypair

    adapter = harness.adapter()
    adapter.place(limit("k"))
    (key,) = harness.secret_values()
    assert key not in repr(adapter) and key not in str(vars(adapter))
    assert key not in repr(adapter._signer)
    secret_bytes = bytes(Keypair.from_base58_string(key))[:32]
    adapter.send_log.close()
    stored = Path(harness.send_log).read_bytes()
    assert key.encode() not in stored and secret_bytes not in stored
    with pytest.raises(CredentialError) as refused:
        DriftAdapter(harness.rpc.url, keypair=Secret(KEY_VAR, key[:-4] + "0OIl"))
    assert key[:20] not in str(refused.value)


def test_a_restart_of_the_rpc_keeps_the_chain(harness):
    adapter = harness.adapter()
    adapter.place(limit("before-restart"))
    harness.rpc.restart()
    assert adapter.order_status("before-restart").state is OrderState.CONFIRMED
    assert adapter.cancel("before-restart").state is OrderState.CANCELLED


@pytest.fixture(scope="module")
def rounding():
    made = DriftHarness()
    adapter = made.adapter()
    adapter.check_order(limit("warm"))  # loads the market's tick and step
    yield adapter
    made.close()


@settings(max_examples=200, deadline=None)
@given(size=st.floats(0.001, 1e6), price=st.floats(0.0001, 1e6))
def test_sizes_are_floored_to_the_step_and_prices_rounded_to_the_tick(rounding, size, price):
    params = rounding._params(limit("h", price=price, size=size), 7)
    step, tick = 1_000_000, 100  # the fake's 0.001 step (BASE 1e9) and 0.0001 tick (1e6)
    assert params.base_asset_amount % step == 0 and params.price % tick == 0
    assert -1e-6 * step <= size * 1e9 - params.base_asset_amount < step
    assert abs(params.price - price * 1e6) <= tick / 2 + 1e-9 * price * 1e6
    assert params.user_order_id == 7


@pytest.mark.parametrize("size", [0.003, 0.007, 1.001, 2.3, 123.456])
def test_a_size_on_the_step_is_kept(rounding, size):
    params = rounding._params(limit("e", size=size), 1)
    assert params.base_asset_amount == round(size * 1e9)


def test_the_plugin_registers_the_live_context(harness, tmp_path):
    from flint.execution.drift_live import LiveDriftContext
    from flint.plugins import get_execution_context
    from flint.store import FlintStore

    with FlintStore(tmp_path / "live.duckdb") as store:
        ctx = get_execution_context("drift", "live", store=store, rpc_url=harness.rpc.url,
                                    adapter_options={**harness._options(),
                                                     "keypair": harness.secret()})
        assert isinstance(ctx, LiveDriftContext) and ctx.venue == "drift"
        ctx.start(background=False)
        assert ctx.market_order("SOL-PERP", Side.LONG, 1.0)
        assert harness.venue_position("SOL-PERP") == pytest.approx(1.0)
        ctx.stop()


def test_resting_orders_fill_as_real_candles_move_the_oracle(harness, flint_test_data):
    source = flint_test_data / "hyperliquid-SOL-3600.csv"
    if not source.is_file():
        pytest.skip(f"no {source.name} in {flint_test_data}")
    closes = [float(row[4]) for row in _read_rows(source)[:300]]
    harness.rpc.set_price(0, closes[0])
    adapter = harness.adapter()
    target = round(min(closes) * 1.01, 2)
    adapter.place(limit("dip", price=target, size=0.5))
    harness.rpc.walk(0, closes)
    reached = next(c for c in closes if c <= target)
    done = adapter.order_status("dip")
    assert done.state is OrderState.FILLED and done.avg_price == pytest.approx(reached)
    assert [p.size for p in adapter.positions()] == [pytest.approx(0.5)]


def test_open_orders_older_than_the_replayed_history_come_from_the_user_account(harness):
    import time

    first = harness.adapter()
    first.place(limit("old", size=2.0))
    first.place(OrderRequest("old-long", "SOL-PERP", Side.LONG, OrderType.MARKET, 1.0))
    harness.fill("old", 0.5)
    time.sleep(2.2)
    later = harness.adapter(history_days=1 / 86_400)  # replays the last second only
    (order,) = later.open_orders()
    assert order.client_id == "old" and order.state is OrderState.PARTIALLY_FILLED
    assert order.filled_size == pytest.approx(0.5) and order.size == pytest.approx(2.0)
    assert later.order_status("old-long") is None  # terminal and out of the window
    assert later.cancel("old").state is OrderState.CANCELLED
