"""Columnar candle storage: ``CandleSeries``, a read-only ``Sequence[Candle]``.

A series holds one market/venue/resolution as six numpy columns (about 48 bytes a
bar) and materialises a :class:`~flint_core.records.Candle` only when indexed.
Slicing with step 1 is O(1) and copies nothing: the slice shares the columns.
The engine's ``history`` window is a series too, so strategies can read
``history.closes`` as a numpy view without building Python objects.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from flint_core.records import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _column(values: Any, dtype: type, name: str, n: int) -> Any:
    arr: Any = np.ascontiguousarray(values, dtype=dtype)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"column '{name}' must be one-dimensional with {n} values")
    arr.flags.writeable = False
    return arr


class CandleSeries:
    """Read-only columnar sequence of candles of one market, venue and resolution."""

    def __init__(
        self,
        ts: Any,
        open: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any,
        market: str = "",
        resolution_s: int = 3600,
        venue: str = "default",
    ) -> None:
        n = len(ts)
        self._ts: IntArray = _column(ts, np.int64, "ts", n)
        self._open: FloatArray = _column(open, np.float64, "open", n)
        self._high: FloatArray = _column(high, np.float64, "high", n)
        self._low: FloatArray = _column(low, np.float64, "low", n)
        self._close: FloatArray = _column(close, np.float64, "close", n)
        self._volume: FloatArray = _column(volume, np.float64, "volume", n)
        self.market = market
        self.resolution_s = resolution_s
        self.venue = venue

    @classmethod
    def from_candles(
        cls,
        candles: Iterable[Candle],
        market: str | None = None,
        resolution_s: int | None = None,
        venue: str | None = None,
    ) -> "CandleSeries":
        """Build a series from candles that all share market, venue and resolution."""
        items = list(candles)
        first = items[0] if items else None
        mk = market if market is not None else (first.market if first else "")
        res = resolution_s if resolution_s is not None else (first.resolution_s if first else 3600)
        ven = venue if venue is not None else (first.venue if first else "default")
        for i, c in enumerate(items):
            if c.market != mk or c.resolution_s != res or c.venue != ven:
                raise ValueError(
                    f"candle {i} is {c.venue}/{c.market}/{c.resolution_s}s but the series "
                    f"is {ven}/{mk}/{res}s: a CandleSeries holds one market, venue and resolution"
                )
        return cls(
            np.fromiter((c.ts for c in items), dtype=np.int64, count=len(items)),
            np.fromiter((c.open for c in items), dtype=np.float64, count=len(items)),
            np.fromiter((c.high for c in items), dtype=np.float64, count=len(items)),
            np.fromiter((c.low for c in items), dtype=np.float64, count=len(items)),
            np.fromiter((c.close for c in items), dtype=np.float64, count=len(items)),
            np.fromiter((c.volume for c in items), dtype=np.float64, count=len(items)),
            mk,
            res,
            ven,
        )

    # Columns (read-only numpy views, no copy)
    @property
    def timestamps(self) -> IntArray:
        """Bar open times, unix seconds."""
        return self._ts

    @property
    def opens(self) -> FloatArray:
        """Open prices."""
        return self._open

    @property
    def highs(self) -> FloatArray:
        """High prices."""
        return self._high

    @property
    def lows(self) -> FloatArray:
        """Low prices."""
        return self._low

    @property
    def closes(self) -> FloatArray:
        """Close prices."""
        return self._close

    @property
    def volumes(self) -> FloatArray:
        """Volumes in base units."""
        return self._volume

    # Sequence protocol
    def __len__(self) -> int:
        return int(self._ts.shape[0])

    def candle(self, i: int) -> Candle:
        """The candle at position ``i`` (negative indexes count from the end)."""
        n = int(self._ts.shape[0])
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError(f"candle index out of range for a series of {n}")
        return Candle(
            int(self._ts[i]),
            float(self._open[i]),
            float(self._high[i]),
            float(self._low[i]),
            float(self._close[i]),
            float(self._volume[i]),
            self.market,
            self.resolution_s,
            self.venue,
        )

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._sliced(key)
        return self.candle(int(key))

    def _sliced(self, key: slice) -> "CandleSeries":
        return CandleSeries(
            self._ts[key], self._open[key], self._high[key], self._low[key],
            self._close[key], self._volume[key], self.market, self.resolution_s, self.venue,
        )

    def __iter__(self) -> Iterator[Candle]:
        for i in range(int(self._ts.shape[0])):
            yield self.candle(i)

    def __reversed__(self) -> Iterator[Candle]:
        for i in range(int(self._ts.shape[0]) - 1, -1, -1):
            yield self.candle(i)

    def __contains__(self, item: object) -> bool:
        return any(c == item for c in self)

    def index(self, value: object, start: int = 0, stop: int | None = None) -> int:
        """Position of the first candle equal to ``value``."""
        end = len(self) if stop is None else stop
        for i in range(start, end):
            if self.candle(i) == value:
                return i
        raise ValueError("candle is not in the series")

    def count(self, value: object) -> int:
        """How many candles equal ``value``."""
        return sum(1 for c in self if c == value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CandleSeries):
            return (
                self.market == other.market
                and self.resolution_s == other.resolution_s
                and self.venue == other.venue
                and bool(np.array_equal(self._ts, other._ts))
                and bool(np.array_equal(self._open, other._open))
                and bool(np.array_equal(self._high, other._high))
                and bool(np.array_equal(self._low, other._low))
                and bool(np.array_equal(self._close, other._close))
                and bool(np.array_equal(self._volume, other._volume))
            )
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self)
        span = f"{int(self._ts[0])}..{int(self._ts[n - 1])}" if n else "empty"
        return (
            f"CandleSeries({self.venue}/{self.market}/{self.resolution_s}s, "
            f"{n} bars, {span})"
        )

    def to_list(self) -> list[Candle]:
        """Materialise every candle (costs one Python object per bar)."""
        return [self.candle(i) for i in range(len(self))]


Sequence.register(CandleSeries)
