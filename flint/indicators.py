"""Technical indicators computed from ``history``, the bars before the current one.

Every function takes ``history`` (newest last; in a strategy, the bars *before*
``candle``) and returns the indicator's value at ``history[-1]``, computed from
those bars only. Too short a history raises ``IndexError`` saying how many bars
the call needs; a bad period raises ``TypeError`` or ``ValueError``.

``history`` may be any sequence of :class:`~flint.models.Candle` (computed on
each call) or, as the engine passes it, a :class:`~flint.models.CandleSeries`
window: then the whole causal series is computed once, vectorised, kept in
``history.cache`` and read at the window's end, so calling ``sma(history, 20)``
on every bar costs O(1) per bar.

Exactly what a window computes: the value over ``history.root[:history.stop]``,
every bar of the window's root up to its end. For indicators with a fixed
lookback that is the value over ``list(history)``. The recursive ones (``ema``,
``macd``, and Wilder's ``rsi``, ``atr``, ``adx``) run "over all available
history", so on a window they have also smoothed the root's bars before
``history.start`` (earlier bars only: nothing from the future). The minimum
length is always checked against ``len(history)``. Pass ``list(history)`` to
compute over exactly the window's bars.

The current bar: ``history`` never holds ``candle``, the bar ``on_candle`` is
deciding on. A strategy that decides at that bar's close with the indicator
*including* it passes it as ``candle=``: ``sma(history, 20, candle=candle)`` is
the mean of the last 19 closes of ``history`` and ``candle.close``, i.e. the value
as if ``candle`` were appended to ``history`` (every value function takes it; the
column helpers ``closes`` ... ``volumes`` do not). On the engine's window, whose
root holds ``candle`` right after the window (the engine names it as the window's
``following``), that is the cached series read one bar further: still O(1) per
bar, and nothing after ``candle`` is ever read. With any other candle (or a plain
list as ``history``) the value is computed over ``history`` plus ``candle`` on
the call. The minimum length counts ``candle`` as one bar.

Conventions: standard deviations are population ones (divide by ``n``); the
EMA has ``alpha = 2 / (period + 1)`` and is seeded with the simple mean of its
first ``period`` inputs; Wilder smoothing has ``alpha = 1 / period`` with the
same seeding.

Plugins add indicators through the ``flint_register_indicators`` hook (these are
registered as flint's built-in ones, :data:`BUILT_IN`); :func:`get` returns any
registered indicator by name, in strategy files too::

    typical = indicators.get("typical_price")   # once, e.g. in __init__
    value = typical(history, 14)                 # per bar

An indicator a plugin builds with :func:`series_indicator` (from its whole-series
kernel) is cached and read per bar exactly like the built-ins: O(1) per bar.
"""

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from flint_core import indicators as _k
from flint_core.indicators import Indicator, Series
from flint_core.records import Candle

__all__ = [
    "adx", "atr", "bollinger", "bollinger_width", "closes", "ema", "get", "highest_high", "highs",
    "lowest_low", "lows", "macd", "roc", "rsi", "sma", "stochastic", "volatility", "volume_ratio",
    "volumes", "vwap", "wma", "z_score",
]

#: flint's own indicators, registered by the built-in plugin ``flint._builtins.indicators``.
BUILT_IN = tuple(name for name in __all__ if name != "get")

History = Sequence[Candle]
FloatArray = npt.NDArray[np.float64]


def get(name: str) -> Callable[..., Any]:
    """The indicator registered as ``name``: a built-in or one a plugin registered.

    ``get("sma")`` is :func:`sma`; an unknown name raises ``KeyError`` listing the
    registered ones (:class:`flint.plugins.PluginNotFound`).
    """
    from flint.plugins import get_indicator

    return get_indicator(name)


