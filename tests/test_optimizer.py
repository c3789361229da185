"""StrategyOptimizer: search spaces, metrics, samplers, worker processes, pruning."""

import math
import os
import pickle
import re
import signal

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.analytics.tearsheet import generate_tearsheet
from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.indicators import sma
from flint.models import CandleSeries, Signal
from flint.optimization import data, space
from flint.optimization.objective import METRICS, RunSettings, backtest, score
from flint.optimization.optimizer import (
    StrategyOptimizer,
    StudyFailed,
    TrialResult,
    common_error,
)
from flint.strategy.base import Strategy

START = 1_704_067_200
ENGINE = {"fill_model": ClosePriceFill()}


def candles(n=600, seed=0, market="SOL-PERP"):
    """A noisy sine: trends that moving averages can catch."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    close = 100 * np.exp(0.08 * np.sin(t / 30) + np.cumsum(rng.normal(0, 0.004, n)))
    opens = np.concatenate(([close[0]], close[:-1]))
    return CandleSeries(START + 3600 * t, opens, np.maximum(opens, close) * 1.002,
                        np.minimum(opens, close) * 0.998, close, np.full(n, 10.0), market, 3600)


class Cross(Strategy):
    """Moving-average cross with a band; refuses fast >= slow."""

    name = "cross"

    def __init__(self, fast=5, slow=20, band=0.0, scale=1.0, mode="trend"):
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be below slow ({slow})")
        self.fast, self.slow, self.band, self.scale, self.mode = fast, slow, band, scale, mode

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.slow:
            return Signal.HOLD
        closes = history.closes
        gap = (closes[-self.fast:].mean() / closes[-self.slow:].mean() - 1) * 100 * self.scale
        if self.mode == "fade":
            gap = -gap
        if gap > self.band:
            return Signal.BUY
        if gap < -self.band:
            return Signal.SELL
        return Signal.HOLD

    def reset(self):
        pass

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 2, "high": 12, "step": 2},
            "slow": {"type": "int", "low": 8, "high": 64, "log": True},
            "band": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.125},
            "scale": {"type": "float", "low": 0.5, "high": 4.0, "log": True},
            "mode": {"type": "categorical", "choices": ["trend", "fade"]},
        }


class Small(Cross):
    """Two parameters, a 4 x 3 grid."""

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 3, "high": 9, "step": 2},
            "slow": {"type": "int", "low": 10, "high": 30, "step": 10},
        }


def run(cls=Small, metric="sharpe_ratio", n_trials=12, **kw):
    kw.setdefault("engine_options", ENGINE)
    series = kw.pop("candles") if "candles" in kw else candles()
    return StrategyOptimizer(cls, series, metric, n_trials, **kw).optimize()


# Search spaces


def test_trials_stay_in_the_declared_space():
    result = run(Cross, n_trials=40, sampler="random", seed=3)
    assert len(result.trials) == 40
    for t in result.trials:
        p = t.params
        assert p["fast"] in (2, 4, 6, 8, 10, 12)
        assert isinstance(p["slow"], int) and 8 <= p["slow"] <= 64
        assert p["band"] in (0.0, 0.125, 0.25, 0.375, 0.5)
        assert 0.5 <= p["scale"] <= 4.0
        assert p["mode"] in ("trend", "fade")
    scales = np.log([t.params["scale"] for t in result.trials])
    assert scales.min() < np.log(1.0) < scales.max()  # drawn on a log scale, both sides of 1
    refused = [t for t in result.trials if t.params["fast"] >= t.params["slow"]]
    assert all(t.state == "FAIL" and t.value is None for t in refused)


def test_space_checks_and_overrides():
    with pytest.raises(ValueError, match="'log' and 'step' cannot be combined"):
        space.check({"x": {"type": "float", "low": 1, "high": 2, "step": 0.1, "log": True}})
    with pytest.raises(ValueError, match="log-scaled parameter needs low > 0"):
        space.check({"x": {"type": "float", "low": 0, "high": 2, "log": True}})
    with pytest.raises(ValueError, match=r"unknown parameter 'nope'.*known: fast, slow"):
        StrategyOptimizer(Small, candles(), param_space={"nope": 1})

    class Empty(Cross):
        @classmethod
        def parameters(cls):
            return {}

    with pytest.raises(ValueError, match=r"parameters\(\) is empty"):
        StrategyOptimizer(Empty, candles())
    merged = space.merge(Cross.parameters(), {"fast": {"high": 6}, "mode": "trend",
                                              "band": {"type": "categorical", "choices": [0.1]}})
    assert merged["fast"] == {"type": "int", "low": 2, "high": 6, "step": 2}
    assert merged["mode"] == {"type": "categorical", "choices": ["trend"]}
    assert merged["band"] == {"type": "categorical", "choices": [0.1]}
    result = run(Cross, n_trials=8, sampler="random",
                 param_space={"fast": 4, "slow": {"low": 20, "high": 30}})
    assert {t.params["fast"] for t in result.trials} == {4}
    assert all(20 <= t.params["slow"] <= 30 for t in result.trials)


@settings(max_examples=60, deadline=None)
@given(low=st.integers(-50, 50), width=st.integers(0, 60), step=st.integers(1, 7))
def test_int_grid_matches_what_optuna_can_suggest(low, width, step):
    spec = {"type": "int", "low": low, "high": low + width, "step": step}
    values = space.grid({"x": spec})["x"]
    assert values == list(range(low, low + width + 1, step))
    dist = optuna.distributions.IntDistribution(low, int(space._high(spec)), step=step)
    assert all(dist._contains(v) for v in values) and values[-1] == dist.high


def test_float_grid_ends_at_the_last_whole_step():
    spec = {"type": "float", "low": 0.1, "high": 1.0, "step": 0.25}
    assert space.grid({"x": spec})["x"] == [0.1, 0.35, 0.6, 0.85]
    assert space.grid_size({"x": spec, "y": {"type": "categorical", "choices": [1, 2, 3]}}) == 12
    with pytest.raises(ValueError, match="float without 'step'"):
        space.grid({"x": {"type": "float", "low": 0, "high": 1}})


# Metrics


def test_best_value_is_the_metric_of_an_independent_backtest():
    result = run(sampler="grid", n_trials=100)
    engine = BacktestEngine(Small(**result.best_params), fill_model=ClosePriceFill())
    tear = generate_tearsheet(engine.run(candles()))
    assert result.best_value == pytest.approx(tear["sharpe_ratio"], rel=1e-12)
    values = [t.value for t in result.trials if t.state == "COMPLETE"]
    assert result.best_value == max(values) and result.direction == "maximize"
    assert values == sorted(values, reverse=True)  # best first
    best = result.trials[0]
    assert best.total_pnl == pytest.approx(tear["total_pnl"])
    assert best.total_trades == tear["total_trades"]


def test_max_drawdown_is_minimised_and_unknown_metrics_are_refused():
    result = run(metric="max_drawdown", sampler="grid", n_trials=100)
    values = [t.value for t in result.trials if t.state == "COMPLETE"]
    assert result.direction == "minimize" and result.best_value == min(values)
    assert min(values) < max(values)
    with pytest.raises(ValueError, match="unknown metric 'sharpe'; choose one of: sharpe_ratio"):
        StrategyOptimizer(Small, candles(), metric="sharpe")


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_scores_a_trial(metric):
    result = run(metric=metric, n_trials=3, sampler="random")
    assert math.isfinite(result.best_value)


# Samplers and determinism


def test_grid_evaluates_every_point_once_with_one_or_two_workers():
    one = run(sampler="grid", n_trials=100, seed=4)
    two = run(sampler="grid", n_trials=100, seed=4, n_jobs=2)
    grid = {(f, s) for f in (3, 5, 7, 9) for s in (10, 20, 30)}
    for result in (one, two):
        assert sorted((t.params["fast"], t.params["slow"]) for t in result.trials) == sorted(grid)
        assert sorted(t.number for t in result.trials) == list(range(12))
    assert two.best_params == one.best_params and two.best_value == one.best_value
    by_params = {tuple(t.params.values()): t.value for t in one.trials}
    assert all(by_params[tuple(t.params.values())] == t.value for t in two.trials)


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_same_seed_same_trials_and_best(sampler):
    a = run(Cross, n_trials=15, sampler=sampler, seed=11)
    b = run(Cross, n_trials=15, sampler=sampler, seed=11)
    c = run(Cross, n_trials=15, sampler=sampler, seed=12)
    order = lambda r: [t.params for t in sorted(r.trials, key=lambda t: t.number)]  # noqa: E731
    assert order(a) == order(b) and a.best_params == b.best_params
    assert order(a) != order(c)


def test_tpe_is_the_default_sampler():
    optimizer = StrategyOptimizer(Small, candles())
    assert optimizer.sampler == "tpe" and optimizer.seed == 0
    with pytest.raises(ValueError, match="unknown sampler 'cmaes'"):
        StrategyOptimizer(Small, candles(), sampler="cmaes")


# Failed trials


def test_refused_parameter_sets_are_failed_trials_never_the_best():
    result = run(Cross, n_trials=30, sampler="random", seed=1,
                 param_space={"fast": {"low": 8, "high": 12}, "slow": {"low": 8, "high": 16}})
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert failed and all(t.params["fast"] >= t.params["slow"] for t in failed)
    assert result.best_params["fast"] < result.best_params["slow"]
    assert result.trials[-len(failed):] == failed  # listed after the completed ones


def test_every_trial_refused_is_an_error():
    with pytest.raises(StudyFailed, match="no trial of Cross completed: 3 of 3 failed; most "
                                          r"common error: ValueError in 3 trial\(s\), e.g. "
                                          r"fast \(12\) must be below slow \(8\)"):
        run(Cross, n_trials=3, sampler="random", param_space={"fast": 12, "slow": 8})


class GoldenCross(Strategy):
    """The seed's GoldenCross: with fast > slow, ``sma(history, fast)`` raises IndexError."""

    name = "golden-cross"

    def __init__(self, fast=20, slow=50):
        self.fast, self.slow = fast, slow

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.slow:
            return Signal.HOLD
        fast, slow = sma(history, self.fast), sma(history, self.slow)
        if fast > slow:
            return Signal.BUY
        if fast < slow:
            return Signal.SELL
        return Signal.HOLD

    def reset(self):
        pass

    @classmethod
    def parameters(cls):
        return {"fast": {"type": "int", "low": 5, "high": 50, "default": 20},
                "slow": {"type": "int", "low": 20, "high": 200, "default": 50}}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_raising_trial_is_recorded_as_failed_and_the_search_goes_on(n_jobs):
    result = run(GoldenCross, n_trials=30, sampler="random", seed=5, n_jobs=n_jobs,
                 param_space={"slow": {"high": 60}})
    assert len(result.trials) == 30 and sorted(t.number for t in result.trials) == list(range(30))
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert [t.params for t in failed] == [t.params for t in result.trials
                                          if t.params["fast"] > t.params["slow"]]
    assert 0 < len(failed) < 30 and result.failed_trials == len(failed)
    for t in failed:
        assert t.value is None and t.error_type == "IndexError"
        assert t.error_message == (f"sma(period={t.params['fast']}) needs at least "
                                   f"{t.params['fast']} bars of history, got {t.params['slow']}")
        assert t.worker is not None
    assert all(t.error_type is None for t in result.trials if t.state == "COMPLETE")
    error = result.most_common_error
    assert (error.error_type, error.trials) == ("IndexError", len(failed))
    assert error.message in {t.error_message for t in failed}
    assert str(error).startswith(f"IndexError in {len(failed)} trial(s), e.g. sma(period=")
    assert result.best_params["fast"] <= result.best_params["slow"]
    assert result.to_dict()["most_common_error"]["error_type"] == "IndexError"


