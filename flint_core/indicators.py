"""Indicator kernels behind :mod:`flint.indicators` (compiled in the compiled build).

Each indicator is computed as a whole *causal series*: element ``i`` uses bars
``0..i`` of its input only (NaN until enough bars exist). A per-bar call then
reads one element:

* on a :class:`~flint_core.series.CandleSeries` window (what the engine hands a
  strategy) the series is computed once over the window's root, vectorised,
  stored in ``history.cache`` under ``(series, *params)`` as one list of floats
  per output column (``bollinger``, ``bollinger_width`` and ``z_score`` share
  ``(MEAN_STD, period)``) and read at ``history.stop - 1`` (at ``history.stop``
  for a current candle that follows the window): O(1) amortised per bar. A window
  also remembers the last few series it read (:class:`Read`), so the engine's
  window finds them on later bars without building a key;
* on any other sequence of candles it is computed over that sequence and its
  last element returned.

So a window's value is the plain computation over ``history.root[:history.stop]``:
the same as over ``list(history)`` for fixed-lookback indicators, and for the
recursive ones (EMA, MACD, Wilder's RSI/ATR/ADX) the smoother has run over every
earlier bar of the root. Lengths are checked against ``len(history)`` on both paths.

What to compute is a :class:`Series` record (kernel, price inputs, recursive or
not), not a branch per indicator: the built-ins are the constants ``SMA`` ...
``LOWEST_LOW`` below, and a plugin adds its own kernel the same way, read per bar by
an :class:`Indicator`.

Rolling windows are numpy (sliding-window views, no per-bar Python); the
recursive smoothers are the loop in :meth:`Smoothing.run`, which mypyc compiles.

A root that grows (a paper or live session appends each bar to one) extends its
cached series by the new bars when next read: a fixed-lookback kernel runs over the
new bars and the ``min_bars - 1`` before them, a recursive one with a *resume*
function continues its smoothings (a recursive one without is computed again over the
whole root). Either way the values are bit for bit those of a computation over the
whole root.
"""

import math
import operator
from collections.abc import Callable, Sequence
from typing import Final, SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from flint_core.records import Candle
from flint_core.series import CandleSeries

FloatArray = npt.NDArray[np.float64]

NAN = math.nan

#: Rows of a rolling window processed at once when a temporary is needed (bounds memory).
_CHUNK_VALUES = 1 << 20

# Argument checks


def positive_int(value: object, name: str, what: str) -> int:
    """``value`` as an int >= 1, or a ``TypeError``/``ValueError`` naming ``what``."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{what}: {name} must be an integer, got {value!r}")
    else:
        number = operator.index(value)  # type: ignore[arg-type]  # numpy integers
    if number < 1:
        raise ValueError(f"{what}: {name} must be >= 1, got {number}")
    return number


def too_short(label: str, need: int, got: int) -> IndexError:
    """The error of an indicator called on fewer bars than it needs."""
    return IndexError(f"{label} needs at least {need} bars of history, got {got}")


# Rolling windows (numpy)


def _padded(n: int, period: int, tail: FloatArray) -> FloatArray:
    out = np.full(n, NAN)
    out[period - 1 :] = tail
    return out


def _folded(values: FloatArray, period: int, fold: np.ufunc) -> FloatArray:
    """``fold`` over each ``period`` consecutive values oldest first, aligned on the newest.

    One vectorised pass per position in the window, written into the result in place;
    for a few windows, one accumulation along each (the same operations in the same order).
    """
    n = int(values.shape[0])
    out = np.full(n, NAN)
    if n < period:
        return out
    rows = n - period + 1
    acc = out[period - 1 :]
    if rows * 8 <= period:  # few windows (a grown root's new bars): one pass along each
        for r in range(rows):
            acc[r] = fold.accumulate(values[r : r + period])[-1]
        return out
    acc[:] = values[:rows]
    for k in range(1, period):
        fold(acc, values[k : k + rows], out=acc)
    return out


def rolling_sum(values: FloatArray, period: int) -> FloatArray:
    """Sum of each ``period`` consecutive values (added oldest first), aligned on the newest."""
    return _folded(values, period, np.add)


def rolling_mean(values: FloatArray, period: int) -> FloatArray:
    """Mean of each ``period`` consecutive values, aligned on the newest."""
    out = rolling_sum(values, period)
    out /= period
    return out


def rolling_max(values: FloatArray, period: int) -> FloatArray:
    """Maximum of each ``period`` consecutive values, aligned on the newest."""
    return _folded(values, period, np.maximum)


def rolling_min(values: FloatArray, period: int) -> FloatArray:
    """Minimum of each ``period`` consecutive values, aligned on the newest."""
    return _folded(values, period, np.minimum)


def rolling_mean_std(values: FloatArray, period: int) -> tuple[FloatArray, FloatArray]:
    """Mean and population standard deviation of each ``period`` consecutive values.

    Two passes over values shifted by the window's first value, so a flat window
    has exactly its value as mean and exactly 0 as deviation.
    """
    n = int(values.shape[0])
    mean = np.full(n, NAN)
    std = np.full(n, NAN)
    if n < period:
        return mean, std
    windows = sliding_window_view(values, period)
    rows = int(windows.shape[0])
    step = max(1, _CHUNK_VALUES // period)
    for a in range(0, rows, step):
        b = min(rows, a + step)
        block = windows[a:b]
        shifted = block - block[:, :1]
        offset = shifted.sum(axis=1) / period
        dev = shifted - offset[:, None]
        mean[a + period - 1 : b + period - 1] = block[:, 0] + offset
        std[a + period - 1 : b + period - 1] = np.sqrt((dev * dev).sum(axis=1) / period)
    return mean, std


# Recursive smoothing (the compiled loop)


class Smoothing:
    """An exponential smoothing seeded with a simple mean, run over a series in pieces.

    Element ``start + period - 1`` of the series is the mean of elements
    ``start .. start + period - 1``; each later one is ``prev + alpha * (value - prev)``;
    earlier ones are NaN. ``alpha = 2 / (period + 1)`` gives an EMA, ``1 / period``
    Wilder's smoothing. :meth:`run` continues from the last element it was given, so a
    series smoothed in pieces is the same, bit for bit, as smoothed at once.
    """

    def __init__(self, start: int, period: int, alpha: float) -> None:
        self.start = start
        self.period = period
        self.alpha = alpha
        self.seen = 0  # elements of the series run so far
        self.level = 0.0  # their running sum while seeding, then the smoothed value

    def run(self, values: FloatArray) -> FloatArray:
        """The smoothed values of the series' next ``len(values)`` elements."""
        xs: list[float] = values.tolist()
        n = len(xs)
        out: list[float] = [NAN] * n
        seen = self.seen
        first = self.start + self.period - 1 - seen  # position of the seeded mean in values
        level = self.level
        alpha = self.alpha
        j = max(0, self.start - seen)
        while j < min(first, n):  # seeding: the running sum
            level += xs[j]
            j += 1
        if j == first and j < n:
            level += xs[j]
            level /= self.period
            out[j] = level
            j += 1
        for i in range(j, n):
            level += alpha * (xs[i] - level)
            out[i] = level
        self.seen = seen + n
        self.level = level
        return np.asarray(out, dtype=np.float64)


