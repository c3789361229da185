"""Scoring a backtest by a metric name, and running one backtest from parameters."""

import math
from collections.abc import Mapping
from typing import Any

import attrs

from flint.analytics.tearsheet import compute_metrics

#: Metrics a study can optimise; the ones listed in MINIMISED are minimised.
METRICS = (
    "sharpe_ratio", "sortino", "calmar_ratio", "total_pnl", "total_return", "cagr",
    "profit_factor", "win_rate", "expectancy", "max_drawdown",
)
MINIMISED = frozenset({"max_drawdown"})
#: Bound for infinite ratios (e.g. profit factor with no losing trade) so studies can rank them.
CAP = 1e9


def direction(metric: str) -> str:
    """``"minimize"`` or ``"maximize"`` for ``metric``; ``ValueError`` when unknown."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'; choose one of: {', '.join(METRICS)}")
    return "minimize" if metric in MINIMISED else "maximize"


def score(result: Any, metric: str, resolution_s: int, initial_capital: float) -> float:
    """Value of ``metric`` for a backtest result (infinite ratios capped at +-CAP)."""
    direction(metric)
    value = float(compute_metrics(
        result, resolution_s=resolution_s, initial_capital=initial_capital
    )[metric])
    if math.isnan(value):
        return -CAP if metric not in MINIMISED else CAP
    return max(-CAP, min(CAP, value))


@attrs.frozen
class RunSettings:
    """What every trial's backtest shares: capital, fees and extra engine arguments."""

    initial_capital: float = 10_000.0
    fee_rate: float = 0.0005
    engine_options: Mapping[str, Any] = attrs.field(factory=dict)


def backtest(strategy_class: Any, params: Mapping[str, Any], candles: Any,
             settings: RunSettings, warmup: int = 0) -> Any:
    """Instantiate ``strategy_class(**params)`` and run it on ``candles``, the first
    ``warmup`` bars as history only.

    A strategy file's class (:class:`~flint.strategy.remote.SandboxedStrategy`) runs in
    a sandboxed child of this process instead.
    """
    from flint.strategy.remote import SandboxedStrategy

    if isinstance(strategy_class, SandboxedStrategy):
        return strategy_class.backtest(params, candles, settings, warmup)
    return run_engine(strategy_class(**params), candles, settings, warmup)


def run_engine(strategy: Any, candles: Any, settings: RunSettings, warmup: int = 0) -> Any:
    """Backtest the ``strategy`` object on ``candles`` with ``settings``, the first
    ``warmup`` bars as history only."""
    from flint.backtest.engine import BacktestEngine

    engine = BacktestEngine(
        strategy,
        initial_capital=settings.initial_capital,
        fee_rate=settings.fee_rate,
        **dict(settings.engine_options),
    )
    return engine.run(candles, warmup=warmup)
