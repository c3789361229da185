"""One benchmark cell, run in a fresh process: framework x strategy x dataset.

    <framework's python> bench/peers/cell.py FRAMEWORK STRATEGY DATASET.npz [--runs 3] [--budget S]

Loads the dataset, lets the framework's runner prepare its native input (untimed:
DataFrame, bar or candle objects), warms up on a short prefix (imports, JIT,
caches), then times up to ``--runs`` full runs, stopping early when another run
would overrun ``--budget`` seconds. Each run builds a fresh engine and strategy.
Prints one JSON line: median seconds (wall time) and median CPU seconds of this
process, the runs, final equity, trades, peak RSS of this process (the runs, the
prepared input and the framework together) and versions.
"""

import argparse
import gc
import importlib
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data

WARMUP_BARS = 2_000
MARKER = "CELL-RESULT "


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", help="module name under bench/peers/frameworks/")
    parser.add_argument("strategy", choices=["S0", "S1"])
    parser.add_argument("dataset", help="path of a dataset .npz written by data.py")
    parser.add_argument("--variant", default="", help="framework-specific variant (flint builds)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds of timed runs after which no new run starts")
    args = parser.parse_args(argv)

    runner = importlib.import_module(f"frameworks.{args.framework}")
    bars = data.load(args.dataset)
    n = len(bars["close"])
    prefix = {k: v[:WARMUP_BARS] for k, v in bars.items()}
    runner.run(runner.prepare(prefix), args.strategy, args.variant)
    native = runner.prepare(bars)
    del bars, prefix

    seconds: list[float] = []
    cpu: list[float] = []
    outcome: tuple[float, int] = (float("nan"), -1)
    while len(seconds) < args.runs:
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        outcome = runner.run(native, args.strategy, args.variant)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if sum(seconds) + seconds[-1] > args.budget:
            break
    median = statistics.median(seconds)
    result = {
        "bars": n,
        "seconds": median,
        "runs": seconds,
        "bars_per_s": n / median,
        "cpu_seconds": statistics.median(cpu),
        "cpu_runs": cpu,
        "final_equity": float(outcome[0]),
        "trades": int(outcome[1]),
        "peak_rss_mb": peak_rss_mb(),
        "versions": runner.versions(),
        "rules": runner.RULES,
        "python": platform.python_version(),
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
