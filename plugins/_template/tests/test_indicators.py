import pytest
from flint_example.indicators import typical_price

from flint.models import Candle


def test_typical_price_of_the_newest_bar():
    bars = [Candle(0, 1, 4, 1, 2, 1), Candle(3600, 2, 6, 3, 3, 1)]
    assert typical_price(bars) == 4.0


def test_typical_price_needs_history():
    with pytest.raises(IndexError):
        typical_price([])