def _wilder(start: int, period: int) -> Smoothing:
    return Smoothing(start, period, 1.0 / period)


# Whole series


# A recursive series is computed by its *resume* function, ``resume(state, done,
# *columns, *params)``: the rows of bars ``done ..`` of the columns, continuing the
# smoothings in ``state`` (empty when ``done`` is 0: the function fills it). The whole
# series is ``resume([], 0, ...)``; a root that grew continues from where it stopped.


def _from(done: int, *columns: FloatArray) -> list[FloatArray]:
    """``columns`` from the bar before ``done`` on (bar ``done``'s change needs it)."""
    first = max(done - 1, 0)
    return [c[first:] for c in columns]


def _new(values: FloatArray, done: int) -> FloatArray:
    """The rows of bars ``done ..`` of a result computed on :func:`_from`'s columns."""
    return values[1:] if done > 0 else values


def ema_resume(state: list[Smoothing], done: int, close: FloatArray, period: int) -> FloatArray:
    """:func:`ema_series` from bar ``done`` on."""
    if not state:
        state.append(Smoothing(0, period, 2.0 / (period + 1)))
    return state[0].run(close[done:])


def ema_series(close: FloatArray, period: int) -> FloatArray:
    """EMA with ``alpha = 2 / (period + 1)``, seeded with the SMA of the first ``period``."""
    return ema_resume([], 0, close, period)


def wma_series(close: FloatArray, period: int) -> FloatArray:
    """Linearly weighted mean, weights ``1..period`` with the newest heaviest."""
    n = int(close.shape[0])
    if n < period:
        return np.full(n, NAN)
    weights = np.arange(period, 0, -1, dtype=np.float64)  # convolution reverses them
    sums = np.convolve(close, weights, mode="valid")
    return _padded(n, period, sums / (period * (period + 1) / 2.0))


def _changes(close: FloatArray) -> FloatArray:
    out = np.zeros(close.shape[0])
    out[1:] = np.diff(close)
    return out


def rsi_resume(state: list[Smoothing], done: int, close: FloatArray, period: int) -> FloatArray:
    """:func:`rsi_series` from bar ``done`` on."""
    if not state:
        state.extend([_wilder(1, period), _wilder(1, period)])
    (recent,) = _from(done, close)
    change = _new(_changes(recent), done)
    gain = state[0].run(np.maximum(change, 0.0))
    loss = state[1].run(np.maximum(-change, 0.0))
    safe = np.where(loss > 0.0, loss, 1.0)
    rsi = 100.0 - 100.0 / (1.0 + gain / safe)
    rsi = np.where(loss > 0.0, rsi, np.where(gain > 0.0, 100.0, 50.0))
    out: FloatArray = np.where(np.isnan(gain), NAN, rsi)
    return out


