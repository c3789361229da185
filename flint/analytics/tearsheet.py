"""``generate_tearsheet(result)``: every metric of a backtest, from its equity and trades,
with Monte Carlo confidence intervals of its final PnL and drawdown.

Works on a :class:`~flint.backtest.engine.BacktestResult` or any object with an
``equity_curve``; the bar resolution, initial capital and equity timestamps come
from the result (``resolution_s``, ``initial_capital``, ``timestamps``) or from
the keyword arguments.
"""

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from flint.analytics import metrics as m
from flint.analytics.monte_carlo import MonteCarloResult, run_monte_carlo
from flint_core.markets import DEFAULT_VENUE

#: A trade bootstrap needs this many closed trades; fewer resample bar returns instead.
MIN_TRADES_FOR_BOOTSTRAP = 5

#: Span of the rolling Sharpe ratio: 30 days.
ROLLING_WINDOW_S = 30 * 86400


@attrs.frozen
class Tearsheet:
    """Metrics and curves of one run. ``metrics`` maps metric name to value.

    ``rolling_sharpe`` is the Sharpe ratio of the :data:`ROLLING_WINDOW_S` of bar
    returns ending at each timestamp (empty for shorter runs). ``monte_carlo`` holds the
    resampled paths' percentiles (None when not asked for); their 5-95 % intervals are
    also in ``metrics`` as ``mc_pnl_p5`` .. ``mc_max_drawdown_p95`` and ``mc_prob_profit``.
    """

    metrics: dict[str, float]
    resolution_s: int
    initial_capital: float
    equity_curve: list[tuple[int, float]]
    drawdown_curve: list[tuple[int, float]]
    monthly_returns: dict[int, dict[int, float]]
    trades: list[dict[str, Any]]
    per_venue: dict[str, dict[str, float]]
    warnings: list[str]
    rolling_sharpe: list[tuple[int, float]] = attrs.field(factory=list)
    monte_carlo: MonteCarloResult | None = None

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (infinite ratios become ``None``)."""
        data = attrs.asdict(self)
        data["metrics"] = {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in self.metrics.items()
        }
        return data


def _attr(result: object, name: str, default: Any) -> Any:
    value = getattr(result, name, None)
    return default if value is None else value


def _resolve_resolution(result: object, resolution_s: int | None, ts: np.ndarray) -> int:
    if resolution_s is not None:
        return int(resolution_s)
    found = getattr(result, "resolution_s", None)
    if found:
        return int(found)
    if ts.size >= 2:
        return int(np.median(np.diff(ts)))
    raise ValueError(
        "cannot tell the bar resolution: pass resolution_s= (or a result with timestamps)"
    )


def monthly_returns(timestamps: Sequence[int] | np.ndarray, equity: Sequence[float] | np.ndarray,
                    initial: float) -> dict[int, dict[int, float]]:
    """Return of each calendar month (UTC): month-end equity over the previous month-end.

    ``timestamps`` are ascending; a month's end is its last equity point.
    """
    months = np.asarray(timestamps, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]")
    if months.size == 0:
        return {}
    last = np.flatnonzero(np.concatenate((months[1:] != months[:-1], [True])))
    ends = np.asarray(equity, dtype=np.float64)[last]
    starts = np.concatenate(([initial], ends[:-1]))
    out: dict[int, dict[int, float]] = {}
    for month, start, end in zip(months[last].astype(np.int64).tolist(), starts.tolist(),
                                 ends.tolist(), strict=True):
        out.setdefault(1970 + month // 12, {})[month % 12 + 1] = end / start - 1.0 if start else 0.0
    return out


def _trades(positions: Sequence[Any]) -> list[dict[str, Any]]:
    rows = []
    for p in positions:
        if not getattr(p, "closed", True):
            continue
        rows.append({
            "market": getattr(p, "market", ""),
            "venue": getattr(p, "venue", DEFAULT_VENUE),
            "side": "long" if p.size >= 0 else "short",
            "size": abs(float(p.size)),
            "entry_ts": int(p.entry_ts),
            "exit_ts": int(p.exit_ts),
            "entry_price": float(p.entry_price),
            "exit_price": float(p.exit_price),
            "pnl": float(p.pnl),
            "holding_s": int(p.exit_ts) - int(p.entry_ts),
        })
    return rows


@attrs.frozen
class _Curve:
    """A result's equity with what every metric needs: returns, drawdowns, annualisation."""

    equity: np.ndarray
    ts: np.ndarray
    has_timestamps: bool
    resolution_s: int
    initial: float
    ppy: float
    path: np.ndarray  # the initial capital, then the equity
    returns: np.ndarray
    drawdowns: np.ndarray  # one per equity point


def _curve(result: Any, resolution_s: int | None, initial_capital: float | None,
           timestamps: Sequence[int] | None) -> _Curve:
    equity = np.asarray(result.equity_curve, dtype=np.float64)
    if equity.size == 0:
        raise ValueError("the result has an empty equity curve: nothing to analyse")
    ts = np.asarray(
        timestamps if timestamps is not None else _attr(result, "timestamps", []), dtype=np.int64
    )
    res = _resolve_resolution(result, resolution_s, ts)
    has_timestamps = ts.size == equity.size
    if not has_timestamps:
        ts = np.arange(equity.size, dtype=np.int64) * res
    initial = float(initial_capital if initial_capital is not None
                    else _attr(result, "initial_capital", equity[0]))
    path = np.concatenate(([initial], equity))  # the run starts from the initial capital
    return _Curve(equity, ts, has_timestamps, res, initial, m.periods_per_year(res), path,
                  m.bar_returns(path), m.drawdown_curve(path)[1:])


