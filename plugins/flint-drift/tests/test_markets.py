"""Drift market names and indexes, both ways, and resolutions: one place, clear errors."""

import pytest
from flint_drift.markets import MARKETS, market_index, resolution_name, to_market
from hypothesis import given
from hypothesis import strategies as st

from flint.providers.errors import UnknownMarket


@pytest.mark.parametrize("name", ["SOL-PERP", "sol-perp", "SOL", "SOLUSDT", "SOL/USDT:USDT", 0,
                                  "0"])
def test_every_spelling_of_sol_is_market_index_0(name):
    assert to_market(name) == "SOL-PERP"
    assert market_index(name) == 0


def test_known_indexes():
    assert [market_index(m) for m in ("BTC-PERP", "ETH-PERP", "DRIFT-PERP")] == [1, 2, 30]


@given(st.sampled_from(MARKETS))
def test_name_and_index_round_trip(market):
    assert to_market(market_index(market)) == market


@pytest.mark.parametrize("name", ["NOPE-PERP", 31, "-1", "SOL-SPOT"])
def test_an_unknown_market_lists_the_venues_markets(name):
    with pytest.raises(UnknownMarket) as caught:
        to_market(name)
    assert f"drift has no market '{name}'; its markets: SOL-PERP, BTC-PERP, ETH-PERP" in str(
        caught.value)
    assert "DRIFT-PERP" in str(caught.value)


def test_resolutions_by_their_data_api_names():
    assert [resolution_name(s) for s in (60, 3600, 86400)] == ["1", "60", "D"]
    with pytest.raises(ValueError, match=r"no 7200 s candles; it has 60 s \(1\)"):
        resolution_name(7200)
