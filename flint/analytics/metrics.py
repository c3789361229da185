"""Performance metrics of an equity curve and a list of closed trades.

One annualisation everywhere: a year is 365 days of bars of the run's resolution,
``periods_per_year = 365 * 86400 / resolution_s``. Returns are simple bar returns
of the equity curve. Ratios with a zero denominator follow one rule: ``inf`` when
the numerator is positive, ``0.0`` otherwise.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

SECONDS_PER_YEAR = 365 * 86400

FloatArray = npt.NDArray[np.float64]


def periods_per_year(resolution_s: int) -> float:
    """Bars in a 365-day year at ``resolution_s`` seconds per bar."""
    if resolution_s <= 0:
        raise ValueError(f"resolution_s must be > 0, got {resolution_s}")
    return SECONDS_PER_YEAR / resolution_s


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; ``inf`` or ``0.0`` (by the numerator's sign) when it is ~0."""
    if abs(denominator) < 1e-12:
        return math.inf if numerator > 0 else 0.0
    return numerator / denominator


def bar_returns(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Simple returns between consecutive equity points (0 after equity reached <= 0)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size < 2:
        return np.zeros(0)
    prev = eq[:-1]
    out = np.zeros(eq.size - 1)
    np.divide(eq[1:] - prev, prev, out=out, where=prev > 0)
    return out


def sharpe_ratio(returns: FloatArray, ppy: float) -> float:
    """Annualised mean / sample standard deviation (ddof 1) of bar returns."""
    if returns.size < 2:
        return 0.0
    std = float(np.std(returns, ddof=1))
    if std < 1e-12:
        return 0.0
    return float(np.mean(returns)) / std * math.sqrt(ppy)


def rolling_sharpe(returns: FloatArray, window: int, ppy: float) -> FloatArray:
    """Sharpe ratio of each run of ``window`` consecutive returns (``len - window + 1`` values).

    Same definition as :func:`sharpe_ratio` (sample deviation, 0 when it is ~0); empty
    when there are fewer than ``window`` returns.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    r = np.asarray(returns, dtype=np.float64)
    if r.size < window:
        return np.zeros(0)
    centred = r - r.mean()  # sums of centred values lose less precision
    s1 = np.concatenate(([0.0], np.cumsum(centred)))
    s2 = np.concatenate(([0.0], np.cumsum(centred * centred)))
    total = s1[window:] - s1[:-window]
    variance = np.maximum((s2[window:] - s2[:-window] - total * total / window) / (window - 1), 0)
    std = np.sqrt(variance)
    mean = total / window + r.mean()
    out = np.zeros(std.size)
    np.divide(mean, std, out=out, where=std >= 1e-12)
    return out * math.sqrt(ppy)


def sortino_ratio(returns: FloatArray, ppy: float) -> float:
    """Annualised mean / downside deviation, sqrt(mean(min(r, 0)^2)) over all returns."""
    if returns.size < 2:
        return 0.0
    mean = float(np.mean(returns))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside < 1e-12:
        return math.inf if mean > 0 else 0.0
    return mean / downside * math.sqrt(ppy)


def drawdown_curve(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Drawdown at each point as a fraction of the running peak (0 at a new high)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return np.zeros(0)
    peak = np.maximum.accumulate(eq)
    out = np.zeros(eq.size)
    np.divide(peak - eq, peak, out=out, where=peak > 0)
    return out


def max_drawdown(equity: Sequence[float] | FloatArray) -> float:
    """Deepest drawdown, as a fraction of the running peak."""
    dd = drawdown_curve(equity)
    return float(dd.max()) if dd.size else 0.0


def max_drawdown_duration(equity: Sequence[float] | FloatArray) -> int:
    """Longest stretch of bars spent below a previous peak (peak to recovery, or to the end)."""
    under = np.concatenate(([False], drawdown_curve(equity) > 0, [False]))
    edges = np.flatnonzero(under[1:] != under[:-1])  # starts and ends of runs, alternating
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def cagr(initial: float, final: float, n_bars: int, ppy: float) -> float:
    """Compound annual growth over ``n_bars`` bars (``-1`` once equity is gone).

    A short run's gain compounded over a year can exceed any float: that is ``inf``.
    """
    if initial <= 0 or n_bars <= 0:
        return 0.0
    if final <= 0:
        return -1.0
    try:
        return float((final / initial) ** (ppy / n_bars) - 1.0)
    except OverflowError:
        return math.inf


#: Trade statistics that have no value when no trade closed (their 0.0 is a placeholder).
NEEDS_TRADES = frozenset({
    "win_rate", "profit_factor", "avg_win", "avg_loss", "payoff_ratio", "expectancy",
    "best_trade", "worst_trade",
})


def undefined(name: str, metrics: Mapping[str, Any]) -> bool:
    """Whether metric ``name`` is undefined in ``metrics`` (a trade statistic, no trades)."""
    return name in NEEDS_TRADES and not metrics.get("total_trades")


def trade_statistics(pnls: Sequence[float]) -> dict[str, float]:
    """Win rate, profit factor, averages, payoff, expectancy, best and worst of trade PnLs.

    A trade with PnL <= 0 counts as a loss (break-even included).
    """
    p = np.asarray(pnls, dtype=np.float64)
    wins, losses = p[p > 0], p[p <= 0]
    n = int(p.size)
    win_rate = wins.size / n if n else 0.0
    avg_win = float(wins.mean()) if wins.size else 0.0
    avg_loss = float(losses.mean()) if losses.size else 0.0
    return {
        "total_trades": float(n),
        "winning_trades": float(wins.size),
        "losing_trades": float(losses.size),
        "win_rate": win_rate,
        "profit_factor": safe_ratio(float(wins.sum()), abs(float(losses.sum()))),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "payoff_ratio": safe_ratio(avg_win, abs(avg_loss)),
        "expectancy": win_rate * avg_win + (1 - win_rate) * avg_loss,
        "best_trade": float(p.max()) if n else 0.0,
        "worst_trade": float(p.min()) if n else 0.0,
    }