def rsi_series(close: FloatArray, period: int) -> FloatArray:
    """Wilder's RSI: ``100 - 100 / (1 + avg gain / avg loss)`` over close-to-close changes."""
    return rsi_resume([], 0, close, period)


def stochastic_series(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> FloatArray:
    """Columns %K (close within the ``period`` high-low range, 0-100) and %D (SMA 3 of %K)."""
    hh = rolling_max(high, period)
    ll = rolling_min(low, period)
    span = hh - ll
    k = np.where(span > 0.0, 100.0 * (close - ll) / np.where(span > 0.0, span, 1.0), 50.0)
    k = np.where(np.isnan(span), NAN, k)
    n = int(close.shape[0])
    d = np.full(n, NAN)
    if n >= period + 2:
        d[period + 1 :] = rolling_mean(k[period - 1 :], 3)[2:]
    return np.column_stack((k, d))


def macd_resume(
    state: list[Smoothing], done: int, close: FloatArray, fast: int, slow: int, signal: int
) -> FloatArray:
    """:func:`macd_series` from bar ``done`` on."""
    if not state:
        state.extend([Smoothing(0, fast, 2.0 / (fast + 1)), Smoothing(0, slow, 2.0 / (slow + 1)),
                      Smoothing(max(fast, slow) - 1, signal, 2.0 / (signal + 1))])
    recent = close[done:]
    line = state[0].run(recent) - state[1].run(recent)
    sig = state[2].run(line)
    return np.column_stack((line, sig, line - sig))


def macd_series(close: FloatArray, fast: int, slow: int, signal: int) -> FloatArray:
    """Columns MACD line (EMA fast - EMA slow), signal (EMA of the line) and histogram."""
    return macd_resume([], 0, close, fast, slow, signal)


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """True range from the second bar on (element 0 is NaN: it has no previous close)."""
    out = np.full(close.shape[0], NAN)
    prev = close[:-1]
    out[1:] = np.maximum(
        high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev))
    )
    return out


def atr_resume(
    state: list[Smoothing], done: int, high: FloatArray, low: FloatArray, close: FloatArray,
    period: int,
) -> FloatArray:
    """:func:`atr_series` from bar ``done`` on."""
    if not state:
        state.append(_wilder(1, period))
    return state[0].run(_new(true_range(*_from(done, high, low, close)), done))


