"""The example plugin's indicator: a whole-series kernel, read per bar from the cache."""

import numpy as np

from flint.plugins import series_indicator


@series_indicator(inputs=("high", "low", "close"), min_bars=lambda period: period)
def typical_price(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Mean of (high + low + close) / 3 over the last ``period`` bars."""
    typical = (high + low + close) / 3.0
    out = np.full(typical.shape[0], np.nan)
    if typical.shape[0] >= period:
        sums = np.cumsum(typical)
        out[period - 1 :] = (sums[period - 1 :] - np.concatenate(([0.0], sums[:-period]))) / period
    return out