def test_the_most_common_error_is_counted_by_type():
    def row(number, error_type, message):
        return TrialResult(number, {}, None, "FAIL", error_type=error_type,
                           error_message=message)

    trials = [row(0, "ValueError", "v"), row(1, "IndexError", "b"), row(2, "IndexError", "a"),
              row(3, "IndexError", "a"), row(4, "ValueError", "v"),
              TrialResult(5, {}, 1.0, "COMPLETE")]
    assert str(common_error(trials)) == "IndexError in 3 trial(s), e.g. a"
    tie = [row(0, "KeyError", "k"), row(1, "ValueError", "v")]
    assert common_error(tie).error_type == "KeyError"  # ties: the earliest trial's
    assert common_error(trials[5:]) is None


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_study_in_which_every_trial_fails_is_one_clear_error(n_jobs):
    with pytest.raises(StudyFailed) as caught:
        run(GoldenCross, n_trials=4, sampler="random", n_jobs=n_jobs,
            param_space={"fast": {"low": 40}, "slow": {"high": 30}})
    assert caught.value.failed == 4 and caught.value.error.error_type == "IndexError"
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("no trial of GoldenCross completed: 4 of 4 failed; most common "
                              "error: IndexError in 4 trial(s), e.g. sma(period=")


# Constraints


