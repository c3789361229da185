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

The value functions (``sma`` ... ``z_score``) are those of
:mod:`flint_core.indicators`, re-exported: in the compiled build a strategy's
``sma(history, 20)`` runs compiled code from the call on, with no interpreted frame.

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

In paper and live sessions ``history`` is a window over a root that grows by each
new bar; the built-ins' cached series extend by the new bars only (the same values,
bit for bit, as computed over the whole root), so they stay O(1) per bar however long
the session runs (a plugin's series: see :func:`series_indicator`).
"""

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from flint_core import indicators as _k
from flint_core.indicators import (
    Indicator,
    Series,
    adx,
    atr,
    bollinger,
    bollinger_width,
    ema,
    highest_high,
    lowest_low,
    macd,
    roc,
    rsi,
    sma,
    stochastic,
    volatility,
    volume_ratio,
    vwap,
    wma,
    z_score,
)
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
    resume: Callable[..., Any] | None = None,
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

    On a root that grows (paper and live sessions) a non-recursive kernel is run over
    the new bars and the ``min_bars - 1`` before them, so ``min_bars`` must cover every
    bar a value depends on. A recursive one is run again over the whole root for each
    new bar unless ``resume(state, done, *columns, *params)`` continues it: it returns
    the rows of bars ``done ..`` of the columns (whole columns, every bar so far),
    keeping what it needs between calls in the list ``state`` (empty when ``done`` is
    0), and the kernel's result must equal ``resume([], 0, *columns, *params)``.
    """
    fields = [_field(what) for what in inputs]
    if not fields:
        raise ValueError("series_indicator needs at least one price input")

    def wrap(kernel: Callable[..., Any]) -> Indicator:
        names = list(inspect.signature(kernel).parameters)[len(fields) :]
        series = Series(name or kernel.__name__, kernel, tuple(fields), recursive, tuple(names),
                        resume)
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
