from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flint.models import Candle, CandleSeries


def _candles(n, market="SOL-PERP", venue="drift"):
    return [
        Candle(3600 * i, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, float(i), market, 3600, venue)
        for i in range(n)
    ]


def test_series_is_a_sequence_equal_to_its_candles():
    items = _candles(5)
    series = CandleSeries.from_candles(items)
    assert isinstance(series, Sequence)
    assert len(series) == 5
    assert series == items and items == series.to_list()
    assert list(series) == items
    assert list(reversed(series)) == items[::-1]
    assert series[0] == items[0] and series[-1] == items[-1]
    assert items[2] in series and series.index(items[2]) == 2 and series.count(items[2]) == 1
    assert series != items[:4]


def test_slices_are_views_that_share_the_columns():
    series = CandleSeries.from_candles(_candles(10))
    window = series[2:7]
    assert isinstance(window, CandleSeries)
    assert window == _candles(10)[2:7]
    assert np.shares_memory(window.closes, series.closes)
    assert window.market == "SOL-PERP" and window.venue == "drift"


def test_columns_are_read_only():
    series = CandleSeries.from_candles(_candles(3))
    with pytest.raises(ValueError):
        series.closes[0] = 1.0
    assert series.timestamps.dtype == np.int64
    assert series.volumes.tolist() == [0.0, 1.0, 2.0]


def test_out_of_range_index_raises_index_error():
    series = CandleSeries.from_candles(_candles(2))
    with pytest.raises(IndexError):
        series[2]
    with pytest.raises(IndexError):
        series[-3]


def test_mixed_markets_are_refused_with_the_offending_position():
    items = _candles(3)
    items[1] = Candle(3600, 1, 1, 1, 1, 1, "BTC-PERP", 3600, "drift")
    with pytest.raises(ValueError, match="candle 1 is drift/BTC-PERP/3600s"):
        CandleSeries.from_candles(items)


def test_columns_must_have_equal_lengths():
    with pytest.raises(ValueError, match="column 'close'"):
        CandleSeries([0, 1], [1, 1], [1, 1], [1, 1], [1], [1, 1])


def test_empty_series():
    series = CandleSeries.from_candles([], "SOL-PERP", 3600, "drift")
    assert len(series) == 0 and series == [] and "empty" in repr(series)


@given(st.lists(st.floats(1, 1e6), max_size=40), st.integers(-45, 45), st.integers(-45, 45))
def test_slicing_matches_list_slicing(closes, start, stop):
    items = [Candle(60 * i, c, c, c, c, 1.0, "X", 60) for i, c in enumerate(closes)]
    series = CandleSeries.from_candles(items, "X", 60, "default")
    assert series[start:stop] == items[start:stop]