def series_indicator(
    name: str | None = None,
    *,
    inputs: Sequence[str] = ("close",),
    min_bars: Callable[..., int],
    recursive: bool = False,
) -> Callable[[Callable[..., Any]], Indicator]:
    """Turn a whole-series kernel into an indicator with the built-ins' cached path.

    Decorate ``kernel(*columns, *params)``: it receives the price columns named by
    ``inputs`` (``"close"``, ``"high"``, ``"low"``, ``"volume"``, ``"open"``; float64
    arrays, oldest first) and the call's parameters, and returns the causal series:
    one value per bar (a 2-D array for several outputs), element ``i`` from bars
    ``0..i`` only. ``min_bars(*params)`` is the fewest bars a call accepts;
    ``recursive=True`` for smoothers that depend on every earlier bar. The result,
    ``indicator(history, *params, candle=None)``, computes the series once per window
    root and reads it per bar. ``name`` defaults to the kernel's name, the description
    to its docstring's first line; ``indicator.series.kernel`` is the kernel itself.
    """
    fields = [_field(what) for what in inputs]
    if not fields:
        raise ValueError("series_indicator needs at least one price input")

    def wrap(kernel: Callable[..., Any]) -> Indicator:
        names = list(inspect.signature(kernel).parameters)[len(fields) :]
        series = Series(name or kernel.__name__, kernel, tuple(fields), recursive, tuple(names))
        description = (kernel.__doc__ or "").strip().split("\n", 1)[0]
        return Indicator(series, min_bars, description)

    return wrap


def _field(what: str) -> int:
    if what not in _k.FIELDS:
        raise ValueError(f"unknown price input {what!r}; choose from {', '.join(_k.FIELDS)}")
    return _k.FIELDS.index(what)


def closes(history: History, period: int | None = None) -> FloatArray:
    """Close prices of the last ``period`` bars (all when ``None``), oldest first.

    On a window this is a read-only view of its column (no copy).
    """
    return _k.column(history, _k.CLOSE, period, "closes")


def highs(history: History, period: int | None = None) -> FloatArray:
    """High prices of the last ``period`` bars (all when ``None``), oldest first."""
    return _k.column(history, _k.HIGH, period, "highs")


def lows(history: History, period: int | None = None) -> FloatArray:
    """Low prices of the last ``period`` bars (all when ``None``), oldest first."""
    return _k.column(history, _k.LOW, period, "lows")


def volumes(history: History, period: int | None = None) -> FloatArray:
    """Volumes of the last ``period`` bars (all when ``None``), oldest first."""
    return _k.column(history, _k.VOLUME, period, "volumes")


def sma(history: History, period: int, *, candle: Candle | None = None) -> float:
    """Simple moving average: the mean of the last ``period`` closes. Needs ``period`` bars."""
    return _k.sma(history, period, candle)


def ema(history: History, period: int, *, candle: Candle | None = None) -> float:
    """Exponential moving average of the closes, run over all available history.

    Seeded with the SMA of the first ``period`` closes, then
    ``ema += alpha * (close - ema)`` with ``alpha = 2 / (period + 1)``.
    Needs ``period`` bars.
    """
    return _k.ema(history, period, candle)


def wma(history: History, period: int, *, candle: Candle | None = None) -> float:
    """Weighted moving average of the last ``period`` closes, weights ``1..period``.

    The newest close weighs ``period``, the oldest 1; divided by the sum of the
    weights, ``period * (period + 1) / 2``. Needs ``period`` bars.
    """
    return _k.wma(history, period, candle)


def rsi(history: History, period: int = 14, *, candle: Candle | None = None) -> float:
    """Wilder's relative strength index, 0-100, run over all available history.

    Average gain and average loss of the close-to-close changes, each seeded with
    the mean of the first ``period`` changes and then Wilder-smoothed
    (``avg += (x - avg) / period``); ``RSI = 100 - 100 / (1 + gain / loss)``,
    100 when the average loss is 0, 50 when both are 0. Needs ``period + 1`` bars.
    """
    return _k.rsi(history, period, candle)


def stochastic(
    history: History, period: int = 14, *, candle: Candle | None = None
) -> tuple[float, float]:
    """Stochastic oscillator ``(%K, %D)``, both 0-100.

    ``%K = 100 * (close - lowest low) / (highest high - lowest low)`` over the
    last ``period`` bars (50 when the range is 0); ``%D`` is the 3-bar SMA of
    ``%K``. Needs ``period + 2`` bars.
    """
    return _k.stochastic(history, period, candle)


