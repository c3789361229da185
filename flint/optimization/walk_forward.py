"""Walk-forward analysis: optimise in sample, test out of sample, window after window.

Windows (``N`` bars, ``n_windows`` windows, in-sample fraction ``train_pct``): the last
``(1 - train_pct)`` of the data is cut into ``n_windows`` consecutive out-of-sample (OOS)
test blocks of equal length (the last one also takes the few bars left over); each
block's in-sample (IS) block is the ``train_pct * N`` bars before it (``anchored=False``,
rolling) or everything before it (``anchored=True``). The OOS blocks never overlap, so
their runs stitch into one honest OOS run: every block is backtested from the initial
capital, and the stitched equity adds each block's PnL to the equity the blocks before
it ended with (a fixed stake per block). Each OOS backtest starts flat but not blind:
the ``warmup`` bars before its block (by default the engine's ``history_size``, 500)
fill the strategy's ``history`` first, without trading, as a live strategy would start.
The stitched run's PnL, trades, fills, fees and funding are those of the blocks, added
up. A window in which no trial completed has no winner: its OOS block is not traded
(flat equity).

``overfitting_ratio`` = mean OOS metric / mean IS metric (about 1: generalises; below 0.5:
decay; below 0: OOS loses). ``parameter_stability`` in [0, 1]: per numeric parameter
``1 / (1 + cv)`` with ``cv`` the coefficient of variation of its best values across windows,
per categorical parameter the share of windows choosing its most common value, averaged.
"""

import functools
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from flint.analytics.metrics import safe_ratio
from flint.backtest.engine import HISTORY_SIZE
from flint.optimization import data
from flint.optimization.objective import RunSettings, backtest, score
from flint.optimization.optimizer import (
    HEARTBEAT_S,
    CommonError,
    StrategyOptimizer,
    StudyFailed,
)

#: Figures of the OOS runs the stitched run adds up, lists one after another, or adds
#: up per venue.
SUMMED = ("total_trades", "winning_trades", "losing_trades", "total_fees", "funding_paid",
          "total_tx_costs", "jupiter_borrow_paid", "transfer_costs")
JOINED = ("positions", "fills", "funding_payments", "strategy_warnings")
PER_VENUE = ("per_venue_pnl", "per_venue_trades", "per_venue_funding_income", "per_venue_fees")


@attrs.frozen
class WindowResult:
    """One IS/OOS window: the winner's metric and PnL in and out of sample, and the OOS
    run's trades, fees and funding paid. ``failed_trials`` and ``most_common_error``
    describe the window's failed trials. When none completed, ``best_params`` is empty,
    the metrics and the IS PnL are None and the OOS figures 0 (the block is not traded).
    ``warmup_bars``: bars before the OOS block its backtest read as history first.
    """

    index: int
    train_start_ts: int
    train_end_ts: int
    test_start_ts: int
    test_end_ts: int
    best_params: dict[str, Any]
    in_sample: float | None
    out_of_sample: float | None
    in_sample_pnl: float | None
    out_of_sample_pnl: float
    out_of_sample_trades: int
    out_of_sample_fees: float
    out_of_sample_funding: float
    failed_trials: int
    most_common_error: CommonError | None
    warmup_bars: int = 0


@attrs.frozen
class WalkForwardResult:
    """Per-window results, the aggregate verdict (over the windows with a winner) and the
    stitched OOS run: its equity and timestamps, and in ``oos_run`` its trades, fills
    and costs, keyed like ``BacktestResult.to_dict()``."""

    metric: str
    windows: list[WindowResult]
    mean_in_sample: float
    mean_out_of_sample: float
    overfitting_ratio: float
    parameter_stability: float
    oos_equity_curve: list[float]
    oos_timestamps: list[int]
    oos_run: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return attrs.asdict(self)


def window_bounds(n: int, n_windows: int, train_pct: float,
                  anchored: bool) -> list[tuple[int, int, int, int]]:
    """(train_start, train_stop, test_start, test_stop) bar positions of every window."""
    if not 0 < train_pct < 1:
        raise ValueError(f"train_pct must be within (0, 1), got {train_pct}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}")
    train_len = int(n * train_pct)
    test_len = (n - train_len) // n_windows
    if test_len < 10 or train_len < 20:
        raise ValueError(
            f"{n} bars are too few for {n_windows} windows at train_pct={train_pct}: "
            f"each test block needs >= 10 bars and training >= 20"
        )
    out = []
    for i in range(n_windows):
        test_start = train_len + i * test_len
        train_start = 0 if anchored else test_start - train_len
        test_stop = n if i == n_windows - 1 else test_start + test_len
        out.append((train_start, test_start, test_start, test_stop))
    return out


def parameter_stability(best: list[dict[str, Any]]) -> float:
    """Agreement of the windows' best parameters, in [0, 1] (1: identical everywhere)."""
    if len(best) < 2 or not best[0]:
        return 1.0
    scores = []
    for name in best[0]:
        values = [b[name] for b in best]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            mean = float(np.mean(values))
            cv = float(np.std(values)) / abs(mean) if mean else float(np.std(values) > 0)
            scores.append(1.0 / (1.0 + cv))
        else:
            scores.append(Counter(values).most_common(1)[0][1] / len(values))
    return float(np.mean(scores))


