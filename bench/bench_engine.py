"""Backtest engine throughput and memory, pure vs compiled kernel.

Run it once per build (each in a venv with that build of flint-sdk installed, from
outside the checkout so the installed package is imported), then compare::

    python bench/bench_engine.py --out pure.json
    python bench/bench_engine.py --out compiled.json
    python bench/bench_engine.py --compare pure.json compiled.json

Cases, on synthetic hourly bars given as a ``CandleSeries``: a no-op strategy, and a
strategy that flips between long and flat every 20 bars with market orders, on
``ClosePriceFill`` and on the default ``FillPipeline``. Throughput is the best of a few
timed runs of ``BacktestEngine.run`` (result included), in CPU time of the process
(the benchmark machine is shared, so wall time is also recorded but is noisier);
peak memory growth is measured
in a separate run under ``tracemalloc`` (numpy allocations included), above what was
allocated before the run, per bar.
"""

import argparse
import gc
import json
import platform
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill, FillPipeline
from flint.models import CandleSeries, Side, Signal
from flint.strategy.base import Strategy
from flint_core.compiled import is_compiled

SIZES = (100_000, 1_000_000)


class NoOp(Strategy):
    """Does nothing, every bar."""

    name = "noop"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        return Signal.HOLD


class Flip(Strategy):
    """Long one unit for 20 bars, flat for 20 bars, with market orders."""

    name = "flip20"

    def reset(self):
        self.bar = 0
        self.long = False

    def on_candle(self, candle, history, ctx=None):
        self.bar += 1
        if self.bar % 20 == 0:
            if self.long:
                ctx.market_order(candle.market, Side.SHORT, 1.0, reduce_only=True)
            else:
                ctx.market_order(candle.market, Side.LONG, 1.0)
            self.long = not self.long
        return Signal.HOLD


CASES = {
    "noop / close": (NoOp, ClosePriceFill),
    "flip20 / close": (Flip, ClosePriceFill),
    "flip20 / pipeline": (Flip, FillPipeline),
}


def hourly_bars(n: int, seed: int = 7) -> CandleSeries:
    """A random-walk hourly market of ``n`` bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    volume = rng.uniform(100, 10_000, n)
    ts = 1_600_000_000 + 3600 * np.arange(n, dtype=np.int64)
    return CandleSeries(ts, open_, high, low, close, volume, "SYN", 3600, "default")


def _engine(case: str) -> BacktestEngine:
    strategy, model = CASES[case]
    return BacktestEngine(strategy(), fill_model=model(), max_runtime_s=0)


def time_case(case: str, series: CandleSeries, repeat: int) -> tuple[float, float]:
    """Best CPU time and best wall time of ``repeat`` runs, seconds."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        engine = _engine(case)
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        engine.run(series)
        cpu = min(cpu, time.process_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started)
    return cpu, wall


def memory_case(case: str, series: CandleSeries) -> int:
    """Peak bytes allocated by one run above the baseline before it."""
    engine = _engine(case)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = engine.run(series)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak - base


def measure(sizes: tuple[int, ...]) -> dict:
    rows = []
    for n in sizes:
        series = hourly_bars(n)
        repeat = 5 if n <= 100_000 else 3
        for case in CASES:
            cpu, wall = time_case(case, series, repeat)
            peak = memory_case(case, series)
            rows.append({
                "case": case, "bars": n, "cpu_s": cpu, "wall_s": wall, "bars_per_s": n / cpu,
                "wall_bars_per_s": n / wall, "peak_bytes": peak, "bytes_per_bar": peak / n,
            })
            print(f"{case:18} {n:>9,} bars  {n / cpu:>12,.0f} bars/s (cpu)  "
                  f"{n / wall:>12,.0f} bars/s (wall)  {peak / n:7.1f} B/bar peak", flush=True)
    return {
        "compiled": is_compiled(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "rows": rows,
    }


def compare(pure_path: Path, compiled_path: Path) -> str:
    """A markdown table of both builds and the compiled/pure speed ratio."""
    pure = json.loads(pure_path.read_text())
    fast = json.loads(compiled_path.read_text())
    assert not pure["compiled"] and fast["compiled"], "pass the pure results first"
    by_key = {(r["case"], r["bars"]): r for r in pure["rows"]}
    lines = [
        "| case | bars | pure bars/s | compiled bars/s | compiled / pure | "
        "compiled bars/s (wall) | peak B/bar pure | peak B/bar compiled |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in fast["rows"]:
        base = by_key[(row["case"], row["bars"])]
        lines.append(
            f"| {row['case']} | {row['bars']:,} | {base['bars_per_s']:,.0f} | "
            f"{row['bars_per_s']:,.0f} | {row['bars_per_s'] / base['bars_per_s']:.1f}x | "
            f"{row['wall_bars_per_s']:,.0f} | {base['bytes_per_bar']:.0f} | "
            f"{row['bytes_per_bar']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("PURE", "COMPILED"))
    args = parser.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    print(f"flint kernel compiled: {is_compiled()}")
    results = measure(tuple(args.sizes))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
