"""Cost of the strategy sandbox: start-up, and overhead on a 100k-bar backtest.

    python bench/bench_sandbox.py [--bars 100000] [--repeat 5]

* fork server boot: the first sandbox of a flint process starts the fork server (a
  fresh interpreter importing numpy, flint and the plugins);
* sandbox start: a confined child forked, every layer applied, its report read,
  then stopped (median of 20);
* strategy file run on 10 bars: start, load the file, run the default job, stop;
* one backtest of ``tests/user_strategies/golden_cross.py`` on ``--bars`` hourly bars
  of a random walk: in this process vs ``run_in_sandbox`` with the backtest job
  (start, send the candles, load, run, journal record back), alternating, best of
  ``--repeat`` each (the run least disturbed by other work on a shared machine);
* one optimiser trial on the same bars: the in-process class vs a
  ``SandboxedStrategy`` whose long-lived child already holds the code and candles
  (best of ``--repeat``).

Prints one JSON object with the numbers and the load average.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from flint.backtest.runs import SANDBOX_JOB, RunSettings, run_backtest, sandbox_options
from flint.models import CandleSeries
from flint.optimization.objective import RunSettings as TrialSettings
from flint.optimization.objective import backtest
from flint.strategy.forkserver import fork_server
from flint.strategy.loader import load_strategy_class, load_user_strategy
from flint.strategy.remote import SandboxedStrategy
from flint.strategy.sandbox import Sandbox, run_in_sandbox
from flint_core.compiled import is_compiled

CODE = (Path(__file__).resolve().parents[1] / "tests" / "user_strategies" /
        "golden_cross.py").read_text()


def walk(bars: int) -> CandleSeries:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, bars)))
    opens = np.concatenate(([close[0]], close[:-1]))
    return CandleSeries(1_600_000_000 + 3600 * np.arange(bars), opens,
                        np.maximum(opens, close) * 1.002, np.minimum(opens, close) * 0.998,
                        close, np.full(bars, 10.0), "SOL-PERP", 3600, "binance")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, object] = {"python": platform.python_version(), "compiled": is_compiled(),
                              "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    out["fork_server_boot_s"] = timed(fork_server)

    def start_stop():
        Sandbox(None).close()

    out["sandbox_start_s"] = statistics.median(timed(start_stop) for _ in range(20))
    small = walk(10)
    out["file_run_10_bars_s"] = statistics.median(
        timed(lambda: run_in_sandbox(CODE, small)) for _ in range(10))

    candles = walk(args.bars)
    settings = RunSettings(strategy="golden_cross.py", market="SOL-PERP", venues=("binance",),
                           fill_model="close", max_runtime_s=0)
    options = sandbox_options({}, [], settings)
    here, there = [], []
    for _ in range(args.repeat):
        here.append(timed(lambda: run_backtest(load_user_strategy(CODE), candles, [],
                                               settings)))
        there.append(timed(lambda: run_in_sandbox(CODE, candles, job=SANDBOX_JOB,
                                                  options=options)))
    out[f"backtest_{args.bars}_in_process_s"] = min(here)
    out[f"backtest_{args.bars}_sandbox_s"] = min(there)
    out["backtest_overhead_pct"] = 100 * (min(there) / min(here) - 1)

    local = load_strategy_class(CODE)
    remote = SandboxedStrategy(CODE)
    trial = TrialSettings(10_000.0, 0.0005, {})
    params = {"fast": 20, "slow": 50}
    backtest(remote, params, candles, trial)  # the child holds code and candles from now on
    here, there = [], []
    for _ in range(args.repeat):
        here.append(timed(lambda: backtest(local, params, candles, trial)))
        there.append(timed(lambda: backtest(remote, params, candles, trial)))
    remote.close()
    out[f"trial_{args.bars}_in_process_s"] = min(here)
    out[f"trial_{args.bars}_sandbox_s"] = min(there)
    out["trial_overhead_pct"] = 100 * (min(there) / min(here) - 1)
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