ABOVE = {"slow": {"greater_than": "fast"}}


@pytest.mark.parametrize(("sampler", "n_jobs"), [("tpe", 1), ("random", 2), ("tpe", 2)])
def test_a_declared_constraint_is_never_broken(sampler, n_jobs):
    result = run(GoldenCross, n_trials=40, sampler=sampler, seed=2, n_jobs=n_jobs,
                 param_space={"fast": {"high": 60}, "slow": {"low": 10, "high": 64,
                                                             "greater_than": "fast"}})
    assert len(result.trials) == 40 and result.failed_trials == 0
    assert all(t.params["slow"] > t.params["fast"] and 10 <= t.params["slow"] <= 64
               for t in result.trials)
    assert result.most_common_error is None


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_grid_holds_only_the_points_that_keep_the_constraints(n_jobs):
    overrides = {"fast": {"low": 10, "high": 30, "step": 5},
                 "slow": {"low": 15, "high": 35, "step": 10, "greater_than": "fast"}}
    valid = sorted((f, s) for f in range(10, 31, 5) for s in (15, 25, 35) if s > f)
    optimizer = StrategyOptimizer(GoldenCross, candles(), n_trials=100, sampler="grid",
                                  n_jobs=n_jobs, param_space=overrides, engine_options=ENGINE)
    assert optimizer.grid_size == len(valid) == 9
    result = optimizer.optimize()
    assert sorted((t.params["fast"], t.params["slow"]) for t in result.trials) == valid
    assert result.failed_trials == 0


