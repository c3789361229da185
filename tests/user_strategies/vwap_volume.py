"""v1: trade returns to VWAP on volume spikes; numpy for the recent volume profile."""

from collections import defaultdict
from typing import NamedTuple

import numpy as np

from flint import indicators
from flint.models import Signal
from flint.strategy import Strategy


class Decision(NamedTuple):
    signal: Signal
    reason: str


class VWAPVolume(Strategy):
    def __init__(self, period=24, spike=2.0, band=0.01):
        self.period, self.spike, self.band = period, spike, band
        self.reasons = defaultdict(int)

    @property
    def name(self):
        return "vwap-volume"

    def decide(self, candle, history) -> Decision:
        vwap = indicators.vwap(history, self.period)
        ratio = indicators.volume_ratio(history, self.period)
        volumes = indicators.volumes(history, self.period)
        busy = ratio > self.spike or volumes[-1] > np.percentile(volumes, 90)
        gap = (candle.close - vwap) / vwap
        match (busy, gap < -self.band, gap > self.band):
            case (True, True, _):
                return Decision(Signal.BUY, "below vwap on volume")
            case (True, _, True):
                return Decision(Signal.SELL, "above vwap on volume")
            case _:
                return Decision(Signal.HOLD, "quiet")

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.period:
            return Signal.HOLD
        decision = self.decide(candle, history)
        self.reasons[decision.reason] += 1
        return decision.signal

    def reset(self):
        self.reasons.clear()
