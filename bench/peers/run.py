"""Run every benchmark cell, each in a fresh process, and write the results as JSON.

    python bench/peers/run.py --env backtesting_py=PYTHON ... --out results.json

``--env KEY=PYTHON`` names the interpreter of each environment (keys: the ENVS of
FRAMEWORKS below); a framework whose environment is not given is reported as not
available. Cells run one at a time (timings would fight over the 2 cores otherwise).
On the 1M-bar dataset a framework is skipped when its 100k-bar speed projects a run
longer than ``--run-cap`` seconds, or more time than is left of ``--time-budget``;
a cell that overruns its hard time limit is reported as a timeout.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data
import reference

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Framework:
    label: str
    module: str
    env: str
    variant: str = ""


FRAMEWORKS = [
    Framework("flint mypyc ClosePriceFill", "flint_sdk", "flint-mypyc", "close"),
    Framework("flint mypyc FillPipeline", "flint_sdk", "flint-mypyc", "pipeline"),
    Framework("flint pure ClosePriceFill", "flint_sdk", "flint-pure", "close"),
    Framework("flint pure FillPipeline", "flint_sdk", "flint-pure", "pipeline"),
    Framework("backtesting.py", "backtesting_py", "backtesting"),
    Framework("backtrader", "backtrader_py", "backtrader"),
    Framework("vectorbt", "vectorbt_py", "vectorbt"),
    Framework("NautilusTrader", "nautilus", "nautilus"),
    Framework("flint-trading", "flint_trading", "flint-trading"),
]
STRATEGIES = ["S0", "S1"]
BIG = "gbm_1m"
PROJECTED_FROM = "gbm_100k"


def machine() -> dict[str, object]:
    """CPU model, cores, RAM and Python of this machine."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def run_cell(python: str, fw: Framework, strategy: str, path: Path, runs: int,
             budget: float, timeout: float) -> dict[str, object]:
    cmd = [python, "-I", str(HERE / "cell.py"), fw.module, strategy, str(path),
           "--runs", str(runs), "--budget", str(budget)]
    if fw.variant:
        cmd += ["--variant", fw.variant]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=path.parent, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "detail": f"no result within {timeout:.0f} s"}
    wall = time.perf_counter() - start
    for line in proc.stdout.splitlines():
        if line.startswith("CELL-RESULT "):
            return {"status": "ok", "wall_s": wall, **json.loads(line.removeprefix("CELL-RESULT "))}
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"status": "error", "detail": f"exit {proc.returncode}: {tail[0][:300]}", "wall_s": wall}


def skip_reason(results: list[dict[str, object]], fw: Framework, strategy: str, dataset: str,
                bars: int, run_cap: float, runs: int, seconds_left: float) -> str | None:
    if dataset != BIG:
        return None
    for r in results:
        if (r["framework"], r["strategy"], r["dataset"]) == (fw.label, strategy, PROJECTED_FROM):
            if r["status"] != "ok":
                return f"its {PROJECTED_FROM} cell is {r['status']}"
            projected = bars / float(r["bars_per_s"])  # type: ignore[arg-type]
            if projected > run_cap:
                return (f"{PROJECTED_FROM} speed projects {projected:.0f} s per run "
                        f"(cap {run_cap:.0f} s)")
            if projected * (runs + 1) > seconds_left:
                return (f"{runs + 1} runs of a projected {projected:.0f} s exceed the "
                        f"{seconds_left:.0f} s left of the time budget")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", default=[], metavar="KEY=PYTHON")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cache", help="dataset directory (see data.py)")
    parser.add_argument("--datasets", default=",".join(data.DATASETS))
    parser.add_argument("--frameworks", default="", help="comma-separated labels (default all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--run-cap", type=float, default=30.0,
                        help="longest projected run (s) still attempted on the 1M dataset")
    parser.add_argument("--time-budget", type=float, default=900.0,
                        help="seconds for all cells; 1M cells that would overrun it are skipped")
    parser.add_argument("--pending", default="",
                        help="ENV=REASON: environments not built, with the reason shown")
    args = parser.parse_args(argv)
    envs = dict(item.split("=", 1) for item in args.env)
    pending = dict(item.split("=", 1) for item in args.pending.split(";") if item)
    wanted = [f for f in FRAMEWORKS if not args.frameworks or f.label in args.frameworks.split(",")]
    cache = data.cache_dir(args.cache)
    datasets = args.datasets.split(",")

    started = time.time()
    results: list[dict[str, object]] = []
    for dataset in datasets:
        path = data.build(dataset, cache)
        bars = len(data.load(path)["close"])
        for fw in wanted:
            for strategy in STRATEGIES:
                cell = {"framework": fw.label, "strategy": strategy, "dataset": dataset,
                        "bars": bars, **asdict(fw)}
                python = envs.get(fw.env)
                left = args.time_budget - (time.time() - started)
                reason = skip_reason(results, fw, strategy, dataset, bars, args.run_cap,
                                     args.runs, left)
                if python is None:
                    outcome = {"status": "not available",
                               "detail": pending.get(fw.env, f"no environment {fw.env!r}")}
                elif reason:
                    outcome = {"status": "skipped", "detail": reason}
                else:
                    outcome = run_cell(python, fw, strategy, path, args.runs,
                                       budget=3 * args.run_cap, timeout=6 * args.run_cap + 120)
                cell.update(outcome)
                results.append(cell)
                shown = (f"{cell['bars_per_s']:>12,.0f} bars/s  equity {cell['final_equity']:.6f}"
                         f"  trades {cell['trades']}" if outcome["status"] == "ok"
                         else f"{outcome['status']}: {outcome.get('detail', '')}")
                print(f"{dataset:9} {strategy} {fw.label:28} {shown}", flush=True)

    checks = {}
    for dataset in datasets:
        close = data.load(data.build(dataset, cache))["close"]
        checks[dataset] = {"ties": reference.tie_report(close), "reference": {}}
        for rules in {tuple(sorted(r["rules"].items())) for r in results  # type: ignore[union-attr]
                      if r["dataset"] == dataset and r.get("rules")} | {
                          tuple(sorted(asdict(rules).items())) for rules in reference.RULE_STEPS}:
            outcome = reference.run_s1(close, reference.Rules(**dict(rules)))
            checks[dataset]["reference"][json.dumps(dict(rules), sort_keys=True)] = {
                "final_equity": outcome.final_equity, "trades": outcome.trades}
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    report = {"machine": machine(), "started": stamp,
              "elapsed_s": time.time() - started, "loadavg_end": os.getloadavg(),
              "run_cap_s": args.run_cap, "time_budget_s": args.time_budget, "runs": args.runs,
              "results": results, "checks": checks}
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out} in {report['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
