"""Beyond one machine: independent processes join one RDB-backed study and their trials add up."""

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter

import optuna

WORKER = textwrap.dedent('''
    """One "machine": the same optimisation call every participant runs."""

    import json
    import os
    import sys
    import time

    import numpy as np

    from flint.execution.fill_models import ClosePriceFill
    from flint.models import CandleSeries, Signal
    from flint.optimization.optimizer import StrategyOptimizer
    from flint.strategy.base import Strategy


    class Band(Strategy):
        name = "band"

        def __init__(self, period=10, band=0.5):
            self.period, self.band = period, band

        def on_candle(self, candle, history, ctx=None):
            if len(history) < self.period:
                return Signal.HOLD
            gap = (candle.close / history.closes[-self.period:].mean() - 1) * 100
            return Signal.BUY if gap > self.band else Signal.SELL if gap < -self.band \\
                else Signal.HOLD

        def reset(self):
            pass

        @classmethod
        def parameters(cls):
            return {"period": {"type": "int", "low": 2, "high": 60},
                    "band": {"type": "float", "low": 0.0, "high": 2.0}}


    url, study, n_trials, n_jobs, go, out = sys.argv[1:]
    t = np.arange(400)
    close = 100 + 5 * np.sin(t / 20) + np.random.default_rng(0).normal(0, 0.5, t.size)
    candles = CandleSeries(1_704_067_200 + 3600 * t, close, close + 0.5, close - 0.5, close,
                           np.ones(t.size), "SOL-PERP", 3600)
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.01)
    result = StrategyOptimizer(
        Band, candles, "sharpe_ratio", int(n_trials), n_jobs=int(n_jobs), storage=url,
        study_name=study, sampler="random", seed=0,
        engine_options={"fill_model": ClosePriceFill()},
    ).optimize()
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "seen": len(result.trials)}, f)
''')


def test_independent_processes_share_one_study_without_losing_trials(tmp_path):
    script = tmp_path / "machine.py"
    script.write_text(WORKER)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    go = tmp_path / "go"
    plan = {"a": (14, 1), "b": (18, 2)}  # (n_trials, n_jobs) of each participant
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(script), url, "shared", str(n), str(jobs), str(go),
             str(tmp_path / f"{name}.json")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, (n, jobs) in plan.items()
    }
    time.sleep(0.5)
    go.touch()  # both start optimising at about the same time
    for proc in procs.values():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in plan}

    study = optuna.load_study(study_name="shared", storage=url)
    trials = study.get_trials(deepcopy=False)
    total = sum(n for n, _ in plan.values())
    assert len(trials) == total
    assert sorted(t.number for t in trials) == list(range(total))  # none lost, none twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    by_pid = Counter(int(t.user_attrs["flint"]["worker"].rsplit(":", 1)[1]) for t in trials)
    # "a" ran its trials itself; "b" in two worker processes of its own
    assert by_pid.pop(reports["a"]["pid"]) == plan["a"][0]
    assert sum(by_pid.values()) == plan["b"][0] and len(by_pid) == 2
    assert reports["b"]["pid"] not in by_pid
    # the last to finish saw every trial; the seeds were salted, so nobody repeated anyone
    assert max(r["seen"] for r in reports.values()) == total
    params = Counter(tuple(sorted(t.params.items())) for t in trials)
    assert params.most_common(1)[0][1] == 1
