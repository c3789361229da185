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


def test_slices_are_windows_that_share_the_root_columns():
    series = CandleSeries.from_candles(_candles(10))
    window = series[2:7]
    assert isinstance(window, CandleSeries)
    assert window == _candles(10)[2:7]
    assert np.shares_memory(window.closes, series.closes)
    assert window.market == "SOL-PERP" and window.venue == "drift"
    assert (window.root is series, window.start, window.stop) == (True, 2, 7)
    inner = window[1:3]
    assert (inner.root is series, inner.start, inner.stop) == (True, 3, 5)
    assert inner.cache is series.cache


def test_a_moved_window_reads_new_bounds_without_allocating_columns():
    series = CandleSeries.from_candles(_candles(10))
    history = series.window(0, 0)
    seen = []
    for stop in range(1, 11):
        history.move_to(max(0, stop - 3), stop)
        seen.append(history.closes.tolist())
    assert seen[-1] == [107.5, 108.5, 109.5]
    assert seen[0] == [100.5]
    with pytest.raises(IndexError, match="outside a root of 10 bars"):
        series.window(5, 11)


def test_a_window_names_the_candle_following_it_only_when_moved_with_one():
    candles = _candles(10)
    series = CandleSeries.from_candles(candles)
    history = series.window(0, 0)
    assert history.following is None
    history.move_to(2, 5, candles[5])
    assert history.following is candles[5]
    assert history[:].following is None and series.window(2, 5).following is None
    history.move_to(2, 6)
    assert history.following is None


def test_caller_arrays_stay_writable_and_are_not_copied():
    closes = np.arange(3, dtype=np.float64)
    series = CandleSeries(np.arange(3), closes, closes, closes, closes, closes)
    assert closes.flags.writeable
    assert np.shares_memory(series.closes, closes)


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


@given(
    st.lists(st.floats(1, 1e6), max_size=40),
    st.integers(-45, 45) | st.none(),
    st.integers(-45, 45) | st.none(),
    st.sampled_from([None, 1, 2, 3, -1, -2]),
    st.integers(0, 5),
)
def test_slicing_matches_list_slicing(closes, start, stop, step, offset):
    items = [Candle(60 * i, c, c, c, c, 1.0, "X", 60) for i, c in enumerate(closes)]
    series = CandleSeries.from_candles(items, "X", 60, "default")[offset:]
    assert series[start:stop:step] == items[offset:][start:stop:step]


def test_a_root_grows_over_room_its_columns_have_and_nothing_else_grows():
    ts = np.arange(8, dtype=np.int64) * 3600
    values = np.arange(40, dtype=np.float64).reshape(5, 8)
    root = CandleSeries(ts[:2], *values[:, :2])
    root.grow(2, [ts, *values])
    window = root.window(0, 2)
    root.grow(5)  # bars 2..4 were written beforehand
    assert len(root) == 5 and list(root.closes) == [24.0, 25.0, 26.0, 27.0, 28.0]
    window.move_to(1, 5)
    assert window[-1].close == 28.0 and not root.closes.flags.writeable
    for bad in (lambda: root.grow(9), lambda: root.grow(4), lambda: window.grow(6),
                lambda: root.grow(6, [ts, *values[:4]]),
                lambda: CandleSeries.from_candles(list(root)).grow(5)):
        with pytest.raises(ValueError):
            bad()
    assert len(root) == 5