def test_constraints_are_checked():
    schema = GoldenCross.parameters()
    with pytest.raises(ValueError, match="slow must be above fast, but fast can reach 50 and "
                                         "slow stops at 40: lower fast's high or raise slow's"):
        space.merge(schema, {"slow": {"high": 40, "greater_than": "fast"}})
    with pytest.raises(ValueError, match="slow: 'greater_than' must name another parameter, "
                                         "got 'fats'"):
        space.merge(schema, {"slow": {"greater_than": "fats"}})
    with pytest.raises(ValueError, match="'greater_than' constraints form a cycle among fast, "
                                         "slow"):
        space.merge(schema, {"slow": {"greater_than": "fast"}, "fast": {"greater_than": "slow"}})
    with pytest.raises(ValueError, match="'greater_than' names 'mode', which is not numeric"):
        space.check({"mode": {"type": "categorical", "choices": ["a"]},
                     "x": {"type": "int", "low": 0, "high": 3, "greater_than": "mode"}})
    with pytest.raises(ValueError, match="mode: 'greater_than' needs an int or float"):
        space.check({"x": {"type": "int", "low": 0, "high": 3},
                     "mode": {"type": "categorical", "choices": [1, 2], "greater_than": "x"}})
    fixed = space.merge(schema, {"fast": 30, "slow": {"greater_than": "fast"}})
    assert space.order(fixed) == ["fast", "slow"]
    dropped = space.merge({**schema, "slow": {**schema["slow"], "greater_than": "fast"}},
                          {"slow": {"greater_than": None}})
    assert space.allows(dropped, {"fast": 50, "slow": 20})


def _number(draw, kind, low, width):
    spec = {"type": kind, "low": low, "high": low + width}
    style = draw(st.sampled_from(["plain", "step", "log"]))
    if style == "step":
        spec["step"] = draw(st.sampled_from([1, 2, 5] if kind == "int" else [0.25, 0.5, 1.5]))
    elif style == "log":
        spec["log"] = True
    return spec


