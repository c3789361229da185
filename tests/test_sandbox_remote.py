"""Optimisation of a strategy file: trials run in a long-lived sandboxed child, never in-process."""

import math
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flint.models import CandleSeries
from flint.optimization.objective import RunSettings, backtest, score
from flint.optimization.optimizer import StrategyOptimizer
from flint.optimization.walk_forward import run_walk_forward
from flint.strategy.isolation import REQUIRED, host_support
from flint.strategy.loader import StrategyLoadError, StrategyParameterError, load_strategy_class
from flint.strategy.remote import SandboxedStrategy
from flint.strategy.sandbox import (
    Sandbox,
    SandboxLimits,
    StrategyExecutionError,
    StrategyTimeoutError,
)

pytestmark = pytest.mark.skipif(
    not all(s.available for s in host_support() if s.name in REQUIRED),
    reason="this host lacks Landlock or seccomp: untrusted code is refused here",
)

CROSS = (Path(__file__).parent / "user_strategies" / "golden_cross.py").read_text()
#: The engine's default fill model: the child builds its own (compiled fill models do not
#: unpickle, so engine options with one cannot travel to a child in the compiled build).
SETTINGS = RunSettings(10_000.0, 0.0005, {})


def candles(n=800, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    close = 100 * np.exp(0.1 * np.sin(t / 40) + np.cumsum(rng.normal(0, 0.004, n)))
    opens = np.concatenate(([close[0]], close[:-1]))
    return CandleSeries(1_704_067_200 + 3600 * t, opens, np.maximum(opens, close) * 1.002,
                        np.minimum(opens, close) * 0.998, close, np.full(n, 10.0), "SOL-PERP",
                        3600)


@pytest.fixture(scope="module")
def remote():
    strategy = SandboxedStrategy(CROSS, filename="golden_cross.py")
    yield strategy
    strategy.close()


def test_the_file_class_is_described_from_the_child(remote):
    local = load_strategy_class(CROSS)
    assert remote.__name__ == local.__name__
    assert remote.parameters() == local.parameters()


def test_a_trial_scores_exactly_as_in_process(remote):
    bars = candles()
    local = load_strategy_class(CROSS)
    for params in ({"fast": 8, "slow": 30}, {"fast": 20, "slow": 90}):
        there = backtest(remote, params, bars, SETTINGS)
        here = backtest(local, params, bars, SETTINGS)
        assert there.equity_curve == here.equity_curve
        assert there.total_pnl == here.total_pnl and there.total_trades == here.total_trades
        assert {**there.to_dict(), "logs": []} == {**here.to_dict(), "logs": []}  # timing
        for metric in ("sharpe_ratio", "sortino", "profit_factor", "max_drawdown", "win_rate"):
            a = score(there, metric, 3600, 10_000.0)
            b = score(here, metric, 3600, 10_000.0)
            assert a == b or (math.isnan(a) and math.isnan(b)), metric


def test_trials_reuse_one_child_and_send_the_candles_once(remote):
    bars = candles()
    backtest(remote, {"fast": 8, "slow": 30}, bars, SETTINGS)
    box = remote._sandbox()
    pid, sent = box._pid, len(box._sent)
    for fast in (5, 9, 13):
        backtest(remote, {"fast": fast, "slow": 40}, bars, SETTINGS)
    assert box._pid == pid and len(box._sent) == sent


def test_refused_parameters_are_a_parameter_error(remote):
    with pytest.raises(StrategyParameterError, match="cannot create GoldenCross"):
        backtest(remote, {"fast": 8, "slow": 30, "nonsense": 1}, candles(), SETTINGS)


def test_the_optimiser_and_walk_forward_give_the_in_process_trials(remote):
    bars = candles(1200)
    local = load_strategy_class(CROSS)
    common = {"n_trials": 6, "sampler": "random", "seed": 4}
    there = StrategyOptimizer(remote, bars, **common).optimize()
    here = StrategyOptimizer(local, bars, **common).optimize()
    assert [(t.params, t.value) for t in there.trials] == [(t.params, t.value)
                                                         for t in here.trials]
    wf = {"n_windows": 2, "trials_per_window": 3, "sampler": "random", "seed": 1}
    there, here = (run_walk_forward(s, bars, **wf).to_dict() for s in (remote, local))
    for window in (*there["windows"], *here["windows"]):
        # the same error; from the sandbox its message also names the file and line
        error = window.get("most_common_error")
        if error:
            error.pop("message")
    assert there == here


def test_worker_processes_run_their_own_sandboxed_children():
    strategy = SandboxedStrategy(CROSS, filename="golden_cross.py")
    copy = pickle.loads(pickle.dumps(strategy))
    assert copy._box is None and copy.parameters() == strategy.parameters()
    result = StrategyOptimizer(strategy, candles(), n_trials=4, n_jobs=2,
                               sampler="random").optimize()
    assert len({t.worker for t in result.trials}) == 2
    strategy.close()


def test_a_trial_past_its_cpu_limit_fails_alone_and_the_next_gets_a_new_child():
    slow = CROSS.replace("        self.fast, self.slow = fast, slow",
                         "        while fast == 7:\n            pass\n"
                         "        self.fast, self.slow = fast, slow")
    strategy = SandboxedStrategy(slow, limits=SandboxLimits(cpu_seconds=1, wall_seconds=30))
    bars = candles(200)
    first = backtest(strategy, {"fast": 5, "slow": 30}, bars, SETTINGS)
    with pytest.raises(StrategyTimeoutError, match="1 s of CPU time"):
        backtest(strategy, {"fast": 7, "slow": 30}, bars, SETTINGS)
    again = backtest(strategy, {"fast": 5, "slow": 30}, bars, SETTINGS)
    assert again.equity_curve == first.equity_curve
    strategy.close()


def test_a_refused_file_never_runs_in_this_process():
    with pytest.raises(StrategyLoadError, match="import of 'os' is not allowed"):
        SandboxedStrategy("import os\n" + CROSS)
    deep = "x = " + "(" * 50_000 + "1" + ")" * 50_000 + "\n" + CROSS
    with pytest.raises(StrategyLoadError):
        SandboxedStrategy(deep)


def test_numpy_lazy_imports_work_from_strategy_code_in_a_fresh_interpreter():
    """numpy imports numpy._core._methods (first .mean()) and numpy._core._internal
    (structured views) through the strategy frame's __import__."""
    code = CROSS + (
        "\nm = np.arange(4.0).mean()\n"
        "v = np.zeros(2, dtype=[('a', 'f8'), ('b', 'f8')]).view(np.float64)\n"
    )
    code = code.replace("from flint.models", "import numpy as np\nfrom flint.models", 1)
    script = ("import sys\nfrom flint.strategy.loader import load_user_strategy\n"
              "load_user_strategy(sys.stdin.read())\nprint('loaded')")
    run = subprocess.run([sys.executable, "-c", script], input=code, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.stdout.strip() == "loaded", run.stderr


def test_a_session_without_code_reports_its_layers():
    with Sandbox(None, trust=True) as box:
        assert {"environment", "rlimits", *REQUIRED} <= set(box.layers)


def test_a_long_lived_child_is_replaced_before_its_lifetime_cpu_runs_out():
    """The child's RLIMIT_CPU is twice a run's allowance: trials that each stay within
    their second but add up past two all succeed, on fresh children."""
    spins = 0
    started = time.process_time()
    while time.process_time() - started < 0.1:
        for _ in range(10_000):
            pass
        spins += 10_000
    busy = CROSS.replace("        self.fast, self.slow = fast, slow",
                         f"        for _ in range({spins * 6}):\n            pass\n"
                         "        self.fast, self.slow = fast, slow")  # about 0.6 s of CPU
    strategy = SandboxedStrategy(busy, limits=SandboxLimits(cpu_seconds=1, wall_seconds=60))
    bars = candles(100)
    pids = set()
    for _ in range(5):
        backtest(strategy, {"fast": 5, "slow": 30}, bars, SETTINGS)
        pids.add(strategy._sandbox()._pid)
    assert len(pids) > 1
    strategy.close()


class OnlyHere:
    """A fill model the child cannot import (this test module is not readable there)."""


def test_options_the_child_cannot_rebuild_are_an_error_not_a_dead_child(remote):
    settings = RunSettings(10_000.0, 0.0005, {"fill_model": OnlyHere()})
    with pytest.raises(StrategyExecutionError, match="No module named") as info:
        backtest(remote, {"fast": 8, "slow": 30}, candles(), settings)
    assert "died" not in str(info.value)
    assert backtest(remote, {"fast": 8, "slow": 30}, candles(), SETTINGS).total_trades > 0
