"""Tick and lot rounding agrees with the rules the fake (and the venue) enforce."""

import math

import pytest
from flint_hyperliquid.rules import price_error, round_price, round_size, size_error
from hyperliquid.utils.signing import float_to_wire
from hypothesis import given
from hypothesis import strategies as st

sz_decimals = st.integers(min_value=0, max_value=5)


@given(st.floats(min_value=1e-3, max_value=1e7), sz_decimals)
def test_a_rounded_price_is_valid_and_near(price, decimals):
    tick = 10.0 ** -(6 - decimals)
    if price < tick / 2:
        with pytest.raises(ValueError, match="below the tick"):
            round_price(price, decimals)
        return
    rounded = round_price(price, decimals)
    assert price_error(float_to_wire(rounded), decimals) == ""
    assert abs(rounded - price) <= max(price * 5e-5, tick / 2) * (1 + 1e-9) + 1e-12


@given(st.floats(min_value=1e-6, max_value=1e6), sz_decimals)
def test_a_rounded_size_is_a_whole_lot_never_above_the_ask(size, decimals):
    rounded = round_size(size, decimals)
    lot = 10.0 ** -decimals
    assert rounded <= size and size - rounded < lot * (1 + 1e-9)
    if rounded > 0:
        assert size_error(float_to_wire(rounded), decimals) == ""
        assert math.isclose(rounded / lot, round(rounded / lot), abs_tol=1e-6)


@pytest.mark.parametrize(("text", "decimals", "error"), [
    ("123456", 2, ""), ("12345.6", 0, "Tick size violation"), ("1.2345", 2, ""),
    ("1.23456", 0, "Tick size violation"), ("0.00012", 4, "Tick size violation"),
    ("0.0001", 2, ""), ("-1", 2, "invalid price '-1'"), ("x", 2, "invalid price 'x'"),
])
def test_price_rules(text, decimals, error):
    assert price_error(text, decimals) == error


def test_size_rules():
    assert size_error("1.23", 2) == "" and size_error("1.234", 2) == "Order has invalid size."
    assert size_error("0", 2) == "invalid size '0'"
    with pytest.raises(ValueError):
        round_size(0.0, 2)
