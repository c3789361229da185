"""Funding intervals observed from the spacing of settlements.

A venue's funding interval is what it actually used, which can change (Hyperliquid
8 h -> 1 h, Binance SOLUSDT 8 h -> 4 h -> 2 h -> 8 h). Each settlement's interval is
the median spacing over a five-settlement window centred on it, so a single missed
settlement does not stretch it.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Settlements on each side whose spacing enters a settlement's window.
REACH = 3


def funding_intervals(ts: np.ndarray) -> np.ndarray:
    """Each settlement's interval: median spacing over a five-row window centred on it."""
    if len(ts) < 2:
        raise ValueError("cannot infer a funding interval from fewer than two settlements")
    spacing = np.diff(ts, prepend=ts[0])
    spacing[0] = spacing[1]
    windows = sliding_window_view(np.pad(spacing, 2, mode="edge"), 5)
    return np.median(windows, axis=1).astype(np.int64)


def local_intervals(
    ts: np.ndarray, first: int, last: int, at_start: bool, at_end: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Intervals of ``ts[first:last + 1]`` as :func:`funding_intervals` of the whole series
    gives them, from a slice of it.

    ``ts`` is a sorted slice of the series holding at least ``2 * REACH`` settlements on
    each side of the rows wanted, unless it reaches the series' first (``at_start``) or
    last (``at_end``) settlement. Returns ``(positions, intervals)`` of the rows whose
    interval is known from the slice.
    """
    if len(ts) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    intervals = funding_intervals(ts)
    low = 0 if at_start else REACH
    high = len(ts) if at_end else len(ts) - REACH
    lo, hi = max(first, low), min(last + 1, high)
    positions = np.arange(lo, hi, dtype=np.int64)
    return positions, intervals[lo:hi]
