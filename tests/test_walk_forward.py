"""Walk-forward: windows, per-window IS/OOS metrics, overfitting ratio, stability, OOS curve."""

import itertools

import numpy as np
import pytest

from flint.execution.fill_models import ClosePriceFill
from flint.models import CandleSeries, Signal
from flint.optimization.objective import RunSettings, backtest, score
from flint.optimization.walk_forward import parameter_stability, run_walk_forward, window_bounds
from flint.strategy.base import Strategy

START = 1_704_067_200
C = 10_000.0
ENGINE = {"fill_model": ClosePriceFill()}


def series(close, market="SOL-PERP"):
    close = np.asarray(close, dtype=float)
    t = np.arange(close.size)
    return CandleSeries(START + 3600 * t, close, close, close, close, np.ones(t.size), market)


class BuyAt(Strategy):
    """Buys all-in on bar ``lag`` of the run and holds."""

    name = "buy_at"

    def __init__(self, lag=0):
        self.lag, self.n = lag, 0

    def on_candle(self, candle, history, ctx=None):
        self.n += 1
        return Signal.BUY if self.n - 1 == self.lag else Signal.HOLD

    def reset(self):
        self.n = 0

    @classmethod
    def parameters(cls):
        return {"lag": {"type": "int", "low": 0, "high": 5, "step": 5}}


class Cross(Strategy):
    name = "cross"

    def __init__(self, fast=3, slow=10):
        self.fast, self.slow = fast, slow

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.slow:
            return Signal.HOLD
        closes = history.closes
        return Signal.BUY if closes[-self.fast:].mean() > closes[-self.slow:].mean() \
            else Signal.SELL

    def reset(self):
        pass

    @classmethod
    def parameters(cls):
        return {"fast": {"type": "int", "low": 2, "high": 6, "step": 2},
                "slow": {"type": "int", "low": 10, "high": 30, "step": 10}}


def test_rolling_and_anchored_windows():
    assert window_bounds(100, 3, 0.7, anchored=False) == [
        (0, 70, 70, 80), (10, 80, 80, 90), (20, 90, 90, 100)]
    assert window_bounds(100, 3, 0.7, anchored=True) == [
        (0, 70, 70, 80), (0, 80, 80, 90), (0, 90, 90, 100)]
    assert window_bounds(104, 3, 0.7, anchored=False)[-1] == (20, 92, 92, 104)  # leftovers
    with pytest.raises(ValueError, match="too few for 3 windows"):
        window_bounds(50, 3, 0.7, anchored=False)
    with pytest.raises(ValueError, match=r"train_pct must be within \(0, 1\), got 1.0"):
        window_bounds(100, 3, 1.0, anchored=False)
    with pytest.raises(ValueError, match="n_windows must be >= 1, got 0"):
        window_bounds(100, 0, 0.7, anchored=False)


def test_parameter_stability_by_hand():
    assert parameter_stability([{"a": 5, "m": "x"}] * 3) == 1.0
    assert parameter_stability([{"a": 10}, {"a": 20}]) == pytest.approx(1 / (1 + 5 / 15))
    assert parameter_stability([{"m": "x"}, {"m": "x"}, {"m": "y"}]) == pytest.approx(2 / 3)
    mixed = [{"a": 10, "m": "x"}, {"a": 20, "m": "y"}]
    assert parameter_stability(mixed) == pytest.approx((0.75 + 0.5) / 2)
    assert parameter_stability([{"a": -1}, {"a": 1}]) == 0.5  # mean 0: cv counted as 1
    assert parameter_stability([{"a": 3}]) == 1.0


