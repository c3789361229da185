"""Shared studies: trials per second and CPU per trial, PostgreSQL vs private storage.

    python bench/bench_studies.py [--url postgresql://postgres@127.0.0.1:5432/test]
                                  [--trials 200] [--bars 20000] [--repeat 2] [--data DIR]
                                  [--workers 1,2,4] [--paired 3] [--paired-trials 80]

The built-in ``ma_crossover`` (``pip install ./plugins/flint-strategies``), random
sampler, Sharpe ratio, on the last ``--bars`` hourly bars of Binance SOLUSDT perpetual
(``binance-SOLUSDT-3600.csv`` of the real data). Each configuration runs a new study of
``--trials`` trials with 1, 2 and 4 worker processes: on PostgreSQL (``--url``, a new
study name each run, deleted afterwards) and privately (memory for one worker, the
nameless journal for several). Best of ``--repeat`` runs by wall time. Recorded: trials
per second (wall), CPU seconds per trial of this process and its workers, and of the
PostgreSQL server's processes (read from /proc, so only for a server on this machine),
with the load average, since the machine may be shared.

Then the issue's figure, the overhead of PostgreSQL over memory in CPU per trial: one
worker, ``--paired`` rounds of ``--paired-trials`` trials on memory then on PostgreSQL
(alternating, so both see the same load), CPU of this process and of the server.
"""

import argparse
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import optuna
from bench_optimizer import DATA, sol_hourly, usage

from flint.optimization.optimizer import StrategyOptimizer
from flint.optimization.storage import delete_shared


def server_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL processes of this machine (0 if none):
    the running ones, plus the connections that ended (counted in their parent's
    children time)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def measure(strategy: type, candles, trials: int, jobs: int, url: str | None) -> dict:
    study = f"bench-{uuid.uuid4().hex}" if url else None
    load = os.getloadavg()[0]
    cpu0, server0, wall = usage()[0], server_cpu(), time.perf_counter()
    result = StrategyOptimizer(strategy, candles, "sharpe_ratio", trials, n_jobs=jobs,
                               storage=url, study_name=study, sampler="random",
                               seed=0).optimize()
    wall = time.perf_counter() - wall
    cpu, server = usage()[0] - cpu0, server_cpu() - server0
    if url:
        delete_shared(url, study)
    assert len(result.trials) == trials
    return {"storage": "postgresql" if url else ("memory" if jobs == 1 else "journal"),
            "jobs": jobs, "wall_s": wall, "trials_per_s": trials / wall,
            "cpu_ms_per_trial": 1000 * cpu / trials,
            "server_cpu_ms_per_trial": 1000 * server / trials if url else 0.0,
            "load_before": load, "load_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workers", default="1,2,4",
                        help="Worker counts to compare (comma-separated; empty: none).")
    parser.add_argument("--paired", type=int, default=3,
                        help="Rounds of the paired memory-vs-PostgreSQL comparison.")
    parser.add_argument("--paired-trials", type=int, default=80)
    parser.add_argument("--out", type=Path, default=None, help="Also write the rows as JSON.")
    args = parser.parse_args()
    from flint.plugins import get_host

    strategy = get_host().registry("strategies").get("ma_crossover")
    measure(strategy, sol_hourly(args.data, 500), 2, 1, args.url)  # imports, first connect
    candles = sol_hourly(args.data, args.bars)
    rows = []
    for jobs in [int(n) for n in args.workers.split(",") if n]:
        for url in (None, args.url):
            runs = [measure(strategy, candles, args.trials, jobs, url)
                    for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["wall_s"])
            rows.append(best)
            print(json.dumps(best), flush=True)
    print(f"# {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
          f"optuna {optuna.__version__}, {os.cpu_count()} CPUs")
    print("| storage | workers | trials/s | CPU ms/trial (flint) | CPU ms/trial (server) "
          "| load |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['storage']} | {r['jobs']} | {r['trials_per_s']:.1f} | "
              f"{r['cpu_ms_per_trial']:.1f} | {r['server_cpu_ms_per_trial']:.1f} | "
              f"{r['load_before']:.1f} |")
    paired = [measure(strategy, candles, args.paired_trials, 1, url)
              for _ in range(args.paired) for url in (None, args.url)]
    memory = [r["cpu_ms_per_trial"] for r in paired if r["storage"] == "memory"]
    pg = [r["cpu_ms_per_trial"] for r in paired if r["storage"] == "postgresql"]
    server = [r["server_cpu_ms_per_trial"] for r in paired if r["storage"] == "postgresql"]
    loads = [r["load_before"] for r in paired]
    print(f"\npaired, 1 worker, {args.paired_trials} trials x {args.paired} rounds, "
          f"load {min(loads):.1f}-{max(loads):.1f}")
    print("| memory CPU ms/trial | PostgreSQL CPU ms/trial (flint) | (server) | overhead |")
    print("|---|---|---|---:|")
    print(f"| {', '.join(f'{m:.1f}' for m in memory)} | {', '.join(f'{m:.1f}' for m in pg)} "
          f"| {', '.join(f'{m:.1f}' for m in server)} "
          f"| {100 * (median(pg) / median(memory) - 1):+.1f} % |")
    print(f"PostgreSQL overhead, CPU per trial (medians, flint's process): "
          f"{median(pg) - median(memory):+.1f} ms = "
          f"{100 * (median(pg) / median(memory) - 1):+.1f} %; with the server's: "
          f"{100 * ((median(pg) + median(server)) / median(memory) - 1):+.1f} % (target <= 10 %)")
    if args.out is not None:
        args.out.write_text(json.dumps({"rows": rows, "paired": paired}, indent=2))


if __name__ == "__main__":
    main()
