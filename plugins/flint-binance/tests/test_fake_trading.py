"""The fake Binance USD-M's account engine keeps its books straight whatever it is asked:
positions are the sum of the trades, the wallet moves by realised PnL minus fees, no
order fills beyond its size, and every fill respects the lot step and tick."""

from decimal import Decimal

import pytest
from flint_binance.testing.fake import FakeBinance
from flint_binance.testing.trading import BOOK_FILE, Account, Refused, book_profile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ORDERS = st.lists(st.tuples(
    st.sampled_from(["BUY", "SELL"]),
    st.sampled_from(["MARKET", "LIMIT-GTC", "LIMIT-IOC", "LIMIT-FOK", "LIMIT-GTX"]),
    st.integers(1, 40_000),  # quantity in lot steps (0.001 BTC)
    st.integers(-30, 30),  # limit price offset from the mark, in ticks x 10
    st.booleans(),  # reduce-only
    st.sampled_from([None, 19950.0, 20000.0, 20050.0]),  # mark moved afterwards
), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def profile(flint_test_data):
    path = flint_test_data / BOOK_FILE
    if not path.is_file():
        pytest.skip(f"no recorded Binance book in {flint_test_data}")
    return book_profile(path)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=ORDERS)
def test_positions_wallet_and_fills_stay_consistent(profile, orders):
    info = FakeBinance._symbol_info("BTCUSDT")
    account = Account([info], {"BTCUSDT": 20000.0}, profile, wallet=1_000_000.0)
    step, tick = Decimal("0.001"), Decimal("0.10")
    for n, (side, kind, lots, offset, reduce_only, mark) in enumerate(orders):
        order_type, _, tif = kind.partition("-")
        params = {"symbol": "BTCUSDT", "side": side, "type": order_type,
                  "quantity": str(lots * step), "newClientOrderId": f"c{n}",
                  "reduceOnly": "true" if reduce_only else "false"}
        if order_type == "LIMIT":
            params.update(timeInForce=tif, price=str(Decimal(20000) + offset * tick * 10))
        try:
            account.new_order(params)
        except Refused as refused:
            assert refused.code in (-2019, -2022, -5022, -4164), refused.msg
        if mark is not None:
            account.set_mark("BTCUSDT", mark)
    position = sum((Decimal(t["qty"]) * (1 if t["side"] == "BUY" else -1)
                    for t in account.trades), Decimal(0))
    assert account.positions.get("BTCUSDT", [Decimal(0)])[0] == position
    realized = sum((Decimal(t["realizedPnl"]) - Decimal(t["commission"])
                    for t in account.trades), Decimal(0))
    assert account.wallet == Decimal(1_000_000) + realized
    for order in account.orders.values():
        assert Decimal(order["executedQty"]) <= Decimal(order["origQty"])
        filled = sum((Decimal(t["qty"]) for t in account.trades
                      if t["orderId"] == order["orderId"]), Decimal(0))
        assert filled == Decimal(order["executedQty"])
    for trade in account.trades:
        assert Decimal(trade["qty"]) % step == 0 and Decimal(trade["price"]) % tick == 0