@pytest.mark.parametrize("anchored", [False, True])
def test_a_rising_market_by_hand(anchored):
    """Prices 100, 101, ...: buying at once is best everywhere; every number follows by hand."""
    close = 100.0 + np.arange(100)
    result = run_walk_forward(BuyAt, series(close), 3, 0.7, "total_pnl", 10, C, 0.0,
                              anchored=anchored, sampler="grid", engine_options=ENGINE)
    assert [w.best_params for w in result.windows] == [{"lag": 0}] * 3
    for k, w in enumerate(result.windows):
        first_train = 0 if anchored else 10 * k
        assert (w.train_start_ts, w.train_end_ts) == (START + 3600 * first_train,
                                                      START + 3600 * (69 + 10 * k))
        assert (w.test_start_ts, w.test_end_ts) == (START + 3600 * (70 + 10 * k),
                                                    START + 3600 * (79 + 10 * k))
        # all-in at the first close, no fee: PnL = C * (last close / first close - 1)
        assert w.in_sample == pytest.approx(C * (close[69 + 10 * k] / close[first_train] - 1))
        assert w.out_of_sample == pytest.approx(C * (close[79 + 10 * k] / close[70 + 10 * k] - 1))
        assert w.out_of_sample_pnl == pytest.approx(w.out_of_sample)
        assert w.out_of_sample_trades == 0  # still holding
    mean_is = np.mean([w.in_sample for w in result.windows])
    mean_oos = np.mean([w.out_of_sample for w in result.windows])
    assert result.overfitting_ratio == pytest.approx(mean_oos / mean_is)
    assert result.parameter_stability == 1.0
    # stitched OOS equity: block k compounds on where block k - 1 ended
    curve = np.array(result.oos_equity_curve)
    expected, equity = [], C
    for k in range(3):
        block = close[70 + 10 * k: 80 + 10 * k]
        expected += list(equity * block / block[0])
        equity = expected[-1]
    assert curve == pytest.approx(expected, rel=1e-12)
    assert curve[-1] == pytest.approx(C * 179 / 170 * 189 / 180 * 199 / 190)
    assert curve[10] == pytest.approx(curve[9]) and curve[20] == pytest.approx(curve[19])
    assert result.oos_timestamps == [START + 3600 * i for i in range(70, 100)]


def _noisy(n=420, seed=1, market="SOL-PERP"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return series(100 * np.exp(0.06 * np.sin(t / 15) + np.cumsum(rng.normal(0, 0.004, n))),
                  market)


@pytest.mark.parametrize("anchored", [False, True])
def test_each_window_optimises_in_sample_and_tests_out_of_sample(anchored):
    candles = _noisy()
    result = run_walk_forward(Cross, candles, 3, 0.6, "sharpe_ratio", 20, anchored=anchored,
                              sampler="grid", engine_options=ENGINE)
    settings = RunSettings(engine_options=ENGINE)
    grid = [{"fast": f, "slow": s} for f, s in itertools.product((2, 4, 6), (10, 20, 30))]
    for w, (a, b, c, d) in zip(result.windows, window_bounds(420, 3, 0.6, anchored),
                               strict=True):
        train, test = candles[a:b], candles[c:d]
        scores = {tuple(p.values()): score(backtest(Cross, p, train, settings), "sharpe_ratio",
                                           3600, C) for p in grid}
        top = max(scores.values())
        assert tuple(w.best_params.values()) == min(k for k, v in scores.items() if v == top)
        assert w.in_sample == pytest.approx(top, rel=1e-12)
        oos = backtest(Cross, w.best_params, test, settings)
        assert w.out_of_sample == pytest.approx(score(oos, "sharpe_ratio", 3600, C), rel=1e-12)
        assert w.out_of_sample_trades == oos.total_trades
    assert result.mean_out_of_sample == pytest.approx(
        np.mean([w.out_of_sample for w in result.windows]))
    assert result.overfitting_ratio == pytest.approx(
        result.mean_out_of_sample / result.mean_in_sample)
    stamps = np.array(result.oos_timestamps)
    assert (np.diff(stamps) == 3600).all() and stamps[0] == START + 3600 * 252
    assert len(result.oos_equity_curve) == len(stamps) == 420 - 252


def test_several_markets_are_cut_at_the_same_times():
    sol, eth = _noisy(), _noisy(seed=2, market="ETH-PERP")[60:]
    progress = []
    result = run_walk_forward(Cross, {"SOL-PERP": sol, "ETH-PERP": eth}, 2, 0.7,
                              "total_pnl", 4, sampler="random", engine_options=ENGINE,
                              progress=lambda *args: progress.append(args))
    assert [w.test_start_ts for w in result.windows] == [START + 3600 * 294,
                                                         START + 3600 * 357]
    assert progress[-1] == (1, 4, 4) and {p[0] for p in progress} == {0, 1}
