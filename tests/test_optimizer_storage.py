"""Beyond one machine: independent processes join one stored study and share its total.

The PostgreSQL tests reach the server over TCP (``FLINT_TEST_POSTGRES_URL``, default the
local server at 127.0.0.1:5432), as a second machine would; see ``postgres_url`` in
conftest.py for when they skip.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter

import optuna
import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.optimization.storage import StorageError, delete_shared, open_rdb, open_shared
from flint.testing.processes import all_gone, child_pids, descendant_pids, is_alive, wait_until
from flint.testing.strategy_files import crossing_strategy

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

    url, study, n_trials, n_jobs, GO, out = sys.argv[1:]

    GATED = False


    def gate(folder, participants=3):
        """Hold this process's first trial until every participant's worker process has
        one: each of them then runs trials, however slowly the others started."""
        global GATED
        if GATED:
            return
        GATED = True
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, str(os.getpid())), "w").close()
        deadline = time.monotonic() + 120
        while len(os.listdir(folder)) < participants and time.monotonic() < deadline:
            time.sleep(0.01)


    class Band(Strategy):
        name = "band"

        def __init__(self, period=10, band=0.5):
            gate(GO + ".started")
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


    t = np.arange(400)
    close = 100 + 5 * np.sin(t / 20) + np.random.default_rng(0).normal(0, 0.5, t.size)
    candles = CandleSeries(1_704_067_200 + 3600 * t, close, close + 0.5, close - 0.5, close,
                           np.ones(t.size), "SOL-PERP", 3600)
    deadline = time.monotonic() + 60
    while not os.path.exists(GO) and time.monotonic() < deadline:
        time.sleep(0.01)
    result = StrategyOptimizer(
        Band, candles, "sharpe_ratio", int(n_trials), n_jobs=int(n_jobs), storage=url,
        study_name=study, sampler="random", seed=0,
        engine_options={"fill_model": ClosePriceFill()},
    ).optimize()
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "seen": len(result.trials),
                   "best": result.best_params}, f)
''')


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    return request.getfixturevalue("postgres_url")


def _study(url, name):
    return optuna.load_study(study_name=name, storage=open_shared(url, name, 1))


def test_independent_processes_share_the_study_total_exactly(tmp_path, shared_url):
    script = tmp_path / "machine.py"
    script.write_text(WORKER)
    name = f"shared-{uuid.uuid4().hex}"
    go = tmp_path / "go"
    total = 24
    jobs = {"a": 1, "b": 2}  # each participant's worker processes
    procs = {
        who: subprocess.Popen(
            [sys.executable, str(script), shared_url, name, str(total), str(n), str(go),
             str(tmp_path / f"{who}.json")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for who, n in jobs.items()
    }
    time.sleep(0.5)
    go.touch()  # both start optimising at about the same time
    for proc in procs.values():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    reports = {who: json.loads((tmp_path / f"{who}.json").read_text()) for who in jobs}

    trials = _study(shared_url, name).get_trials(deepcopy=False)
    assert len(trials) == total  # the study's total: never more, never fewer
    assert sorted(t.number for t in trials) == list(range(total))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    by_pid = Counter(int(t.user_attrs["flint"]["worker"].rsplit(":", 1)[1]) for t in trials)
    assert reports["a"]["pid"] in by_pid  # "a" ran trials itself, "b" in two workers
    assert reports["b"]["pid"] not in by_pid and len(by_pid) == 3
    # every participant waits for the study to complete: one result, seen by all
    assert {r["seen"] for r in reports.values()} == {total}
    assert reports["a"]["best"] == reports["b"]["best"]
    params = Counter(tuple(sorted(t.params.items())) for t in trials)
    assert params.most_common(1)[0][1] == 1  # salted seeds: nobody repeated anybody
    delete_shared(shared_url, name)


# The command line against a real server

# each trial lasts long enough to be caught running
STRATEGY = crossing_strategy({"fast": {"type": "int", "low": 2, "high": 12, "step": 2},
                              "slow": {"type": "int", "low": 20, "high": 60, "step": 10}},
                             work=3000)
GRID = 30  # 6 x 5 points


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared-studies")
    done = CliRunner().invoke(cli, ["data", "sample", "--db", str(root / "sample.duckdb"),
                                    "--days", "240"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    (root / "crossing.py").write_text(STRATEGY)
    return root


def _flint(workspace, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "flint", *map(str, args)], cwd=workspace,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def _best(output):
    found = re.search(r"^best sharpe_ratio \S+ with (\{.*?\})", output, flags=re.M)
    assert found, output
    return found[1]


GRID_ARGS = ("--db", "sample.duckdb", "--sampler", "grid", "--seed", 5, "--no-journal")


def test_two_commands_share_a_study_and_survive_a_killed_one(workspace, postgres_url):
    """The issue's proof: two `flint optimize` processes on PostgreSQL, one SIGKILLed
    mid-run; the study ends with exactly its total, nothing RUNNING, the best of a
    single private run, and no process of the killed command left."""
    name = f"killed-{uuid.uuid4().hex}"
    shared = ("--storage", postgres_url, "--study", name, "--trials", GRID, "--jobs", 2,
              "--heartbeat", 1)
    victim = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, *shared)
    assert wait_until(lambda: len(child_pids(victim.pid)) >= 2, 60), "the workers never started"
    survivor = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, *shared)
    finished = (optuna.trial.TrialState.COMPLETE,)

    def progressed():
        try:
            return len(_study(postgres_url, name).get_trials(states=finished)) >= 6
        except KeyError:
            return False

    assert wait_until(progressed, 120), "no trial finished"
    running = _study(postgres_url, name).get_trials(states=(optuna.trial.TrialState.RUNNING,))
    workers = descendant_pids(victim.pid)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    assert all_gone(workers, 10), "the killed command's workers live on"
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err

    trials = _study(postgres_url, name).get_trials(deepcopy=False)
    assert len(trials) == GRID  # exactly --trials, the lost ones run again, no extra
    assert {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert len({tuple(sorted(t.params.items())) for t in trials}) == GRID  # the whole grid
    assert running, "the killed command had no trial running"
    alone = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--trials", GRID)
    single, err = alone.communicate(timeout=300)
    assert alone.returncode == 0, err
    assert _best(out) == _best(single)
    assert not any(map(is_alive, workers + descendant_pids(survivor.pid)))
    delete_shared(postgres_url, name)


def test_resume_continues_a_study_from_the_configured_storage(workspace, postgres_url):
    name = f"resumed-{uuid.uuid4().hex}"
    env = {"FLINT_OPTUNA_STORAGE": postgres_url}
    first = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--study", name,
                   "--trials", 4, env=env)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(_study(postgres_url, name).trials) == 4
    (workspace / "flint.yaml").write_text(f"optuna:\n  storage: {postgres_url}\n")
    try:
        more = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--study", name,
                      "--resume", "--trials", 9, "--jobs", 2)
        out, err = more.communicate(timeout=120)
        assert more.returncode == 0, err
        assert f"top 5 of 9 trials in study '{name}'" in out
        again = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--study", name,
                       "--resume")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert f"top 5 of 9 trials in study '{name}'" in out  # the recorded total: done
        missing = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--study",
                         f"{name}-x", "--resume")
        out, err = missing.communicate(timeout=120)
        assert missing.returncode == 1
        assert err.strip() == (f"Error: no study '{name}-x' to resume in {postgres_url}")
    finally:
        (workspace / "flint.yaml").unlink()
    trials = _study(postgres_url, name).trials
    assert len(trials) == 9 and {t.state.name for t in trials} == {"COMPLETE"}
    delete_shared(postgres_url, name)


def test_a_study_made_in_optunas_rdb_tables_resumes_there(workspace, postgres_url):
    """Studies flint made on PostgreSQL before its journal live in Optuna's RDB tables:
    ``--resume`` continues them there."""
    name = f"rdb-{uuid.uuid4().hex}"
    old = optuna.create_study(storage=postgres_url, study_name=name, direction="maximize")
    old.set_user_attr("flint", {"strategy": "Crossing", "metric": "sharpe_ratio"})
    old.set_user_attr("flint_trials", 3)
    more = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--storage", postgres_url,
                  "--study", name, "--resume", "--jobs", 2)
    out, err = more.communicate(timeout=120)
    assert more.returncode == 0, err
    assert f"of 3 trials in study '{name}'" in out
    trials = optuna.load_study(study_name=name, storage=postgres_url).trials
    assert len(trials) == 3 and {t.state.name for t in trials} == {"COMPLETE"}
    delete_shared(postgres_url, name)


@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://postgres@127.0.0.1:1/test", "cannot open the study storage "
     "postgresql://postgres@127.0.0.1:1/test: ... Connection refused"),
    ("postgresql://postgres:secret@127.0.0.1:5432/no_such_db", "cannot open the study "
     "storage postgresql://postgres:***@127.0.0.1:5432/no_such_db: ... database "
     "\"no_such_db\" does not exist"),
    ("bogus://somewhere/x", "the study storage bogus://somewhere/x: flint shares studies on "
     "PostgreSQL (postgresql://...) or SQLite (sqlite:///FILE), not bogus"),
    ("not a url", "the study storage 'not a url' is not a database URL (e.g. "
     "postgresql://user:pass@host/db or sqlite:///studies.db)"),
])
def test_a_storage_that_cannot_be_used_is_one_line(workspace, postgres_url, url, says):
    """What the driver says is kept (its first line), after what flint says."""
    done = _flint(workspace, "optimize", "crossing.py", *GRID_ARGS, "--storage", url,
                  "--trials", 2)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 1
    assert len(err.strip().splitlines()) == 1 and "secret" not in err, err
    ours, _, theirs = says.partition(" ... ")
    assert err.startswith(f"Error: {ours}") and theirs in err, err
    for opening in (lambda: open_shared(url, "x", 1), lambda: open_rdb(url, 1)):
        with pytest.raises(StorageError, match=r"^cannot open|^the study storage"):
            opening()
