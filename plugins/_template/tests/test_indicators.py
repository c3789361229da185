import pytest
from flint_example.indicators import typical_price

from flint.models import Candle, CandleSeries


def bars(n):
    return [Candle(3600 * i, 1, 4 + i, 1, 2 + i, 1) for i in range(n)]


def test_typical_price_is_the_mean_of_the_last_period_bars():
    # typical prices of bars 1 and 2: (5 + 1 + 3) / 3 = 3 and (6 + 1 + 4) / 3 = 11 / 3
    assert typical_price(bars(3), 2) == pytest.approx((3 + 11 / 3) / 2)


def test_on_a_window_it_reads_the_cached_series():
    root = CandleSeries.from_candles(bars(50))
    history = root.window(10, 30)
    assert typical_price(history, 5) == pytest.approx(typical_price(bars(30), 5))
    assert len(root.cache) == 1


def test_typical_price_needs_period_bars():
    with pytest.raises(IndexError, match="needs at least 5 bars"):
        typical_price(bars(4), 5)
