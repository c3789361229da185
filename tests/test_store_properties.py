"""Invariants of the store, checked against a dict model with hypothesis."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.models import Candle
from flint.store import FlintStore

RES = 300
_markets = itertools.count()

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def candle_rows(draw, max_size=60):
    """Valid bars of one series at random (repeating, unordered) positions."""
    drawn = draw(st.lists(
        st.tuples(
            st.integers(0, 120),  # bar position
            st.floats(0.01, 1e6),  # low
            st.floats(0.0, 0.5),  # high - low, as a fraction of low
            st.floats(0.0, 1.0),  # where the open sits in [low, high]
            st.floats(0.0, 1.0),  # where the close sits
            st.floats(0.0, 1e9),  # volume
        ),
        max_size=max_size,
    ))
    rows = []
    for pos, low, spread, a, b, volume in drawn:
        high = low * (1 + spread)
        open_ = min(max(low + a * (high - low), low), high)
        close = min(max(low + b * (high - low), low), high)
        rows.append((pos, low, high, open_, close, volume))
    return rows


def _candles(rows, market):
    return [Candle(pos * RES, o, hi, lo, c, v, market, RES, "v") for pos, lo, hi, o, c, v in rows]


def _model(*batches):
    """What the store must hold: the last candle per ts over all batches, by ts."""
    latest = {}
    for batch in batches:
        for candle in batch:
            latest[candle.ts] = candle
    return [latest[ts] for ts in sorted(latest)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with FlintStore(tmp_path_factory.mktemp("props") / "props.duckdb") as s:
        yield s


@SETTINGS
@given(first=candle_rows(), second=candle_rows())
def test_upserts_are_idempotent_and_last_write_wins(store, first, second):
    market = f"P{next(_markets)}"
    a, b = _candles(first, market), _candles(second, market)
    written = store.upsert_candles(a)
    assert written == len({c.ts for c in a})
    assert store.upsert_candles(a) == 0
    assert store.query_candles(market, RES) == _model(a)
    store.upsert_candles(b)
    assert store.upsert_candles(b) == 0
    assert store.upsert_candles(list(reversed(_model(b)))) == 0
    assert store.query_candles(market, RES) == _model(a, b)
    assert store.count_candles(market, RES) == len(_model(a, b))


@SETTINGS
@given(
    rows=candle_rows(),
    start=st.none() | st.integers(-5, 130),
    end=st.none() | st.integers(-5, 130),
    limit=st.none() | st.integers(0, 70),
)
def test_query_returns_exactly_the_bars_in_the_inclusive_range(store, rows, start, end, limit):
    market = f"Q{next(_markets)}"
    stored = _model(_candles(rows, market))
    store.upsert_candles(stored)
    start_ts = None if start is None else start * RES
    end_ts = None if end is None else end * RES
    expected = [
        c for c in stored
        if (start_ts is None or c.ts >= start_ts) and (end_ts is None or c.ts <= end_ts)
    ]
    if limit is not None:
        expected = (
            expected[:limit] if start_ts is not None
            else expected[max(0, len(expected) - limit):]
        )
        expected = expected if limit else []
    got = store.query_candles(market, RES, start_ts=start_ts, end_ts=end_ts, limit=limit)
    assert got == expected
    assert list(got.timestamps) == [c.ts for c in expected]
