"""Correlation of markets' bar returns, aligned by timestamp."""

from collections.abc import Mapping, Sequence

import numpy as np

from flint.models import Candle


def _columns(candles: Sequence[Candle]) -> tuple[np.ndarray, np.ndarray]:
    ts = getattr(candles, "timestamps", None)
    closes = getattr(candles, "closes", None)
    if ts is None or closes is None:
        ts = np.fromiter((c.ts for c in candles), dtype=np.int64, count=len(candles))
        closes = np.fromiter((c.close for c in candles), dtype=np.float64, count=len(candles))
    return np.asarray(ts), np.asarray(closes)


def compute_correlation_matrix(
    candles_by_market: Mapping[str, Sequence[Candle]],
) -> dict[str, dict[str, float]]:
    """Pearson correlation of close-to-close returns on the timestamps all markets share.

    Returns ``{m1: {m2: corr}}``; ``nan`` where a market's returns are constant or fewer
    than two returns are shared.
    """
    markets = list(candles_by_market)
    if not markets:
        return {}
    columns = {m: _columns(candles_by_market[m]) for m in markets}
    common = columns[markets[0]][0]
    for m in markets[1:]:
        common = np.intersect1d(common, columns[m][0])
    returns = {}
    for m in markets:
        ts, closes = columns[m]
        order = np.argsort(ts, kind="stable")
        aligned = closes[order][np.searchsorted(ts[order], common)]
        returns[m] = np.diff(aligned) / aligned[:-1] if aligned.size > 1 else np.zeros(0)
    out: dict[str, dict[str, float]] = {m: {} for m in markets}
    for a in markets:
        for b in markets:
            ra, rb = returns[a], returns[b]
            if ra.size < 2 or ra.std() == 0 or rb.std() == 0:
                out[a][b] = float("nan")
            else:
                out[a][b] = float(np.corrcoef(ra, rb)[0, 1])
    return out
