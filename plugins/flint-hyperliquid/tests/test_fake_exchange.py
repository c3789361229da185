"""Invariants of the fake exchange's engine (what the adapter tests rely on)."""

import pytest
from flint_hyperliquid.testing.exchange import FakeExchange
from hypothesis import given, settings
from hypothesis import strategies as st

orders = st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=400),
                            st.booleans()), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(orders)
def test_positions_are_the_sum_of_fills_and_reduce_only_never_flips(sequence):
    exchange = FakeExchange({"SOL": 2}, {"SOL": 100.0}, user="0x" + "1" * 40, levels=3,
                            level_size=1.5)
    for is_buy, hundredths, reduce_only in sequence:
        before = exchange.position("SOL")
        status = exchange._order("SOL", is_buy, hundredths / 100, 110.0 if is_buy else 90.0,
                                 reduce_only, {"limit": {"tif": "Ioc"}}, None)
        after = exchange.position("SOL")
        if reduce_only:
            assert abs(after) <= abs(before) + 1e-9 and after * before >= -1e-12
        if "error" in status:
            assert after == before
    signed = sum(float(f["sz"]) * (1 if f["side"] == "B" else -1) for f in exchange.fills)
    assert exchange.position("SOL") == pytest.approx(signed, abs=1e-9)
    for order in exchange.orders.values():
        assert order["filled"] <= order["origSz"] + 1e-12
        assert order["status"] != "open"  # IOC: nothing rests
    fees = sum(float(f["fee"]) for f in exchange.fills)
    realised = sum(float(f["closedPnl"]) for f in exchange.fills)
    assert exchange.cash == pytest.approx(10_000.0 + realised - fees, abs=1e-6)