def stitch(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The OOS runs (``BacktestResult.to_dict()``) as one: counts and costs added up,
    trades, fills and warnings one run after another."""
    out: dict[str, Any] = {key: sum(r[key] for r in runs) for key in SUMMED}
    out.update({key: [item for r in runs for item in r[key]] for key in JOINED})
    for key in PER_VENUE:
        totals: dict[str, Any] = {}
        for run in runs:
            for venue, value in run[key].items():
                totals[venue] = totals.get(venue, 0) + value
        out[key] = totals
    return out


def run_walk_forward(
    strategy_class: type,
    candles: Any,
    n_windows: int = 5,
    train_pct: float = 0.7,
    metric: str = "sharpe_ratio",
    trials_per_window: int = 30,
    initial_capital: float = 10_000.0,
    fee_rate: float = 0.0005,
    *,
    anchored: bool = False,
    sampler: str = "tpe",
    seed: int = 0,
    n_jobs: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    param_space: Mapping[str, Any] | None = None,
    engine_options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    heartbeat_s: int = HEARTBEAT_S,
    warmup: int | None = None,
) -> WalkForwardResult:
    """Optimise on each window's IS block, test the winner on its OOS block.

    Window ``i`` is optimised with ``seed + i``; with ``storage`` its study is
    ``"{study_name}-window{i}"``, so the same call on several machines shares each
    window's ``trials_per_window`` trials, and every machine moves on once the
    window's study is complete (so all find the same winner).
    ``progress(window, done, total)`` reports the trials of the current window.
    ``warmup``: bars before each OOS block its backtest reads as history without
    trading (None: the engine's ``history_size``; never more than the bars there are).
    """
    if warmup is not None and warmup < 0:
        raise ValueError(f"warmup must be >= 0 bars, got {warmup}")
    candles = data.normalise(candles)
    primary = data.primary(candles)
    ts = primary.timestamps
    resolution = int(primary.resolution_s)
    settings = RunSettings(initial_capital, fee_rate, dict(engine_options or {}))
    if warmup is None:
        warmup = int(settings.engine_options.get("history_size", HISTORY_SIZE))
    name = study_name or f"flint-{strategy_class.__name__}-{metric}-walk-forward"
    windows: list[WindowResult] = []
    runs: list[dict[str, Any]] = []
    curve: list[float] = []
    failures: list[str] = []
    bounds = window_bounds(len(primary), n_windows, train_pct, anchored)
    for i, (a, b, c, d) in enumerate(bounds):
        train = data.cut(candles, a, b)
        stamps = (int(ts[a]), int(ts[b - 1]), int(ts[c]), int(ts[d - 1]))
        equity = curve[-1] if curve else initial_capital
        try:
            found = StrategyOptimizer(
                strategy_class, train, metric, trials_per_window, initial_capital, fee_rate,
                n_jobs=n_jobs, storage=storage, study_name=f"{name}-window{i}",
                sampler=sampler, seed=seed + i, param_space=param_space,
                engine_options=engine_options, heartbeat_s=heartbeat_s,
            ).optimize(None if progress is None else functools.partial(progress, i))
        except StudyFailed as exc:
            failures.append(f"window {i + 1}: {exc}")
            windows.append(WindowResult(
                i, *stamps, best_params={}, in_sample=None, out_of_sample=None,
                in_sample_pnl=None, out_of_sample_pnl=0.0, out_of_sample_trades=0,
                out_of_sample_fees=0.0, out_of_sample_funding=0.0,
                failed_trials=exc.failed, most_common_error=exc.error,
            ))
            curve.extend([equity] * (d - c))  # no winner: the block is not traded
            continue
        lead = min(warmup, c)
        is_result = backtest(strategy_class, found.best_params, train, settings)
        oos_result = backtest(strategy_class, found.best_params, data.cut(candles, c - lead, d),
                              settings, warmup=lead)
        runs.append(oos_result.to_dict())
        windows.append(WindowResult(
            i, *stamps,
            best_params=found.best_params,
            in_sample=score(is_result, metric, resolution, initial_capital),
            out_of_sample=score(oos_result, metric, resolution, initial_capital),
            in_sample_pnl=float(is_result.total_pnl),
            out_of_sample_pnl=float(oos_result.total_pnl),
            out_of_sample_trades=int(oos_result.total_trades),
            out_of_sample_fees=float(oos_result.total_fees),
            out_of_sample_funding=float(oos_result.funding_paid),
            failed_trials=found.failed_trials,
            most_common_error=found.most_common_error,
            warmup_bars=lead,
        ))
        # every block starts from initial_capital: add its PnL to the equity reached so far
        curve.extend(equity + float(e) - initial_capital for e in oos_result.equity_curve)
    traded = [w for w in windows if w.in_sample is not None]
    if not traded:
        raise RuntimeError(f"no trial completed in any of the {len(windows)} windows "
                           f"({failures[0]})")
    mean_is = float(np.mean([w.in_sample for w in traded]))
    mean_oos = float(np.mean([w.out_of_sample for w in traded]))
    return WalkForwardResult(
        metric=metric,
        windows=windows,
        mean_in_sample=mean_is,
        mean_out_of_sample=mean_oos,
        overfitting_ratio=safe_ratio(mean_oos, mean_is),
        parameter_stability=parameter_stability([w.best_params for w in traded]),
        oos_equity_curve=curve,
        oos_timestamps=[int(t) for t in ts[bounds[0][2]:]],
        oos_run=stitch(runs),
    )