@st.composite
def constrained_spaces(draw):
    kinds = draw(st.lists(st.sampled_from(["int", "float"]), min_size=2, max_size=3))
    schema, low = {}, draw(st.integers(1, 20))
    for i, kind in enumerate(kinds):
        spec = _number(draw, kind, low, draw(st.integers(5, 40)))
        if i:
            spec["greater_than"] = f"p{i - 1}"
            spec["high"] = schema[f"p{i - 1}"]["high"] + draw(st.integers(5, 30))
        schema[f"p{i}"] = spec
        low = draw(st.integers(1, spec["high"]))
    return schema


@settings(max_examples=40, deadline=None)
@given(schema=constrained_spaces(), sampler=st.sampled_from(["random", "tpe"]),
       seed=st.integers(0, 1000))
def test_no_sampler_draws_a_point_that_breaks_a_constraint(schema, sampler, seed):
    """A chain p0 < p1 (< p2) of int/float parameters, stepped, log-scaled or plain."""
    space.check(schema)
    drawn = []

    def objective(trial):
        params = space.suggest(trial, schema)
        drawn.append(params)
        return sum(params.values())

    sampler_ = (optuna.samplers.RandomSampler(seed=seed) if sampler == "random"
                else optuna.samplers.TPESampler(seed=seed, n_startup_trials=5))
    study = optuna.create_study(sampler=sampler_)
    study.optimize(objective, n_trials=25)
    assert len(drawn) == 25 and all(t.state.name == "COMPLETE" for t in study.trials)
    for params in drawn:
        assert space.allows(schema, params)
        for name, spec in schema.items():
            assert spec["low"] <= params[name] <= spec["high"]


# Worker processes and data shipping


class Marker(Small):
    """Logs, on each run's first bar, the worker pid and how many runs saw the same columns."""

    log = ""

    def on_candle(self, candle, history, ctx=None):
        if len(history) == 0:
            cache = history.root.cache
            cache["runs"] = cache.get("runs", 0) + 1
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()} {cache['runs']}\n")
        return super().on_candle(candle, history, ctx)


def test_workers_share_one_study_and_receive_the_data_once(tmp_path):
    Marker.log = str(tmp_path / "runs.log")
    result = run(Marker, sampler="random", n_trials=16, n_jobs=2, seed=2)
    runs: dict[int, list[int]] = {}
    for line in (tmp_path / "runs.log").read_text().split("\n")[:-1]:
        pid, count = map(int, line.split())
        runs.setdefault(pid, []).append(count)
    assert os.getpid() not in runs and len(runs) == 2  # two worker processes did the work
    for counts in runs.values():
        assert counts == list(range(1, len(counts) + 1))  # one copy of the data per worker
    assert sum(map(len, runs.values())) == 16
    workers = {t.worker for t in result.trials}
    assert {int(w.rsplit(":", 1)[1]) for w in workers} == set(runs)
    assert sorted(t.number for t in result.trials) == list(range(16))


