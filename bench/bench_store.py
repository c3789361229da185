"""Store benchmark: ingest and query a million candles (and, if present, the real data).

    python bench/bench_store.py [--rows 1000000] [--repeat 5] [--data ../shared/data]

Each timing is the median of ``--repeat`` runs; every ingest run writes into a
fresh store file. Prints one line per measurement.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from flint.models import Candle
from flint.providers.files import FileProvider
from flint.store import FlintStore
from flint_core.compiled import is_compiled

#: The real market data next to the checkout (as the test suite finds it).
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def candle_columns(n: int) -> dict[str, np.ndarray]:
    """``n`` one-minute bars of a random walk."""
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0005, n)) * close
    return {
        "ts": 1_700_000_040 + 60 * np.arange(n, dtype=np.int64),
        "open": open_, "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread, "close": close,
        "volume": rng.random(n) * 10,
    }


def report(label: str, seconds: float) -> None:
    """One result line."""
    print(f"{label:<58} {seconds:7.3f} s")


def timed(repeat: int, setup: Callable[[], object], run: Callable[[object], object]) -> float:
    """Median seconds of ``run(setup())`` (setup not timed)."""
    times = []
    for _ in range(repeat):
        arg = setup()
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=os.environ.get("FLINT_TEST_DATA", DATA))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flint-bench-") as work:
        run(args, Path(work))


def run(args: argparse.Namespace, work: Path) -> None:
    """Every measurement, with store files under ``work``."""
    n = args.rows
    cols = candle_columns(n)
    keys: dict[str, object] = {"market": "BENCH-PERP", "resolution_s": 60, "venue": "bench"}
    files = iter(range(10**6))

    def fresh_store() -> FlintStore:
        return FlintStore(work / f"s{next(files)}.duckdb")

    print(f"flint store benchmark: {n:,} candles, median of {args.repeat} runs")
    print(f"python {platform.python_version()}, duckdb {duckdb.__version__}, "
          f"compiled kernel: {'yes' if is_compiled() else 'no'}, {os.cpu_count()} cpu(s)")

    def ingest(data: object, **given: object) -> Callable[[FlintStore], None]:
        def into(store: FlintStore) -> None:
            with store:
                store.upsert_candles(data, **given)

        return into

    ingest_s = timed(args.repeat, fresh_store, ingest(cols, **keys))
    report(f"ingest {n:,} candles (numpy columns) into a new store", ingest_s)

    with fresh_store() as store:
        store.upsert_candles(cols, **keys)
        again = timed(args.repeat, lambda: store, lambda s: s.upsert_candles(cols, **keys))
        report(f"re-ingest the same {n:,} candles (nothing changes)", again)
        query = timed(args.repeat, lambda: store, lambda s: s.query_candles("BENCH-PERP", 60))
        report(f"query {n:,} candles into a CandleSeries", query)
        window = timed(args.repeat, lambda: store, lambda s: s.query_candles(
            "BENCH-PERP", 60, start_ts=int(cols["ts"][n // 2]), limit=10_000))
        report("query 10,000 candles from the middle", window)

    records = [
        Candle(int(t), float(o), float(h), float(lo), float(c), float(v), "BENCH-PERP", 60,
               "bench")
        for t, o, h, lo, c, v in zip(*(cols[k][:100_000] for k in cols), strict=True)
    ]
    from_records = timed(args.repeat, fresh_store, ingest(records))
    report("ingest 100,000 candles from a list[Candle]", from_records)

    if (args.data / "README.md").is_file():
        provider = FileProvider(args.data)
        store = fresh_store()
        start = time.perf_counter()
        loaded = provider.load_into(store)
        elapsed = time.perf_counter() - start
        rows = sum(s.rows for s in store.summary())
        export = work / "export"
        start = time.perf_counter()
        store.export_parquet(export)
        exported = time.perf_counter() - start
        store.close()
        report(f"import {len(loaded)} real CSV files ({rows:,} rows)", elapsed)
        report("export them as partitioned Parquet", exported)


if __name__ == "__main__":
    main()
