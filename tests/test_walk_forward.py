"""Walk-forward: windows, per-window IS/OOS metrics, overfitting ratio, stability, OOS curve."""

import itertools

import numpy as np
import pytest

from flint.analytics.tearsheet import generate_tearsheet
from flint.backtest.journal import result_from_record
from flint.execution.fill_models import ClosePriceFill
from flint.models import CandleSeries, FundingRate, Signal
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
    # stitched OOS equity: block k's PnL (from C) added to where block k - 1 ended
    curve = np.array(result.oos_equity_curve)
    expected, equity = [], C
    for k in range(3):
        block = close[70 + 10 * k: 80 + 10 * k]
        expected += list(equity + C * (block / block[0] - 1))
        equity = expected[-1]
    assert curve == pytest.approx(expected, rel=1e-12)
    assert curve[-1] == pytest.approx(C * (179 / 170 + 189 / 180 + 199 / 190 - 2))
    assert curve[-1] - C == pytest.approx(sum(w.out_of_sample_pnl for w in result.windows))
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
        assert w.warmup_bars == c  # fewer bars than the engine's 500 before the block
        oos = backtest(Cross, w.best_params, candles[:d], settings, warmup=c)
        assert len(oos.equity_curve) == len(test)
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


def test_the_stitched_run_adds_up_the_trades_fees_and_funding_of_its_windows():
    candles = _noisy(900)
    funding = [FundingRate("SOL-PERP", int(t), 0.0004) for t in candles.timestamps[::8]]
    options = {**ENGINE, "funding_rates": funding}
    result = run_walk_forward(Cross, candles, 3, 0.5, "total_pnl", 9, C, 0.001,
                              sampler="grid", engine_options=options)
    settings = RunSettings(C, 0.001, options)
    runs = [backtest(Cross, w.best_params, candles[:d], settings, warmup=c)
            for w, (_, _, c, d) in zip(result.windows, window_bounds(900, 3, 0.5, False),
                                       strict=True)]
    for w, oos in zip(result.windows, runs, strict=True):
        assert (w.out_of_sample_trades, w.out_of_sample_fees, w.out_of_sample_funding) == (
            oos.total_trades, pytest.approx(oos.total_fees), pytest.approx(oos.funding_paid))
    stitched = result.oos_run
    assert stitched["total_trades"] == sum(r.total_trades for r in runs) > 5
    assert stitched["total_fees"] == pytest.approx(sum(r.total_fees for r in runs))
    assert stitched["funding_paid"] == pytest.approx(sum(r.funding_paid for r in runs))
    assert all(r.total_fees > 0 and r.funding_paid != 0 for r in runs)  # every window traded
    assert len(stitched["fills"]) == sum(len(r.fills) for r in runs)
    assert stitched["per_venue_fees"]["default"] == pytest.approx(stitched["total_fees"])
    # the stitched run as journaled and reported: its tearsheet counts the same
    record = result.to_dict()
    tear = generate_tearsheet(result_from_record({
        "result": {**record["oos_run"], "equity_curve": record["oos_equity_curve"],
                   "timestamps": record["oos_timestamps"]},
        "resolution_s": 3600, "initial_capital": C,
    }))
    assert tear["total_trades"] == stitched["total_trades"]
    assert tear["total_fees"] == pytest.approx(stitched["total_fees"])
    assert tear["funding_paid"] == pytest.approx(stitched["funding_paid"])
    assert tear["total_pnl"] == pytest.approx(sum(r.total_pnl for r in runs))
    assert [t["pnl"] for t in tear.trades] == pytest.approx(
        [p.pnl for r in runs for p in r.positions])


class Seen(Cross):
    """Records the history each run's first call sees."""

    first: list = []

    def on_candle(self, candle, history, ctx=None):
        if self.calls == 0:
            Seen.first.append((candle.ts, history.timestamps.tolist()))
        self.calls += 1
        return super().on_candle(candle, history, ctx)

    def reset(self):
        self.calls = 0


@pytest.mark.parametrize(("warmup", "expected"), [(None, 60), (25, 25), (0, 0)])
def test_each_out_of_sample_window_starts_with_the_history_before_it(warmup, expected):
    candles = _noisy(300)
    Seen.first = []
    result = run_walk_forward(Seen, candles, 2, 0.2, "total_pnl", 2, sampler="grid",
                              engine_options={**ENGINE, "history_size": 60}, warmup=warmup)
    oos_starts = [w.test_start_ts for w in result.windows]
    for w in result.windows:
        assert w.warmup_bars == expected
        first = [seen for ts, seen in Seen.first if ts == w.test_start_ts]
        assert first, "the OOS backtest never ran"
        # its first bar sees the bars just before the block, the oldest first
        assert first[-1] == [w.test_start_ts - 3600 * k for k in range(expected, 0, -1)]
    assert len(result.oos_equity_curve) == 300 - 60  # warm-up bars are never traded
    assert result.oos_timestamps[0] == oos_starts[0]
    with pytest.raises(ValueError, match="warmup must be >= 0 bars, got -1"):
        run_walk_forward(Seen, candles, 2, 0.2, warmup=-1)


class BadBar(Cross):
    """Raises on the bar at ``BAD``: only the first rolling window trains on it."""

    def on_candle(self, candle, history, ctx=None):
        if candle.ts == BAD:
            raise KeyError("no price for this bar")
        return super().on_candle(candle, history, ctx)


BAD = START + 3600 * 5


def test_a_window_without_a_completed_trial_is_reported_and_not_traded():
    candles = _noisy(300)
    result = run_walk_forward(BadBar, candles, 3, 0.7, "sharpe_ratio", 4, sampler="random",
                              engine_options=ENGINE)
    first, *others = result.windows
    assert first.best_params == {} and first.in_sample is None and first.out_of_sample is None
    assert (first.failed_trials, first.out_of_sample_trades, first.out_of_sample_pnl) == (4, 0, 0)
    assert str(first.most_common_error) == "KeyError in 4 trial(s), e.g. 'no price for this bar'"
    assert all(w.best_params and w.failed_trials == 0 for w in others)
    curve = result.oos_equity_curve
    assert curve[:30] == [C] * 30  # the first block stays flat
    assert len(curve) == len(result.oos_timestamps) == 300 - 210
    assert result.mean_in_sample == pytest.approx(np.mean([w.in_sample for w in others]))
    assert result.oos_run["total_trades"] == sum(w.out_of_sample_trades for w in others)


def test_no_window_with_a_completed_trial_is_one_clear_error():
    candles = _noisy(300)
    with pytest.raises(RuntimeError, match=r"no trial completed in any of the 3 windows \("
                                           r"window 1: no trial of BadBar completed: 2 of 2 "
                                           r"failed; most common error: KeyError"):
        run_walk_forward(BadBar, candles, 3, 0.7, "sharpe_ratio", 2, sampler="random",
                         anchored=True, engine_options=ENGINE)
