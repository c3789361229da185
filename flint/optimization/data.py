"""Candles as optimisation and walk-forward handle them.

A study runs on one :class:`~flint.models.CandleSeries` or on ``{key: CandleSeries}``
(several markets or venues, keyed like ``BacktestEngine.run``). The *primary* series
is the one the engine drives the loop with: the most bars, the first on ties. Parts
of the data (pruning folds, walk-forward windows) are cut at the primary's bar
positions; the other series are cut at the same timestamps, so every part covers
the same time span in every market.

Worker processes receive the candles once, as plain numpy columns (:func:`pack`),
never as per-trial pickles of candle objects.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flint.models import Candle, CandleSeries

#: ``("series", columns)`` or ``("dict", {key: columns})``: numpy arrays and scalars only.
Packed = tuple[str, Any]


def as_series(candles: CandleSeries | Sequence[Candle]) -> CandleSeries:
    """``candles`` as a columnar series (a list is converted once)."""
    if isinstance(candles, CandleSeries):
        return candles
    if len(candles) == 0:
        raise ValueError("no candles to optimise on")
    return CandleSeries.from_candles(candles)


def normalise(candles: Any) -> CandleSeries | dict[str, CandleSeries]:
    """A series, or a dict of series, from what ``BacktestEngine.run`` accepts."""
    if isinstance(candles, Mapping):
        if not candles:
            raise ValueError("no candles to optimise on: the dict is empty")
        return {str(k): as_series(v) for k, v in candles.items()}
    return as_series(candles)


def primary(candles: CandleSeries | Mapping[str, CandleSeries]) -> CandleSeries:
    """The series the engine drives the loop with (most bars; first on ties)."""
    if isinstance(candles, Mapping):
        return max(candles.values(), key=len)  # max keeps the first of equals
    return candles


def cut(candles: Any, start: int, stop: int) -> Any:
    """Bars ``[start, stop)`` of the primary series, and the same time span of the others."""
    lead = primary(candles)
    if not isinstance(candles, Mapping):
        return lead[start:stop]
    ts = lead.timestamps
    first = int(ts[start])
    end = int(ts[stop - 1]) if stop < len(lead) else None
    out = {}
    for key, series in candles.items():
        times = series.timestamps
        a = 0 if start == 0 else int(np.searchsorted(times, first, side="left"))
        b = len(series) if end is None else int(np.searchsorted(times, end, side="right"))
        out[key] = series[a:b]
    return out


def split(candles: Any, parts: int) -> list[Any]:
    """``parts`` consecutive, non-overlapping pieces of (nearly) equal bar count."""
    n = len(primary(candles))
    if parts < 1 or n < parts:
        raise ValueError(f"cannot cut {n} bars into {parts} parts")
    bounds = [n * i // parts for i in range(parts + 1)]
    return [cut(candles, bounds[i], bounds[i + 1]) for i in range(parts)]


def _columns(series: CandleSeries) -> dict[str, Any]:
    return {
        "ts": np.ascontiguousarray(series.timestamps),
        "open": np.ascontiguousarray(series.opens),
        "high": np.ascontiguousarray(series.highs),
        "low": np.ascontiguousarray(series.lows),
        "close": np.ascontiguousarray(series.closes),
        "volume": np.ascontiguousarray(series.volumes),
        "market": series.market, "resolution_s": int(series.resolution_s),
        "venue": series.venue,
    }


def pack(candles: CandleSeries | Mapping[str, CandleSeries]) -> Packed:
    """Normalised candles as plain numpy columns (what a worker process receives)."""
    if isinstance(candles, Mapping):
        return ("dict", {k: _columns(v) for k, v in candles.items()})
    return ("series", _columns(candles))


def unpack(packed: Packed) -> CandleSeries | dict[str, CandleSeries]:
    """The candles :func:`pack` packed, as new series over the same arrays."""
    kind, data = packed
    if kind == "dict":
        return {k: CandleSeries(**v) for k, v in data.items()}
    return CandleSeries(**data)
