import itertools

import numpy as np
import pytest

from flint.models import Candle, CandleSeries, Signal
from flint.strategy import MACrossoverStrategy


def _candles(closes):
    return [
        Candle(ts=3600 * i, open=c, high=c, low=c, close=c, volume=1.0, market="SOL-PERP")
        for i, c in enumerate(closes)
    ]


def _signals(strategy, candles, history_type):
    strategy.reset()
    out = []
    for i, candle in enumerate(candles):
        history = candles[:i]
        if history_type is CandleSeries:
            history = CandleSeries.from_candles(history, "SOL-PERP", 3600, "default")
        out.append(strategy.on_candle(candle, history))
    return out


@pytest.mark.parametrize("history_type", [list, CandleSeries])
def test_buys_on_the_cross_up_and_sells_on_the_cross_down(history_type):
    closes = [14, 13, 12, 11, 10, 9, 8, 9, 11, 13, 13, 12, 9, 7, 7]
    signals = _signals(MACrossoverStrategy(2, 4), _candles(closes), history_type)
    # bar 8: fast (9+11)/2 = 10 > slow (9+8+9+11)/4 = 9.25, after 8.5 < 9 on bar 7
    # bar 12: fast (12+9)/2 = 10.5 < slow 11.75, after 12.5 > 12.25 on bar 11
    expected = [Signal.HOLD] * len(closes)
    expected[8], expected[12] = Signal.BUY, Signal.SELL
    assert signals == expected


def test_agrees_with_numpy_moving_averages_on_a_random_walk():
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    signals = _signals(MACrossoverStrategy(5, 20), _candles(closes), CandleSeries)
    fast = np.convolve(closes, np.ones(5) / 5, "valid")[15:]
    slow = np.convolve(closes, np.ones(20) / 20, "valid")
    diff = fast - slow  # diff[k] belongs to bar k + 19
    expected = [Signal.HOLD] * 20 + [
        Signal.BUY if a <= 0 < b else Signal.SELL if a >= 0 > b else Signal.HOLD
        for a, b in itertools.pairwise(diff)
    ]
    assert signals == expected


def test_rejects_fast_not_below_slow():
    with pytest.raises(ValueError, match="fast_period < slow_period"):
        MACrossoverStrategy(30, 30)
