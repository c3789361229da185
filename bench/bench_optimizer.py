"""Optimizer scaling: one worker process vs several on the same grid study.

    python bench/bench_optimizer.py [--bars 20000] [--jobs 2] [--repeat 2] [--data DIR]

A grid search of the built-in ``ma_crossover`` strategy (``pip install
./plugins/flint-strategies``) over fast 5..50 step 5 x slow 20..200 step 10 (190 points,
16 of them refused because fast >= slow), Sharpe ratio, on the last ``--bars`` hourly
bars of Binance SOLUSDT perpetual (``binance-SOLUSDT-3600.csv`` of the real data:
``$FLINT_TEST_DATA`` or ``../shared/data`` next to the checkout). Runs alternate between
``n_jobs=1`` and ``n_jobs=N`` (best of ``--repeat`` each) and must find the same best
parameters. Wall time and CPU time (this process plus its worker processes) are
recorded, with context switches and the load average, since the machine may be shared:
CPU time shows what the work costs, wall time what parallelism gained, and involuntary
context switches how often other work took the CPU away.
"""

import argparse
import csv
import json
import os
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from flint.models import CandleSeries
from flint.optimization.optimizer import StrategyOptimizer
from flint_core.compiled import is_compiled

DATA = Path(os.environ.get("FLINT_TEST_DATA")
            or Path(__file__).resolve().parents[2] / "shared" / "data")
SPACE = {
    "fast_period": {"low": 5, "high": 50, "step": 5},
    "slow_period": {"low": 20, "high": 200, "step": 10},
}


def sol_hourly(folder: Path, bars: int) -> CandleSeries:
    """The last ``bars`` rows of the Binance SOLUSDT 1h candles."""
    with open(folder / "binance-SOLUSDT-3600.csv", newline="") as f:
        rows = list(csv.DictReader(f))[-bars:]
    col = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    return CandleSeries(col["ts"].astype(np.int64), col["open"], col["high"], col["low"],
                        col["close"], col["volume"], "SOL-PERP", 3600, "binance")


def usage() -> tuple[float, int, int]:
    """CPU seconds, voluntary and involuntary context switches of this process and of its
    finished child processes (a voluntary switch waits for something, a lock for example;
    an involuntary one is the CPU taken away, by other work on the machine)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
            own.ru_nvcsw + kids.ru_nvcsw, own.ru_nivcsw + kids.ru_nivcsw)


def measure(strategy: type, candles: CandleSeries, jobs: int) -> dict:
    """One optimisation: wall and CPU seconds, the winner and the trial count."""
    load = os.getloadavg()[0]
    before, wall = usage(), time.perf_counter()
    result = StrategyOptimizer(strategy, candles, "sharpe_ratio", 1000, n_jobs=jobs,
                               sampler="grid", seed=0, param_space=SPACE).optimize()
    wall = time.perf_counter() - wall
    cpu, waits, preempted = (a - b for a, b in zip(usage(), before, strict=True))
    return {
        "jobs": jobs, "wall_s": wall, "cpu_s": cpu, "waits": waits, "preempted": preempted,
        "load_before": load,
        "load_after": os.getloadavg()[0], "trials": len(result.trials),
        "completed": sum(t.state == "COMPLETE" for t in result.trials),
        "best_params": result.best_params, "best_value": result.best_value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args()
    try:
        from flint_strategies.ma_crossover import MACrossoverStrategy
    except ImportError:
        raise SystemExit(
            "needs the built-in strategies: pip install ./plugins/flint-strategies"
        ) from None
    candles = sol_hourly(args.data, args.bars)
    runs: dict[int, list[dict]] = {1: [], args.jobs: []}
    for _ in range(args.repeat):
        for jobs, found in runs.items():
            found.append(measure(MACrossoverStrategy, candles, jobs))
            print(json.dumps(found[-1]))
    best = {jobs: min(found, key=lambda r: r["wall_s"]) for jobs, found in runs.items()}
    one, many = best[1], best[args.jobs]
    same = one["best_params"] == many["best_params"] and one["best_value"] == many["best_value"]
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "python": platform.python_version(),
        "compiled": is_compiled(), "cpus": os.cpu_count(), "bars": len(candles),
        "first_ts": int(candles.timestamps[0]), "last_ts": int(candles.timestamps[-1]),
        "same_best": same, "speedup_wall": one["wall_s"] / many["wall_s"],
        "cpu_ratio": many["cpu_s"] / one["cpu_s"], "best": best, "runs": runs,
    }
    print(f"\n{len(candles):,} bars, {one['trials']} grid points ({one['completed']} completed)"
          f", best {one['best_params']} sharpe {one['best_value']:.4f}")
    for jobs, run in best.items():
        print(f"n_jobs={jobs}: wall {run['wall_s']:.2f} s, CPU {run['cpu_s']:.2f} s, "
              f"context switches {run['waits']} voluntary / {run['preempted']} involuntary, "
              f"load {run['load_before']:.2f} -> {run['load_after']:.2f}")
    print(f"speedup (wall) {summary['speedup_wall']:.2f}x; CPU(n_jobs={args.jobs}) / "
          f"CPU(n_jobs=1) {summary['cpu_ratio']:.2f}; same best parameters: {same}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))
    if not same:
        raise SystemExit("n_jobs changed the best parameters")


if __name__ == "__main__":
    main()