def atr_series(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Wilder's average true range."""
    return atr_resume([], 0, high, low, close, period)


def adx_resume(
    state: list[Smoothing], done: int, high: FloatArray, low: FloatArray, close: FloatArray,
    period: int,
) -> FloatArray:
    """:func:`adx_series` from bar ``done`` on."""
    if not state:
        state.extend([_wilder(1, period), _wilder(1, period), _wilder(1, period),
                      _wilder(period, period)])
    high, low, close = _from(done, high, low, close)
    n = int(close.shape[0])
    up = np.zeros(n)
    down = np.zeros(n)
    up[1:] = high[1:] - high[:-1]
    down[1:] = low[:-1] - low[1:]
    plus_dm = _new(np.where((up > down) & (up > 0.0), up, 0.0), done)
    minus_dm = _new(np.where((down > up) & (down > 0.0), down, 0.0), done)
    tr = state[0].run(_new(true_range(high, low, close), done))
    plus = state[1].run(plus_dm)
    minus = state[2].run(minus_dm)
    safe_tr = np.where(tr > 0.0, tr, 1.0)
    plus_di = np.where(tr > 0.0, 100.0 * plus / safe_tr, 0.0)
    minus_di = np.where(tr > 0.0, 100.0 * minus / safe_tr, 0.0)
    total = plus_di + minus_di
    dx = np.where(total > 0.0, 100.0 * np.abs(plus_di - minus_di) / np.where(
        total > 0.0, total, 1.0), 0.0)
    dx = np.where(np.isnan(tr), NAN, dx)
    return state[3].run(dx)


def adx_series(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Wilder's ADX: Wilder-smoothed DX of Wilder-smoothed directional movement."""
    return adx_resume([], 0, high, low, close, period)


def mean_std_series(close: FloatArray, period: int) -> FloatArray:
    """Columns mean, population standard deviation and z-score of the closes.

    The z-score is ``(close - mean) / std``, 0 when the window is flat (std 0).
    """
    mean, std = rolling_mean_std(close, period)
    z = np.where(std > 0.0, (close - mean) / np.where(std > 0.0, std, 1.0), 0.0)
    z = np.where(np.isnan(std), NAN, z)
    return np.column_stack((mean, std, z))


def volatility_series(close: FloatArray, period: int) -> FloatArray:
    """Population standard deviation of the last ``period`` log returns (per bar)."""
    n = int(close.shape[0])
    returns = np.full(n, NAN)
    returns[1:] = np.log(close[1:] / close[:-1])
    out = np.full(n, NAN)
    if n > period:
        out[1:] = rolling_mean_std(returns[1:], period)[1]
    return out


def vwap_series(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, period: int
) -> FloatArray:
    """Volume-weighted typical price ``(H+L+C)/3``; the plain mean when volume sums to 0."""
    typical = (high + low + close) / 3.0
    weighted = rolling_sum(typical * volume, period)
    total = rolling_sum(volume, period)
    plain = rolling_mean(typical, period)
    out: FloatArray = np.where(total > 0.0, weighted / np.where(total > 0.0, total, 1.0), plain)
    return out


def volume_ratio_series(volume: FloatArray, period: int) -> FloatArray:
    """Newest volume over the mean volume of the last ``period`` bars (1 when that is 0)."""
    mean = rolling_mean(volume, period)
    ratio = np.where(mean > 0.0, volume / np.where(mean > 0.0, mean, 1.0), 1.0)
    out: FloatArray = np.where(np.isnan(mean), NAN, ratio)
    return out


def roc_series(close: FloatArray, period: int) -> FloatArray:
    """Rate of change as a decimal: ``(close - close period bars earlier) / that close``."""
    out = np.full(close.shape[0], NAN)
    out[period:] = (close[period:] - close[:-period]) / close[:-period]
    return out


# Inputs

#: Price fields an indicator reads, by number (see :attr:`Series.inputs`).
FIELDS: Final = ("close", "high", "low", "volume", "open")
CLOSE: Final = 0
HIGH: Final = 1
LOW: Final = 2
VOLUME: Final = 3
OPEN: Final = 4


class Columns:
    """The price columns an indicator reads: a window's root up to its end, or a
    candle list from ``first`` on; ``extra`` (a current candle) is appended when given."""

    def __init__(
        self,
        series: CandleSeries | None,
        candles: Sequence[Candle],
        first: int,
        extra: Candle | None = None,
    ) -> None:
        self.series = series
        self.candles = candles
        self.first = first
        self.extra = extra

    def _pick(self, field: int) -> FloatArray:
        candles = self.candles
        count = len(candles) - self.first
        items = (candles[i] for i in range(self.first, len(candles)))
        if field == CLOSE:
            return np.fromiter((c.close for c in items), dtype=np.float64, count=count)
        if field == HIGH:
            return np.fromiter((c.high for c in items), dtype=np.float64, count=count)
        if field == LOW:
            return np.fromiter((c.low for c in items), dtype=np.float64, count=count)
        if field == VOLUME:
            return np.fromiter((c.volume for c in items), dtype=np.float64, count=count)
        return np.fromiter((c.open for c in items), dtype=np.float64, count=count)

    def column(self, field: int) -> FloatArray:
        """The values of price field ``field`` (:data:`FIELDS`), oldest first."""
        series = self.series
        if series is None:
            values = self._pick(field)
        elif field == CLOSE:  # only this column: a series from candles reads it on first use
            values = series.closes
        elif field == HIGH:
            values = series.highs
        elif field == LOW:
            values = series.lows
        elif field == VOLUME:
            values = series.volumes
        else:
            values = series.opens
        extra = self.extra
        if extra is None:
            return values
        fields = (extra.close, extra.high, extra.low, extra.volume, extra.open)
        return np.append(values, fields[field])


# Series kernels


class Series:
    """An indicator's whole causal series: what a window computes once and caches.

    ``kernel(*columns, *params)`` gets the price columns ``inputs`` names (numbers of
    :data:`FIELDS`, at least one) followed by the indicator's parameters and returns one
    value per bar, element ``i`` from bars ``0..i`` only (NaN before enough bars): a 1-D
    array, or 2-D with a column per output. ``recursive`` kernels (EMA-like smoothers)
    depend on every earlier bar, so a one-off computation over a candle list starts at
    its first bar; the others need only the last ``min_bars``. ``params`` name the
    parameters in messages.

    The cache of a window's root is keyed by the ``Series`` object itself and its
    parameters, so kernels of the same name never share cached values.

    ``resume`` (recursive kernels) continues the series on a grown root:
    ``resume(state, done, *columns, *params)`` returns the rows of bars ``done ..``,
    carrying what it needs between calls in the list ``state`` (empty at ``done = 0``);
    the whole series must be ``resume([], 0, *columns, *params)``.
    """

    def __init__(
        self,
        name: str,
        kernel: Callable[..., FloatArray],
        inputs: tuple[int, ...],
        recursive: bool = False,
        params: tuple[str, ...] = ("period",),
        resume: Callable[..., FloatArray] | None = None,
    ) -> None:
        self.name: Final = name
        self.kernel: Final = kernel
        self.inputs: Final = inputs
        self.recursive: Final = recursive
        self.params: Final = params
        self.resume: Final = resume

    def compute(self, params: tuple[object, ...], cols: Columns) -> FloatArray:
        """The whole series over ``cols`` (checked to have one row per bar)."""
        columns = [cols.column(field) for field in self.inputs]
        args: list[object] = list(columns)
        args.extend(params)
        return self._checked(self.kernel(*args), int(columns[0].shape[0]))

    def extend(
        self, params: tuple[object, ...], root: CandleSeries, done: int, need: int,
        state: list[object],
    ) -> FloatArray:
        """The rows of bars ``done ..`` of the series over ``root``, whose first ``done``
        rows are computed (for the first time when ``done`` is 0). ``need``: the
        fewest bars the indicator accepts, all a fixed-lookback row depends on."""
        n = len(root)
        resume = self.resume
        if resume is not None:
            columns = [Columns(root, (), 0).column(field) for field in self.inputs]
            args: list[object] = [state, done]
            args.extend(columns)
            args.extend(params)
            return self._checked(resume(*args), n - done)
        first = 0 if self.recursive else max(done - need + 1, 0)
        values = self.compute(params, Columns(root.window(first, n), (), 0))
        return values[done - first :]

    def _checked(self, values: object, rows: int) -> FloatArray:
        out = np.asarray(values, dtype=np.float64)
        if out.ndim not in (1, 2) or int(out.shape[0]) != rows or 0 in out.shape[1:]:
            raise ValueError(
                f"the series kernel of {self.name} returned shape {out.shape} for {rows} "
                f"bars; it must return one value (or one row of values) per bar"
            )
        return out

    def label(self, what: str, params: tuple[object, ...]) -> str:
        """``what(period=20)``: the call an error message names."""
        named = [f"{n}={v!r}" for n, v in zip(self.params, params, strict=False)]
        named += [repr(v) for v in params[len(self.params) :]]
        return f"{what}({', '.join(named)})"

    def __repr__(self) -> str:
        return f"Series({self.name!r})"


#: The series behind flint's own indicators (``MEAN_STD`` serves three of them).
SMA: Final = Series("sma", rolling_mean, (CLOSE,))
EMA: Final = Series("ema", ema_series, (CLOSE,), True, resume=ema_resume)
WMA: Final = Series("wma", wma_series, (CLOSE,))
RSI: Final = Series("rsi", rsi_series, (CLOSE,), True, resume=rsi_resume)
STOCHASTIC: Final = Series("stochastic", stochastic_series, (HIGH, LOW, CLOSE))
MACD: Final = Series("macd", macd_series, (CLOSE,), True, ("fast", "slow", "signal"),
                     macd_resume)
MEAN_STD: Final = Series("mean_std", mean_std_series, (CLOSE,))
ATR: Final = Series("atr", atr_series, (HIGH, LOW, CLOSE), True, resume=atr_resume)
VOLATILITY: Final = Series("volatility", volatility_series, (CLOSE,))
VWAP: Final = Series("vwap", vwap_series, (HIGH, LOW, CLOSE, VOLUME))
VOLUME_RATIO: Final = Series("volume_ratio", volume_ratio_series, (VOLUME,))
ROC: Final = Series("roc", roc_series, (CLOSE,))
ADX: Final = Series("adx", adx_series, (HIGH, LOW, CLOSE), True, resume=adx_resume)
HIGHEST_HIGH: Final = Series("highest_high", rolling_max, (HIGH,))
LOWEST_LOW: Final = Series("lowest_low", rolling_min, (LOW,))


# Reading a series at a bar


def _as_columns(values: FloatArray) -> list[list[float]]:
    if values.ndim == 1:
        return [values.tolist()]
    return [values[:, j].tolist() for j in range(int(values.shape[1]))]


def follows(history: CandleSeries, candle: Candle) -> bool:
    """Whether ``candle`` is the bar of ``history``'s root right after the window."""
    if candle is history.following:
        return True
    root = history.root
    stop = history.stop
    return stop < len(root) and root.candle(stop) == candle


def lookup(
    history: Sequence[Candle],
    series: Series,
    params: tuple[object, ...],
    need: int,
    what: str,
    candle: Candle | None = None,
) -> tuple[list[list[float]], int]:
    """The columns of ``series`` with ``params`` and the position of the bar asked about.

    That bar is ``history``'s newest, or ``candle`` appended after it when given.
    ``need`` is the fewest bars the indicator ``what`` accepts (else ``IndexError``).
    A window's columns are cached on its root as lists of floats (cheapest to index
    per bar), and read one bar past the window when ``candle`` is the root's next
    bar (the engine's current candle); any other input gets just the newest row,
    computed on the call, at position 0.
    """
    if isinstance(history, CandleSeries):
        return window_lookup(history, series, params, need, what, candle)
    got = len(history) + (0 if candle is None else 1)
    if got < need:
        raise too_short(series.label(what, params), need, got)
    first = 0 if series.recursive else got - need
    return _as_columns(series.compute(params, Columns(None, history, first, candle))[-1:]), 0


#: Cache reads a window remembers (see :class:`Read`).
READS_KEPT: Final = 8


class Read:
    """A cached series a window has read: the :class:`Series`, its period and its columns.

    A window (``CandleSeries._reads``) keeps the last :data:`READS_KEPT` of them, newest
    first, so an indicator read on every bar finds its series by comparing two fields
    instead of building, hashing and comparing a key tuple. The root's cache stays the
    owner; the entries point at its columns, whose values never change (they only grow
    with a root that grows).
    """

    def __init__(
        self, series: Series, period: int, columns: list[list[float]], after: "Read | None"
    ) -> None:
        self.series = series
        self.period = period
        self.columns = columns
        self.after = after


def lookup_period(
    history: Sequence[Candle],
    series: Series,
    period: int,
    need: int,
    what: str,
    candle: Candle | None = None,
) -> tuple[list[list[float]], int]:
    """:func:`lookup` of ``series`` with one integer parameter, remembered on a window."""
    if isinstance(history, CandleSeries) and (candle is None or follows(history, candle)):
        return remembered(history, series, period, need, what, candle is not None)
    return lookup(history, series, (period,), need, what, candle)


def remembered(
    history: CandleSeries, series: Series, period: int, need: int, what: str, with_candle: bool
) -> tuple[list[list[float]], int]:
    """The cached ``series`` of ``period`` on a window, found among its :class:`Read` s."""
    at = history.stop if with_candle else history.stop - 1
    got = at + 1 - history.start
    if got < need:
        raise too_short(series.label(what, (period,)), need, got)
    first: Read | None = history._reads
    read = first
    kept = 1
    while read is not None:
        if read.series is series and read.period == period:
            columns = read.columns
            if at >= len(columns[0]):  # the root grew since
                cached_columns(history, series, (period,), need)
            return columns, at
        if kept == READS_KEPT - 1:
            read.after = None  # room for the new one: forget the oldest
        kept += 1
        read = read.after
    columns = cached_columns(history, series, (period,), need)
    history._reads = Read(series, period, columns, first)
    return columns, at


class Cached:
    """A series cached on a root: its columns (a float per bar, as many bars as the root
    had when last read) and a recursive series' resume state (see :class:`Series`)."""

    def __init__(self, columns: list[list[float]], state: list[object]) -> None:
        self.columns = columns
        self.state = state


def cached_columns(
    history: CandleSeries, series: Series, params: tuple[object, ...], need: int
) -> list[list[float]]:
    """The columns of ``series`` with ``params`` over ``history``'s root: computed once,
    extended in place by the bars a growing root gained since (``need``: see
    :meth:`Series.extend`)."""
    root = history.root
    cache = history.cache
    key = (series, *params)
    entry: Cached | None = cache.get(key)
    if entry is None:
        state: list[object] = []
        entry = Cached(_as_columns(series.extend(params, root, 0, need, state)), state)
        cache[key] = entry
    else:
        done = len(entry.columns[0])
        if done < len(root):
            rows = _as_columns(series.extend(params, root, done, need, entry.state))
            for j, column in enumerate(entry.columns):
                column.extend(rows[j])
    return entry.columns


def window_lookup(
    history: CandleSeries,
    series: Series,
    params: tuple[object, ...],
    need: int,
    what: str,
    candle: Candle | None,
) -> tuple[list[list[float]], int]:
    """:func:`lookup` on a window (typed, so the compiled build reads it natively)."""
    stop = history.stop
    at = stop - 1 if candle is None else stop
    got = at + 1 - history.start
    if got < need:
        raise too_short(series.label(what, params), need, got)
    if candle is None or follows(history, candle):
        return cached_columns(history, series, params, need), at
    first = 0 if series.recursive else stop - need + 1
    cols = Columns(history.root.window(first, stop), (), 0, candle)
    return _as_columns(series.compute(params, cols)[-1:]), 0


class Indicator:
    """An indicator read bar by bar from its cached :class:`Series`: how a plugin adds
    one with the built-ins' O(1) path (build it with ``flint.indicators.series_indicator``).

    ``indicator(history, *params, candle=None)`` is the series at ``history``'s newest
    bar (or at ``candle`` right after it): a float, or a tuple for a 2-D series. It
    needs ``min_bars(*params)`` bars (``candle`` counts as one), else ``IndexError``.
    """

    def __init__(
        self, series: Series, min_bars: Callable[..., object], description: str = ""
    ) -> None:
        self.series: Final = series
        self.min_bars: Final = min_bars
        self.description: Final = description

    def __call__(
        self, history: Sequence[Candle], *params: object, candle: Candle | None = None
    ) -> object:
        series = self.series
        need = self.min_bars(*params)
        if not isinstance(need, int) or need < 1:
            raise ValueError(
                f"{series.label(series.name, params)}: min_bars gave {need!r}; it must be "
                f"an integer >= 1"
            )
        period = params[0] if len(params) == 1 else None
        if isinstance(period, int):
            columns, i = lookup_period(history, series, period, need, series.name, candle)
        else:
            columns, i = lookup(history, series, params, need, series.name, candle)
        if len(columns) == 1:
            return columns[0][i]
        return tuple([values[i] for values in columns])

    def __repr__(self) -> str:
        return f"<indicator {self.series.name}>"


# Per-bar values: the functions of flint.indicators itself (re-exported there, so a
# strategy's call reaches compiled code without an interpreted frame in between)


def sma(history: Sequence[Candle], period: SupportsIndex, *, candle: Candle | None = None) -> float:
    """Simple moving average: the mean of the last ``period`` closes. Needs ``period`` bars."""
    p = positive_int(period, "period", "sma")
    columns, i = lookup_period(history, SMA, p, p, "sma", candle)
    return columns[0][i]


def ema(history: Sequence[Candle], period: SupportsIndex, *, candle: Candle | None = None) -> float:
    """Exponential moving average of the closes, run over all available history.

    Seeded with the SMA of the first ``period`` closes, then
    ``ema += alpha * (close - ema)`` with ``alpha = 2 / (period + 1)``.
    Needs ``period`` bars.
    """
    p = positive_int(period, "period", "ema")
    columns, i = lookup_period(history, EMA, p, p, "ema", candle)
    return columns[0][i]


def wma(history: Sequence[Candle], period: SupportsIndex, *, candle: Candle | None = None) -> float:
    """Weighted moving average of the last ``period`` closes, weights ``1..period``.

    The newest close weighs ``period``, the oldest 1; divided by the sum of the
    weights, ``period * (period + 1) / 2``. Needs ``period`` bars.
    """
    p = positive_int(period, "period", "wma")
    columns, i = lookup_period(history, WMA, p, p, "wma", candle)
    return columns[0][i]


def rsi(
    history: Sequence[Candle], period: SupportsIndex = 14, *, candle: Candle | None = None
) -> float:
    """Wilder's relative strength index, 0-100, run over all available history.

    Average gain and average loss of the close-to-close changes, each seeded with
    the mean of the first ``period`` changes and then Wilder-smoothed
    (``avg += (x - avg) / period``); ``RSI = 100 - 100 / (1 + gain / loss)``,
    100 when the average loss is 0, 50 when both are 0. Needs ``period + 1`` bars.
    """
    p = positive_int(period, "period", "rsi")
    columns, i = lookup_period(history, RSI, p, p + 1, "rsi", candle)
    return columns[0][i]


def stochastic(
    history: Sequence[Candle], period: SupportsIndex = 14, *, candle: Candle | None = None
) -> tuple[float, float]:
    """Stochastic oscillator ``(%K, %D)``, both 0-100.

    ``%K = 100 * (close - lowest low) / (highest high - lowest low)`` over the
    last ``period`` bars (50 when the range is 0); ``%D`` is the 3-bar SMA of
    ``%K``. Needs ``period + 2`` bars.
    """
    p = positive_int(period, "period", "stochastic")
    columns, i = lookup_period(history, STOCHASTIC, p, p + 2, "stochastic", candle)
    return columns[0][i], columns[1][i]


def macd(
    history: Sequence[Candle],
    fast: SupportsIndex = 12,
    slow: SupportsIndex = 26,
    signal: SupportsIndex = 9,
    *,
    candle: Candle | None = None,
) -> tuple[float, float, float]:
    """MACD ``(line, signal, histogram)``, run over all available history.

    ``line = ema(fast) - ema(slow)`` of the closes; ``signal`` is the EMA of the
    line over ``signal`` bars, seeded with the mean of its first ``signal``
    values; ``histogram = line - signal``. Needs ``max(fast, slow) + signal - 1`` bars.
    """
    f = positive_int(fast, "fast", "macd")
    s = positive_int(slow, "slow", "macd")
    g = positive_int(signal, "signal", "macd")
    columns, i = lookup(history, MACD, (f, s, g), max(f, s) + g - 1, "macd", candle)
    return columns[0][i], columns[1][i], columns[2][i]


def bollinger(
    history: Sequence[Candle],
    period: SupportsIndex = 20,
    num_std: SupportsFloat = 2.0,
    *,
    candle: Candle | None = None,
) -> tuple[float, float, float]:
    """Bollinger bands ``(upper, middle, lower)``.

    ``middle`` is the SMA of the last ``period`` closes and the bands are
    ``middle +/- num_std * std`` with the population standard deviation of those
    closes. Needs ``period`` bars.
    """
    p = positive_int(period, "period", "bollinger")
    columns, i = lookup_period(history, MEAN_STD, p, p, "bollinger", candle)
    mean = columns[0][i]
    band = float(num_std) * columns[1][i]
    return mean + band, mean, mean - band


def bollinger_width(
    history: Sequence[Candle],
    period: SupportsIndex = 20,
    num_std: SupportsFloat = 2.0,
    *,
    candle: Candle | None = None,
) -> float:
    """Bollinger band width ``(upper - lower) / middle`` (see :func:`bollinger`)."""
    p = positive_int(period, "period", "bollinger_width")
    columns, i = lookup_period(history, MEAN_STD, p, p, "bollinger_width", candle)
    return 2.0 * float(num_std) * columns[1][i] / columns[0][i]


def atr(
    history: Sequence[Candle], period: SupportsIndex = 14, *, candle: Candle | None = None
) -> float:
    """Wilder's average true range, run over all available history.

    True range ``max(high - low, |high - prev close|, |low - prev close|)`` from
    the second bar on, seeded with the mean of the first ``period`` true ranges,
    then Wilder-smoothed. Needs ``period + 1`` bars.
    """
    p = positive_int(period, "period", "atr")
    columns, i = lookup_period(history, ATR, p, p + 1, "atr", candle)
    return columns[0][i]


def volatility(
    history: Sequence[Candle], period: SupportsIndex = 20, *, candle: Candle | None = None
) -> float:
    """Standard deviation of the last ``period`` log returns ``ln(close / prev close)``.

    Population standard deviation, per bar (not annualised: multiply by
    ``sqrt(bars per year)`` for that). Needs ``period + 1`` bars.
    """
    p = positive_int(period, "period", "volatility")
    columns, i = lookup_period(history, VOLATILITY, p, p + 1, "volatility", candle)
    return columns[0][i]


def vwap(
    history: Sequence[Candle], period: SupportsIndex = 20, *, candle: Candle | None = None
) -> float:
    """Volume-weighted average price of the last ``period`` bars.

    ``sum(typical * volume) / sum(volume)`` with ``typical = (high + low + close) / 3``;
    the plain mean of the typical prices when the volumes sum to 0. Needs ``period`` bars.
    """
    p = positive_int(period, "period", "vwap")
    columns, i = lookup_period(history, VWAP, p, p, "vwap", candle)
    return columns[0][i]


def volume_ratio(
    history: Sequence[Candle], period: SupportsIndex = 20, *, candle: Candle | None = None
) -> float:
    """Newest volume divided by the mean volume of the last ``period`` bars (newest included).

    1.0 when that mean is 0. Needs ``period`` bars.
    """
    p = positive_int(period, "period", "volume_ratio")
    columns, i = lookup_period(history, VOLUME_RATIO, p, p, "volume_ratio", candle)
    return columns[0][i]


def roc(
    history: Sequence[Candle], period: SupportsIndex = 12, *, candle: Candle | None = None
) -> float:
    """Rate of change as a decimal: ``(close - close_n) / close_n``.

    ``close_n`` is the close ``period`` bars before the newest (0.05 means +5%).
    Needs ``period + 1`` bars.
    """
    p = positive_int(period, "period", "roc")
    columns, i = lookup_period(history, ROC, p, p + 1, "roc", candle)
    return columns[0][i]


def adx(
    history: Sequence[Candle], period: SupportsIndex = 14, *, candle: Candle | None = None
) -> float:
    """Wilder's average directional index, 0-100, run over all available history.

    ``+DM = up move`` when it exceeds the down move and is positive (else 0),
    ``-DM`` likewise; true range, ``+DM`` and ``-DM`` are Wilder-smoothed,
    ``+DI = 100 * +DM / TR``, ``-DI = 100 * -DM / TR``,
    ``DX = 100 * |+DI - -DI| / (+DI + -DI)`` (0 when both are 0), and ADX is DX
    seeded with the mean of its first ``period`` values, then Wilder-smoothed.
    Above about 25 suggests a trend. Needs ``2 * period`` bars.
    """
    p = positive_int(period, "period", "adx")
    columns, i = lookup_period(history, ADX, p, 2 * p, "adx", candle)
    return columns[0][i]


def z_score(
    history: Sequence[Candle], period: SupportsIndex = 20, *, candle: Candle | None = None
) -> float:
    """``(newest close - mean) / std`` over the last ``period`` closes.

    Population standard deviation; 0.0 when the closes are all equal. Needs ``period`` bars.
    """
    p = positive_int(period, "period", "z_score")
    columns, i = lookup_period(history, MEAN_STD, p, p, "z_score", candle)
    return columns[2][i]


def highest_high(
    history: Sequence[Candle], period: SupportsIndex, *, candle: Candle | None = None
) -> float:
    """Highest high of the last ``period`` bars. Needs ``period`` bars."""
    p = positive_int(period, "period", "highest_high")
    columns, i = lookup_period(history, HIGHEST_HIGH, p, p, "highest_high", candle)
    return columns[0][i]


def lowest_low(
    history: Sequence[Candle], period: SupportsIndex, *, candle: Candle | None = None
) -> float:
    """Lowest low of the last ``period`` bars. Needs ``period`` bars."""
    p = positive_int(period, "period", "lowest_low")
    columns, i = lookup_period(history, LOWEST_LOW, p, p, "lowest_low", candle)
    return columns[0][i]


def column(history: Sequence[Candle], field: int, period: object, what: str) -> FloatArray:
    """The last ``period`` values (all when ``None``) of one price column, oldest first.

    ``field`` numbers :data:`FIELDS`. On a window the result is a read-only view.
    """
    n = len(history)
    p = n if period is None else positive_int(period, "period", what)
    if n < p:
        raise too_short(f"{what}(period={p})", p, n)
    if isinstance(history, CandleSeries):
        values = Columns(history, (), 0).column(field)
    else:
        values = Columns(None, history, n - p).column(field)
    return values[values.shape[0] - p :]
