"""Walk-forward analysis: optimise in sample, test out of sample, window after window.

Windows (``N`` bars, ``n_windows`` windows, in-sample fraction ``train_pct``): the last
``(1 - train_pct)`` of the data is cut into ``n_windows`` consecutive out-of-sample (OOS)
test blocks of equal length (the last one also takes the few bars left over); each
block's in-sample (IS) block is the ``train_pct * N`` bars before it (``anchored=False``,
rolling) or everything before it (``anchored=True``). The OOS blocks never overlap, so
their equity curves stitch into one honest OOS curve.

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
from flint.optimization import data
from flint.optimization.objective import RunSettings, backtest, score
from flint.optimization.optimizer import StrategyOptimizer


@attrs.frozen
class WindowResult:
    """One IS/OOS window."""

    index: int
    train_start_ts: int
    train_end_ts: int
    test_start_ts: int
    test_end_ts: int
    best_params: dict[str, Any]
    in_sample: float
    out_of_sample: float
    in_sample_pnl: float
    out_of_sample_pnl: float
    out_of_sample_trades: int


@attrs.frozen
class WalkForwardResult:
    """Per-window results and the aggregate verdict."""

    metric: str
    windows: list[WindowResult]
    mean_in_sample: float
    mean_out_of_sample: float
    overfitting_ratio: float
    parameter_stability: float
    oos_equity_curve: list[float]
    oos_timestamps: list[int]

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
) -> WalkForwardResult:
    """Optimise on each window's IS block, test the winner on its OOS block.

    Window ``i`` is optimised with ``seed + i``; with ``storage`` its study is
    ``"{study_name}-window{i}"``, so the same call on several machines shares each
    window's trials (each machine moves on with the trials finished by then).
    ``progress(window, done, total)`` reports the trials of the current window.
    """
    candles = data.normalise(candles)
    primary = data.primary(candles)
    ts = primary.timestamps
    resolution = int(primary.resolution_s)
    settings = RunSettings(initial_capital, fee_rate, dict(engine_options or {}))
    name = study_name or f"flint-{strategy_class.__name__}-{metric}-walk-forward"
    windows: list[WindowResult] = []
    curve: list[float] = []
    curve_ts: list[int] = []
    equity = initial_capital
    for i, (a, b, c, d) in enumerate(window_bounds(len(primary), n_windows, train_pct, anchored)):
        train, test = data.cut(candles, a, b), data.cut(candles, c, d)
        found = StrategyOptimizer(
            strategy_class, train, metric, trials_per_window, initial_capital, fee_rate,
            n_jobs=n_jobs, storage=storage, study_name=f"{name}-window{i}", sampler=sampler,
            seed=seed + i, param_space=param_space, engine_options=engine_options,
        ).optimize(None if progress is None else functools.partial(progress, i))
        is_result = backtest(strategy_class, found.best_params, train, settings)
        oos_result = backtest(strategy_class, found.best_params, test, settings)
        windows.append(WindowResult(
            index=i,
            train_start_ts=int(ts[a]), train_end_ts=int(ts[b - 1]),
            test_start_ts=int(ts[c]), test_end_ts=int(ts[d - 1]),
            best_params=found.best_params,
            in_sample=score(is_result, metric, resolution, initial_capital),
            out_of_sample=score(oos_result, metric, resolution, initial_capital),
            in_sample_pnl=float(is_result.total_pnl),
            out_of_sample_pnl=float(oos_result.total_pnl),
            out_of_sample_trades=int(oos_result.total_trades),
        ))
        # each OOS run starts from initial_capital: scale it to the equity reached so far
        scale = equity / initial_capital
        curve.extend(float(e) * scale for e in oos_result.equity_curve)
        curve_ts.extend(int(t) for t in ts[c:d])
        equity = curve[-1]
    mean_is = float(np.mean([w.in_sample for w in windows]))
    mean_oos = float(np.mean([w.out_of_sample for w in windows]))
    return WalkForwardResult(
        metric=metric,
        windows=windows,
        mean_in_sample=mean_is,
        mean_out_of_sample=mean_oos,
        overfitting_ratio=safe_ratio(mean_oos, mean_is),
        parameter_stability=parameter_stability([w.best_params for w in windows]),
        oos_equity_curve=curve,
        oos_timestamps=curve_ts,
    )
