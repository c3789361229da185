"""Columnar candle storage: ``CandleSeries``, a read-only ``Sequence[Candle]``.

A series holds one market/venue/resolution as six numpy columns (about 48 bytes a
bar) and materialises a :class:`~flint_core.records.Candle` only when indexed. A
series made from a list of candles (:meth:`CandleSeries.from_candles`) reads each
column from the candles the first time it is used (a strategy that only reads closes
never pays for the other five) and hands out the list's own candles when indexed.

Every series is a window ``[start, stop)`` over the columns of a *root* series.
Slicing (step 1) is O(1): the slice shares the root's columns and only records new
bounds. The backtest engine hands strategies one window as ``history`` and moves
its bounds bar by bar, so a strategy must not keep ``history`` past the call
(``history[:]`` gives a stable copy of the bounds). Derived series (indicators)
are cached on the root, in :attr:`CandleSeries.cache`, and read at ``stop - 1``.

A root's bars never change. A paper or live session's root grows instead, a bar
appended at a time (:meth:`CandleSeries.grow`): windows keep their bounds, and the
cached indicator series extend by the new bars when next read.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from flint_core.markets import DEFAULT_VENUE
from flint_core.records import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Positions of the columns in ``CandleSeries._cols``.
_TS: Final = 0
_OPEN: Final = 1
_HIGH: Final = 2
_LOW: Final = 3
_CLOSE: Final = 4
_VOLUME: Final = 5


def _column(values: Any, dtype: type, name: str, n: int) -> Any:
    arr: Any = np.ascontiguousarray(values, dtype=dtype)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"column '{name}' must be one-dimensional with {n} values")
    if arr.flags.writeable:  # a read-only view; the caller's array is left alone
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def _read_column(candles: list[Candle], k: int) -> Any:
    """Column ``k`` (see ``_TS`` ... ``_VOLUME``) of ``candles`` as a read-only array."""
    n = len(candles)
    if k == _TS:
        first = candles[0].ts if n else 0
        step = candles[1].ts - first if n > 1 else 0
        i = 0
        while i < n and candles[i].ts == first + i * step:
            i += 1
        if i == n:  # evenly spaced (no gaps): no Python int per bar
            return _column(first + step * np.arange(n, dtype=np.int64), np.int64, "ts", n)
        stamps = [c.ts for c in candles]
        return _column(np.fromiter(stamps, dtype=np.int64, count=n), np.int64, "ts", n)
    if k == _OPEN:
        values = [c.open for c in candles]
    elif k == _HIGH:
        values = [c.high for c in candles]
    elif k == _LOW:
        values = [c.low for c in candles]
    elif k == _CLOSE:
        values = [c.close for c in candles]
    else:
        values = [c.volume for c in candles]
    return _column(np.fromiter(values, dtype=np.float64, count=n), np.float64, "column", n)


_NO_TS: Final = _column(np.zeros(0, dtype=np.int64), np.int64, "ts", 0)
_NO_VALUES: Final = _column(np.zeros(0), np.float64, "values", 0)


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
        venue: str = DEFAULT_VENUE,
    ) -> None:
        n = len(ts)
        # the root's columns, shared with its windows; None: not read from _source yet
        self._cols: list[Any] = [
            _column(ts, np.int64, "ts", n),
            _column(open, np.float64, "open", n),
            _column(high, np.float64, "high", n),
            _column(low, np.float64, "low", n),
            _column(close, np.float64, "close", n),
            _column(volume, np.float64, "volume", n),
        ]
        self._source: list[Candle] | None = None  # the candles a from_candles root reads
        self._size = n  # bars in the root
        self.market = market
        self.resolution_s = resolution_s
        self.venue = venue
        self._start = 0
        self._stop = n
        self._root: CandleSeries | None = None
        self._cache: dict[Any, Any] | None = None
        self._following: Candle | None = None
        self._reads: Any = None  # flint_core.indicators' memo of this window's cache reads

    @classmethod
    def from_candles(
        cls,
        candles: Iterable[Candle],
        market: str | None = None,
        resolution_s: int | None = None,
        venue: str | None = None,
    ) -> "CandleSeries":
        """Build a series from candles that all share market, venue and resolution.

        The series keeps a copy of the list: changing the list later changes nothing.
        """
        items: list[Candle] = list(candles)
        first = items[0] if items else None
        mk = market if market is not None else (first.market if first else "")
        res = resolution_s if resolution_s is not None else (first.resolution_s if first else 3600)
        ven = venue if venue is not None else (first.venue if first else DEFAULT_VENUE)
        for i in range(len(items)):
            c = items[i]
            if c.market != mk or c.resolution_s != res or c.venue != ven:
                raise ValueError(
                    f"candle {i} is {c.venue}/{c.market}/{c.resolution_s}s but the series "
                    f"is {ven}/{mk}/{res}s: a CandleSeries holds one market, venue and resolution"
                )
        series = cls(_NO_TS, _NO_VALUES, _NO_VALUES, _NO_VALUES, _NO_VALUES, _NO_VALUES, mk, res,
                     ven)
        series._cols = [None] * 6
        series._source = items
        series._size = series._stop = len(items)
        return series

    def grow(self, size: int, columns: Sequence[Any] | None = None) -> None:
        """Make this root ``size`` bars long, the bars it has unchanged.

        Its columns (ts int64, open, high, low, close, volume float64, contiguous and of
        one length) are kept as read-only views, without a copy, and longer than the root
        when they have room for bars to come: the caller writes a bar past the root's end,
        then calls this. ``columns`` replaces them (same first values, e.g. after moving
        to larger arrays); ``None`` keeps them.
        """
        if self._root is not None or self._source is not None:
            raise ValueError("only a root made from columns can grow")
        cols = self._cols
        if columns is not None:
            if len(columns) != 6:
                raise ValueError("a root grows over 6 columns: ts, open, high, low, close, volume")
            room = len(columns[0])
            for k in range(6):  # read-only views (no copy of contiguous columns), checked
                cols[k] = _column(columns[k], np.int64 if k == _TS else np.float64,
                                  "ts" if k == _TS else "values", room)
        if not self._size <= size <= len(cols[_TS]):  # (every column is as long)
            raise ValueError(f"a root of {self._size} bars cannot grow to {size} over "
                             f"columns of {len(cols[_TS])} values")
        self._size = self._stop = size

    def _col(self, k: int) -> Any:
        """Column ``k`` of the root (read from the candles on first use)."""
        cols = self._cols
        col = cols[k]
        if col is None:
            source = self._source
            assert source is not None
            col = _read_column(source, k)
            cols[k] = col
        return col

    # Window over the root

    @property
    def root(self) -> "CandleSeries":
        """The series whose columns this window reads (itself for a root)."""
        return self if self._root is None else self._root

    @property
    def start(self) -> int:
        """Position of this window's first bar in the root."""
        return self._start

    @property
    def stop(self) -> int:
        """Position one past this window's newest bar in the root."""
        return self._stop

    @property
    def cache(self) -> dict[Any, Any]:
        """Per-root store for derived full-length series (e.g. indicator values)."""
        root = self.root
        if root._cache is None:
            root._cache = {}
        return root._cache

    def window(self, start: int, stop: int) -> "CandleSeries":
        """A new window ``[start, stop)`` in root positions over the same columns."""
        root = self.root
        n = root._size
        if not 0 <= start <= stop <= n:
            raise IndexError(f"window [{start}, {stop}) is outside a root of {n} bars")
        out = CandleSeries(
            _NO_TS, _NO_VALUES, _NO_VALUES, _NO_VALUES, _NO_VALUES, _NO_VALUES,
            root.market, root.resolution_s, root.venue,
        )
        out._cols = root._cols
        out._source = root._source
        out._root = root
        out._start = start
        out._stop = stop
        return out

    def move_to(self, start: int, stop: int, following: Candle | None = None) -> None:
        """Move this window in place (for the engine's reusable ``history``).

        ``following`` is the root's candle at ``stop`` (the bar a strategy decides on
        with this window as its history) when the caller has that object at hand; it
        lets indicators given that candle skip comparing it with the root's bar.
        """
        self._start = start
        self._stop = stop
        self._following = following

    @property
    def following(self) -> Candle | None:
        """The candle :meth:`move_to` named as the root's bar at ``stop``, if any."""
        return self._following

    # Columns (read-only numpy views of the window, no copy)

    @property
    def timestamps(self) -> IntArray:
        """Bar open times, unix seconds."""
        column: IntArray = self._col(_TS)
        return column[self._start : self._stop]

    @property
    def opens(self) -> FloatArray:
        """Open prices."""
        column: FloatArray = self._col(_OPEN)
        return column[self._start : self._stop]

    @property
    def highs(self) -> FloatArray:
        """High prices."""
        column: FloatArray = self._col(_HIGH)
        return column[self._start : self._stop]

    @property
    def lows(self) -> FloatArray:
        """Low prices."""
        column: FloatArray = self._col(_LOW)
        return column[self._start : self._stop]

    @property
    def closes(self) -> FloatArray:
        """Close prices."""
        column: FloatArray = self._col(_CLOSE)
        return column[self._start : self._stop]

    @property
    def volumes(self) -> FloatArray:
        """Volumes in base units."""
        column: FloatArray = self._col(_VOLUME)
        return column[self._start : self._stop]

    # Sequence protocol

    def __len__(self) -> int:
        return self._stop - self._start

    def candle(self, i: int) -> Candle:
        """The candle at position ``i`` of the window (negative counts from the end)."""
        n = self._stop - self._start
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError(f"candle index out of range for a series of {n}")
        j = self._start + i
        source = self._source
        if source is not None:
            return source[j]
        return Candle(
            int(self._col(_TS)[j]),
            float(self._col(_OPEN)[j]),
            float(self._col(_HIGH)[j]),
            float(self._col(_LOW)[j]),
            float(self._col(_CLOSE)[j]),
            float(self._col(_VOLUME)[j]),
            self.market,
            self.resolution_s,
            self.venue,
        )

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._sliced(key)
        return self.candle(int(key))

    def _sliced(self, key: slice) -> "CandleSeries":
        first, last, step = key.indices(self._stop - self._start)
        if step == 1:
            return self.window(self._start + first, self._start + max(first, last))
        picked = np.arange(first, last, step, dtype=np.int64) + self._start
        return CandleSeries(
            self._col(_TS)[picked], self._col(_OPEN)[picked], self._col(_HIGH)[picked],
            self._col(_LOW)[picked], self._col(_CLOSE)[picked], self._col(_VOLUME)[picked],
            self.market, self.resolution_s, self.venue,
        )

    def __iter__(self) -> Iterator[Candle]:
        for i in range(self._stop - self._start):
            yield self.candle(i)

    def __reversed__(self) -> Iterator[Candle]:
        for i in range(self._stop - self._start - 1, -1, -1):
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
                and bool(np.array_equal(self.timestamps, other.timestamps))
                and bool(np.array_equal(self.opens, other.opens))
                and bool(np.array_equal(self.highs, other.highs))
                and bool(np.array_equal(self.lows, other.lows))
                and bool(np.array_equal(self.closes, other.closes))
                and bool(np.array_equal(self.volumes, other.volumes))
            )
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self)
        ts = self._col(_TS)
        span = f"{int(ts[self._start])}..{int(ts[self._stop - 1])}" if n else "empty"
        return (
            f"CandleSeries({self.venue}/{self.market}/{self.resolution_s}s, "
            f"{n} bars, {span})"
        )

    def to_list(self) -> list[Candle]:
        """Materialise every candle (costs one Python object per bar)."""
        return [self.candle(i) for i in range(len(self))]


Sequence.register(CandleSeries)
