"""Monte Carlo confidence intervals by resampling with replacement.

Bar returns are block-bootstrapped (contiguous blocks keep volatility clustering);
when closed-trade PnLs are given, those are bootstrapped instead. Unlike a
permutation, resampling with replacement changes the final PnL from one path to
the next, so its percentiles are meaningful.
"""

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from flint.analytics.metrics import bar_returns

PERCENTILES = (5, 25, 50, 75, 95)


@attrs.frozen
class MonteCarloResult:
    """Percentiles of final PnL and max drawdown over the simulated paths."""

    iterations: int
    method: str  # "block_bootstrap" or "trade_bootstrap"
    initial_capital: float
    final_pnl: dict[int, float]
    max_drawdown: dict[int, float]
    prob_profit: float
    prob_ruin: float
    mean_final_pnl: float
    equity_bands: dict[int, list[float]]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data."""
        return attrs.asdict(self)


def _max_drawdowns(paths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    peaks = np.maximum.accumulate(paths, axis=1)
    dd = np.zeros_like(paths)
    np.divide(peaks - paths, peaks, out=dd, where=peaks > 0)
    return dd.max(axis=1)


def run_monte_carlo(
    equity_curve: Sequence[float],
    iterations: int = 500,
    *,
    trade_pnls: Sequence[float] | None = None,
    initial_capital: float | None = None,
    block_size: int | None = None,
    ruin_threshold: float = 0.5,
    seed: int = 42,
) -> MonteCarloResult:
    """Simulate ``iterations`` paths and return percentile confidence intervals.

    :param equity_curve: equity per bar; its first value is the initial capital unless
        ``initial_capital`` is given.
    :param trade_pnls: closed-trade PnLs; when given (at least one), trades are resampled.
    :param block_size: bars per bootstrap block (default: cube root of the bar count).
    :param ruin_threshold: a path whose drawdown reaches this fraction counts as ruin.
    """
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    equity = np.asarray(equity_curve, dtype=np.float64)
    if equity.size == 0:
        raise ValueError("empty equity curve")
    initial = float(equity[0] if initial_capital is None else initial_capital)
    rng = np.random.default_rng(seed)
    if trade_pnls is not None and len(trade_pnls) > 0:
        pnls = np.asarray(trade_pnls, dtype=np.float64)
        picks = rng.integers(0, pnls.size, size=(iterations, pnls.size))
        paths = initial + np.cumsum(pnls[picks], axis=1)
        method = "trade_bootstrap"
    else:
        returns = bar_returns(np.concatenate(([initial], equity)))
        n = returns.size
        if n == 0:
            paths = np.full((iterations, 1), initial)
        else:
            size = block_size or max(1, round(n ** (1 / 3)))
            n_blocks = -(-n // size)
            starts = rng.integers(0, max(1, n - size + 1), size=(iterations, n_blocks))
            idx = (starts[:, :, None] + np.arange(size)[None, None, :]).reshape(iterations, -1)
            idx = np.minimum(idx[:, :n], n - 1)
            paths = initial * np.cumprod(1.0 + returns[idx], axis=1)
        method = "block_bootstrap"
    paths = np.concatenate((np.full((iterations, 1), initial), paths), axis=1)
    finals = paths[:, -1] - initial
    drawdowns = _max_drawdowns(paths)
    bands = np.percentile(paths, PERCENTILES, axis=0)
    return MonteCarloResult(
        iterations=iterations,
        method=method,
        initial_capital=initial,
        final_pnl={p: float(np.percentile(finals, p)) for p in PERCENTILES},
        max_drawdown={p: float(np.percentile(drawdowns, p)) for p in PERCENTILES},
        prob_profit=float(np.mean(finals > 0)),
        prob_ruin=float(np.mean(drawdowns >= ruin_threshold)),
        mean_final_pnl=float(finals.mean()),
        equity_bands={p: bands[i].tolist() for i, p in enumerate(PERCENTILES)},
    )