class Killed(Small):
    """Its worker process is SIGKILLed on the first run of fast=7, slow=20 (a crash, an
    out-of-memory kill); ``once`` names a file that makes it happen only once."""

    once = ""

    def on_candle(self, candle, history, ctx=None):
        first = len(history) == 0 and (self.fast, self.slow) == (7, 20)
        if first and not (self.once and os.path.exists(self.once)):
            if self.once:
                open(self.once, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().on_candle(candle, history, ctx)


def test_a_killed_worker_of_a_private_study_fails_its_trial_only():
    Killed.once = ""
    result = run(Killed, sampler="grid", n_trials=12, n_jobs=2, seed=1)
    assert len(result.trials) == 12  # the total: the lost trial counts, as failed
    [lost] = [t for t in result.trials if t.state == "FAIL"]
    assert lost.params == {"fast": 7, "slow": 20} and lost.error_type == "WorkerDied"
    assert re.fullmatch(r"worker process \d+ killed by SIGKILL during this trial",
                        lost.error_message)


def test_a_killed_workers_trial_on_a_stored_study_runs_again(tmp_path):
    Killed.once = str(tmp_path / "killed-once")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    result = run(Killed, sampler="grid", n_trials=12, n_jobs=2, seed=1, storage=url,
                 study_name="revived", heartbeat_s=1)
    assert os.path.exists(Killed.once)
    assert len(result.trials) == 12 and {t.state for t in result.trials} == {"COMPLETE"}
    assert sorted(t.number for t in result.trials) == list(range(12))
    again = run(sampler="grid", n_trials=12, seed=1)
    assert result.best_params == again.best_params and result.best_value == again.best_value


def test_candles_travel_as_numpy_columns():
    series = candles(50)
    packed = data.pack(series)
    kind, columns = packed
    assert kind == "series"
    assert {type(v) for v in columns.values()} <= {np.ndarray, str, int}
    again = data.unpack(pickle.loads(pickle.dumps(packed)))
    assert again == series and again.market == "SOL-PERP" and again.resolution_s == 3600
    window = series[10:20]  # a window ships only its own bars
    assert len(data.unpack(data.pack(window))) == 10
    raw = sum(a.nbytes for a in columns.values() if isinstance(a, np.ndarray))
    assert len(pickle.dumps(packed)) < raw + 1000  # no per-candle objects
    pair = data.unpack(data.pack({"a": series, "b": candles(30, market="ETH-PERP")}))
    assert pair["a"] == series and len(pair["b"]) == 30


def test_multi_market_parts_cover_the_same_time_span():
    long, short = candles(100), candles(100, market="ETH-PERP")[40:]
    parts = data.split({"SOL-PERP": long, "ETH-PERP": short}, 4)
    assert [len(p["SOL-PERP"]) for p in parts] == [25, 25, 25, 25]
    assert [len(p["ETH-PERP"]) for p in parts] == [0, 10, 25, 25]
    assert parts[1]["ETH-PERP"].timestamps[0] == START + 3600 * 40
    for p in parts[2:]:
        assert (p["ETH-PERP"].timestamps[[0, -1]] == p["SOL-PERP"].timestamps[[0, -1]]).all()


# Pruning


def test_pruning_scores_folds_and_stops_poor_trials():
    series = candles(800, seed=5)
    result = run(Cross, candles=series, n_trials=30, sampler="random", seed=7, pruning=True)
    states = [t.state for t in result.trials]
    assert "PRUNED" in states and "COMPLETE" in states
    folds = data.split(series, 4)
    settings_ = RunSettings(engine_options=ENGINE)
    best = result.trials[0]
    expected = np.mean([score(backtest(Cross, best.params, f, settings_), "sharpe_ratio", 3600,
                              10_000.0) for f in folds])
    assert best.value == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="pruning needs n_folds >= 2"):
        StrategyOptimizer(Cross, series, pruning=True, n_folds=1)


# Shared storage


def test_a_stored_study_holds_its_total_and_refuses_another_purpose(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    first = run(sampler="random", n_trials=4, storage=url, study_name="s1")
    again = run(sampler="random", n_trials=7, storage=url, study_name="s1")
    assert len(first.trials) == 4 and len(again.trials) == 7  # 7 in all, 3 of them new
    assert sorted(t.number for t in again.trials) == list(range(7))
    fewer = run(sampler="random", n_trials=5, storage=url, study_name="s1")
    assert len(fewer.trials) == 7 and fewer.best_params == again.best_params  # none to add
    resumed = run(sampler="random", n_trials=None, resume=True, storage=url, study_name="s1")
    assert len(resumed.trials) == 7  # the total the study was last run with
    with pytest.raises(ValueError, match="no study 'nope' to resume in sqlite:///"):
        run(sampler="random", n_trials=3, resume=True, storage=url, study_name="nope")
    with pytest.raises(ValueError, match="resuming needs the storage"):
        run(sampler="random", n_trials=3, resume=True)
    with pytest.raises(ValueError, match="study 's1' optimises sharpe_ratio of Small, not "
                                         "total_pnl of Small"):
        run(metric="total_pnl", n_trials=2, storage=url, study_name="s1")
    grid = run(sampler="grid", n_trials=100, storage=url, study_name="g")
    assert len(grid.trials) == 12
    done = run(sampler="grid", n_trials=100, storage=url, study_name="g")
    assert len(done.trials) == 12 and done.best_params == grid.best_params


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_progress_counts_this_calls_trials_up_to_the_total(n_jobs):
    calls = []
    StrategyOptimizer(Small, candles(), n_trials=9, n_jobs=n_jobs, sampler="random",
                      engine_options=ENGINE).optimize(lambda done, total: calls.append(
                          (done, total)))
    assert calls[-1] == (9, 9) and {total for _, total in calls} == {9}
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