def macd(
    history: History,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
    *,
    candle: Candle | None = None,
) -> tuple[float, float, float]:
    """MACD ``(line, signal, histogram)``, run over all available history.

    ``line = ema(fast) - ema(slow)`` of the closes; ``signal`` is the EMA of the
    line over ``signal`` bars, seeded with the mean of its first ``signal``
    values; ``histogram = line - signal``. Needs ``max(fast, slow) + signal - 1`` bars.
    """
    return _k.macd(history, fast, slow, signal, candle)


def bollinger(
    history: History, period: int = 20, num_std: float = 2.0, *, candle: Candle | None = None
) -> tuple[float, float, float]:
    """Bollinger bands ``(upper, middle, lower)``.

    ``middle`` is the SMA of the last ``period`` closes and the bands are
    ``middle +/- num_std * std`` with the population standard deviation of those
    closes. Needs ``period`` bars.
    """
    return _k.bollinger(history, period, float(num_std), candle)


def bollinger_width(
    history: History, period: int = 20, num_std: float = 2.0, *, candle: Candle | None = None
) -> float:
    """Bollinger band width ``(upper - lower) / middle`` (see :func:`bollinger`)."""
    return _k.bollinger_width(history, period, float(num_std), candle)


def atr(history: History, period: int = 14, *, candle: Candle | None = None) -> float:
    """Wilder's average true range, run over all available history.

    True range ``max(high - low, |high - prev close|, |low - prev close|)`` from
    the second bar on, seeded with the mean of the first ``period`` true ranges,
    then Wilder-smoothed. Needs ``period + 1`` bars.
    """
    return _k.atr(history, period, candle)


def volatility(history: History, period: int = 20, *, candle: Candle | None = None) -> float:
    """Standard deviation of the last ``period`` log returns ``ln(close / prev close)``.

    Population standard deviation, per bar (not annualised: multiply by
    ``sqrt(bars per year)`` for that). Needs ``period + 1`` bars.
    """
    return _k.volatility(history, period, candle)


def vwap(history: History, period: int = 20, *, candle: Candle | None = None) -> float:
    """Volume-weighted average price of the last ``period`` bars.

    ``sum(typical * volume) / sum(volume)`` with ``typical = (high + low + close) / 3``;
    the plain mean of the typical prices when the volumes sum to 0. Needs ``period`` bars.
    """
    return _k.vwap(history, period, candle)


def volume_ratio(history: History, period: int = 20, *, candle: Candle | None = None) -> float:
    """Newest volume divided by the mean volume of the last ``period`` bars (newest included).

    1.0 when that mean is 0. Needs ``period`` bars.
    """
    return _k.volume_ratio(history, period, candle)


def roc(history: History, period: int = 12, *, candle: Candle | None = None) -> float:
    """Rate of change as a decimal: ``(close - close_n) / close_n``.

    ``close_n`` is the close ``period`` bars before the newest (0.05 means +5%).
    Needs ``period + 1`` bars.
    """
    return _k.roc(history, period, candle)


def adx(history: History, period: int = 14, *, candle: Candle | None = None) -> float:
    """Wilder's average directional index, 0-100, run over all available history.

    ``+DM = up move`` when it exceeds the down move and is positive (else 0),
    ``-DM`` likewise; true range, ``+DM`` and ``-DM`` are Wilder-smoothed,
    ``+DI = 100 * +DM / TR``, ``-DI = 100 * -DM / TR``,
    ``DX = 100 * |+DI - -DI| / (+DI + -DI)`` (0 when both are 0), and ADX is DX
    seeded with the mean of its first ``period`` values, then Wilder-smoothed.
    Above about 25 suggests a trend. Needs ``2 * period`` bars.
    """
    return _k.adx(history, period, candle)


def z_score(history: History, period: int = 20, *, candle: Candle | None = None) -> float:
    """``(newest close - mean) / std`` over the last ``period`` closes.

    Population standard deviation; 0.0 when the closes are all equal. Needs ``period`` bars.
    """
    return _k.z_score(history, period, candle)


def highest_high(history: History, period: int, *, candle: Candle | None = None) -> float:
    """Highest high of the last ``period`` bars. Needs ``period`` bars."""
    return _k.highest_high(history, period, candle)


def lowest_low(history: History, period: int, *, candle: Candle | None = None) -> float:
    """Lowest low of the last ``period`` bars. Needs ``period`` bars."""
    return _k.lowest_low(history, period, candle)
