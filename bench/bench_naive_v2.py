"""A v2 strategy written naively, against backtesting.py and flint's v1 runner, same run.

    python bench/bench_naive_v2.py --env flint-mypyc=PYTHON --env backtesting=PYTHON \\
        [--env flint-pure=PYTHON] [--bars 200000] [--rounds 3] [--runs 3] [--out FILE]

(``nox -s bench_naive`` builds the environments and runs it.) The cells, each in a
fresh process through ``bench/peers/cell.py`` on the same seeded GBM hourly bars:

- flint v2 naive: ``bench/peers/frameworks/flint_v2.py`` (``list[Candle]`` input,
  ``sma(history, 20/50)``, ``ctx.position`` and ``ctx.account`` every bar, market
  orders sized from cash, ``ClosePriceFill``);
- flint v1 runner: the peer benchmark's S1 (``bench/peers/frameworks/flint_sdk.py``:
  a ``CandleSeries``, ``sma(..., candle=candle)``, v1 signals, ``ClosePriceFill``);
- backtesting.py: the peer benchmark's S1 (``bench/peers/frameworks/backtesting_py.py``).

Other jobs share the machine, so every cell reports the CPU time of its process
(median of ``--runs`` runs) beside the wall time, and the cells run ``--rounds``
times, interleaved, with the load average noted around each round. The speed ratio
is taken within each round. The last line printed judges the issue's targets: the
naive cell's median CPU bars/s against 1,000,000 and its ratio to backtesting.py
against 5x in every round.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PEERS = Path(__file__).resolve().parent / "peers"
sys.path.insert(0, str(PEERS))

import data  # noqa: E402
from run import Framework, machine, run_cell  # noqa: E402

NAIVE = Framework("flint mypyc, v2 naive", "flint_v2", "flint-mypyc", "close")
CELLS = [
    NAIVE,
    Framework("flint mypyc, v1 runner", "flint_sdk", "flint-mypyc", "close"),
    Framework("flint pure, v2 naive", "flint_v2", "flint-pure", "close"),
    Framework("backtesting.py", "backtesting_py", "backtesting"),
]
PEER = "backtesting.py"


def dataset(bars: int, cache: Path) -> Path:
    """The GBM dataset of ``bars`` hourly bars (written once into ``cache``)."""
    path = cache / f"gbm_{bars}.npz"
    if not path.is_file():
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **data.gbm_bars(bars))
        tmp.replace(path)
    return path


def measure(envs: dict[str, str], bars: int, rounds: int, runs: int) -> dict[str, object]:
    path = dataset(bars, data.cache_dir())
    cells = [fw for fw in CELLS if fw.env in envs]
    results: list[dict[str, object]] = []
    for number in range(1, rounds + 1):
        load_before = os.getloadavg()[0]
        for fw in cells:
            cell = run_cell(envs[fw.env], fw, "S1", path, runs, budget=600.0, timeout=1200.0)
            cell.update({"round": number, "framework": fw.label, "bars": bars})
            results.append(cell)
            shown = (f"{bars / cell['cpu_seconds']:>12,.0f} bars/s CPU "
                     f"{cell['bars_per_s']:>12,.0f} wall  trades {cell['trades']}"
                     if cell["status"] == "ok" else f"{cell['status']}: {cell.get('detail')}")
            print(f"round {number} {fw.label:24} {shown}", flush=True)
        print(f"round {number}: 1-minute load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after", flush=True)
        results.append({"round": number, "load_before": load_before,
                        "load_after": os.getloadavg()[0]})
    return {"machine": machine(), "bars": bars, "runs": runs,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "results": results}


def table(report: dict[str, object]) -> str:
    """Markdown: CPU-time bars/s per cell (median and best round), and the ratio to the peer."""
    rows = [r for r in report["results"] if "framework" in r]  # type: ignore[union-attr]
    bars = int(report["bars"])  # type: ignore[call-overload]
    speeds: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}
    for r in rows:
        if r["status"] == "ok":
            speeds.setdefault(r["framework"], []).append(bars / r["cpu_seconds"])
            walls.setdefault(r["framework"], []).append(float(r["bars_per_s"]))
    by_round: dict[int, dict[str, float]] = {}
    for r in rows:
        if r["status"] == "ok":
            by_round.setdefault(r["round"], {})[r["framework"]] = bars / r["cpu_seconds"]
    lines = ["| cell | bars/s (CPU, median of rounds) | best round | wall bars/s (median) | "
             f"x {PEER} (per round) |", "|---|---:|---:|---:|---|"]
    for label, values in speeds.items():
        ratios = [f"{s[label] / s[PEER]:.2f}x" for s in by_round.values()
                  if label in s and PEER in s]
        lines.append(f"| {label} | {statistics.median(values):,.0f} | {max(values):,.0f} | "
                     f"{statistics.median(walls[label]):,.0f} | {', '.join(ratios)} |")
    loads = [r for r in report["results"] if "load_before" in r]  # type: ignore[union-attr]
    lines.append("")
    lines.append("Load average (1 min) around each round: " + "; ".join(
        f"{r['load_before']:.1f} -> {r['load_after']:.1f}" for r in loads))
    return "\n".join(lines)


#: What issue 12 asks of the naive v2 strategy, compiled, on 200,000 bars.
TARGET_BARS_PER_S = 1_000_000
TARGET_RATIO = 5.0


def verdict(report: dict[str, object]) -> str:
    """The figures the issue asks for: the naive cell's CPU bars/s (median of the rounds)
    and its lowest ratio to backtesting.py within a round, each against its target."""
    rows = [r for r in report["results"]  # type: ignore[union-attr]
            if "framework" in r and r["status"] == "ok"]
    bars = int(report["bars"])  # type: ignore[call-overload]
    by_round: dict[int, dict[str, float]] = {}
    for r in rows:
        by_round.setdefault(r["round"], {})[r["framework"]] = bars / r["cpu_seconds"]
    speeds = [s[NAIVE.label] for s in by_round.values() if NAIVE.label in s]
    ratios = [s[NAIVE.label] / s[PEER] for s in by_round.values() if NAIVE.label in s and PEER in s]
    if not speeds or not ratios:
        return f"{NAIVE.label}: no complete round, nothing to judge"
    speed = statistics.median(speeds)
    worst = min(ratios)

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return (f"{NAIVE.label} on {bars:,} bars: {speed:,.0f} bars/s CPU (median of "
            f"{len(speeds)} rounds; target {TARGET_BARS_PER_S:,}: "
            f"{met(speed >= TARGET_BARS_PER_S)}); {worst:.2f}x-{max(ratios):.2f}x "
            f"{PEER} within a round (target {TARGET_RATIO:g}x in every round: "
            f"{met(worst >= TARGET_RATIO)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", default=[], metavar="KEY=PYTHON",
                        help="flint-mypyc, flint-pure, backtesting")
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--table", type=Path, help="print the table of a results file")
    args = parser.parse_args(argv)
    if args.table:
        saved = json.loads(args.table.read_text())
        print(table(saved))
        print(verdict(saved))
        return 0
    envs = dict(item.split("=", 1) for item in args.env)
    missing = {NAIVE.env, "backtesting"} - set(envs)
    if missing:
        parser.error(f"--env needed for {', '.join(sorted(missing))}")
    report = measure(envs, args.bars, args.rounds, args.runs)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    print(table(report))
    print(verdict(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