def _metrics(result: Any, curve: _Curve, trades: list[dict[str, Any]]) -> dict[str, float]:
    equity, returns, ppy, initial = curve.equity, curve.returns, curve.ppy, curve.initial
    n_bars = int(returns.size)
    final = float(equity[-1])
    max_dd = float(curve.drawdowns.max())
    growth = m.cagr(initial, final, n_bars, ppy)
    fills = _attr(result, "fills", [])
    notional = float(sum(abs(f.size * f.price) for f in fills))
    mean_equity = float(equity.mean())
    holding = [t["holding_s"] for t in trades]
    metrics: dict[str, float] = {
        "initial_capital": initial,
        "final_equity": final,
        "total_pnl": final - initial,
        "total_return": (final - initial) / initial if initial else 0.0,
        "cagr": growth,
        "annualized_volatility": float(np.std(returns, ddof=1)) * ppy**0.5
        if returns.size > 1 else 0.0,
        "sharpe_ratio": m.sharpe_ratio(returns, ppy),
        "sortino": m.sortino_ratio(returns, ppy),
        "calmar_ratio": m.safe_ratio(growth, max_dd),
        "max_drawdown": max_dd,
        "max_drawdown_duration_s": float(m.max_drawdown_duration(curve.path) * curve.resolution_s),
        "turnover_annualized": (notional / mean_equity) * (ppy / n_bars)
        if mean_equity > 0 and n_bars else 0.0,
        "total_fees": float(_attr(result, "total_fees", sum(f.fee for f in fills))),
        "funding_paid": float(_attr(result, "funding_paid", 0.0)),
        "total_tx_costs": float(_attr(result, "total_tx_costs", 0.0)),
        "borrow_paid": float(_attr(result, "jupiter_borrow_paid", 0.0)),
        "transfer_costs": float(_attr(result, "transfer_costs", 0.0)),
        "avg_holding_period_s": float(np.mean(holding)) if holding else 0.0,
        "bars": float(equity.size),
    }
    metrics["total_costs"] = (
        metrics["total_fees"] + metrics["funding_paid"] + metrics["total_tx_costs"]
        + metrics["borrow_paid"] + metrics["transfer_costs"]
    )
    metrics.update(m.trade_statistics([t["pnl"] for t in trades]))
    return metrics


def compute_metrics(
    result: Any, *, resolution_s: int | None = None, initial_capital: float | None = None,
) -> dict[str, float]:
    """The metrics of :func:`generate_tearsheet` alone, without its curves (what a study
    scores every trial with)."""
    curve = _curve(result, resolution_s, initial_capital, None)
    return _metrics(result, curve, _trades(_attr(result, "positions", [])))


def generate_tearsheet(
    result: Any,
    *,
    resolution_s: int | None = None,
    initial_capital: float | None = None,
    timestamps: Sequence[int] | None = None,
    monte_carlo_iterations: int = 500,
    seed: int = 42,
) -> Tearsheet:
    """Compute returns, risk, trade, cost and per-venue metrics of ``result``, and Monte
    Carlo confidence intervals from ``monte_carlo_iterations`` resampled paths (0: none):
    closed trades are bootstrapped when there are at least
    :data:`MIN_TRADES_FOR_BOOTSTRAP`, bar returns (in blocks) otherwise."""
    curve = _curve(result, resolution_s, initial_capital, timestamps)
    trades = _trades(_attr(result, "positions", []))
    metrics = _metrics(result, curve, trades)
    monte_carlo = None
    if monte_carlo_iterations > 0:
        pnls = [t["pnl"] for t in trades]
        monte_carlo = run_monte_carlo(
            curve.equity, monte_carlo_iterations, initial_capital=curve.initial, seed=seed,
            trade_pnls=pnls if len(pnls) >= MIN_TRADES_FOR_BOOTSTRAP else None,
        )
        for low_high in (5, 95):
            metrics[f"mc_pnl_p{low_high}"] = monte_carlo.final_pnl[low_high]
            metrics[f"mc_max_drawdown_p{low_high}"] = monte_carlo.max_drawdown[low_high]
        metrics["mc_prob_profit"] = monte_carlo.prob_profit
    per_venue: dict[str, dict[str, float]] = {}
    for key, label in (("per_venue_pnl", "pnl"), ("per_venue_trades", "trades"),
                       ("per_venue_funding_income", "funding_income"),
                       ("per_venue_fees", "fees")):
        for venue, value in dict(_attr(result, key, {})).items():
            per_venue.setdefault(venue, {})[label] = float(value)
    ts, equity = curve.ts, curve.equity
    return Tearsheet(
        metrics=metrics,
        resolution_s=curve.resolution_s,
        initial_capital=curve.initial,
        equity_curve=list(zip(ts.tolist(), equity.tolist(), strict=True)),
        drawdown_curve=list(zip(ts.tolist(), curve.drawdowns.tolist(), strict=True)),
        monthly_returns=monthly_returns(ts, equity, curve.initial)
        if curve.has_timestamps else {},
        trades=trades,
        per_venue=per_venue,
        warnings=list(_attr(result, "strategy_warnings", [])),
        rolling_sharpe=_rolling_sharpe(ts, curve.returns, curve.resolution_s, curve.ppy),
        monte_carlo=monte_carlo,
    )


def _rolling_sharpe(ts: np.ndarray, returns: np.ndarray, resolution_s: int,
                    ppy: float) -> list[tuple[int, float]]:
    window = max(2, ROLLING_WINDOW_S // resolution_s)
    values = m.rolling_sharpe(returns, window, ppy)
    # returns[i] is the return into equity point i: a window ends at ts[i]
    return list(zip(ts[window - 1:].tolist(), values.tolist(), strict=True))
