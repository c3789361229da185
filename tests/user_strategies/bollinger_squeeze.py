"""v1: after a squeeze (narrow bands), follow the close out of the bands."""

from collections import deque

import numpy as np

from flint.indicators import bollinger, bollinger_width
from flint.models import Signal
from flint.strategy import Strategy


class BollingerSqueeze(Strategy):
    name = "bollinger-squeeze"

    def __init__(self, period=20, num_std=2.0, memory=120, squeeze_quantile=0.2):
        self.period = period
        self.num_std = num_std
        self.squeeze_quantile = squeeze_quantile
        self.widths = deque(maxlen=memory)

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.period:
            return Signal.HOLD
        width = bollinger_width(history, self.period, self.num_std)
        self.widths.append(width)
        if len(self.widths) < self.widths.maxlen:
            return Signal.HOLD
        squeezed = width <= np.quantile(np.asarray(self.widths), self.squeeze_quantile) * 1.5
        upper, _middle, lower = bollinger(history, self.period, self.num_std)
        if squeezed and candle.close > upper:
            return Signal.BUY
        if squeezed and candle.close < lower:
            return Signal.SELL
        return Signal.HOLD

    def reset(self):
        self.widths.clear()
