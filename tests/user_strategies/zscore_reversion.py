"""v1: fade large z-scores of the close, sized by a statistics-based filter."""

import itertools
import math
import statistics
from functools import lru_cache

from flint.indicators import closes, volatility, z_score
from flint.models import Signal
from flint.strategy import Strategy


@lru_cache(maxsize=None)
def threshold_for(level: float, scale: int) -> float:
    return level * math.sqrt(scale) / math.sqrt(20)


class ZScoreReversion(Strategy):
    def __init__(self, period: int = 20, entry: float = 2.0):
        self.period = period
        self.entry = entry
        self._calm = 0

    @property
    def name(self):
        return "zscore-reversion"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.period + 1:
            return Signal.HOLD
        recent = closes(history, self.period)
        spread = statistics.pstdev(recent) / statistics.fmean(recent)
        if volatility(history, self.period) > 3 * spread:
            self._calm = 0
            return Signal.HOLD
        self._calm += 1
        z = z_score(history, self.period)
        ups = sum(1 for a, b in itertools.pairwise(recent) if b > a)
        limit = threshold_for(self.entry, self.period)
        if z < -limit and ups < self.period // 2:
            return Signal.BUY
        if z > limit and ups > self.period // 2:
            return Signal.SELL
        return Signal.HOLD

    def reset(self):
        self._calm = 0
