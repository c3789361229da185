"""Download benchmark: one-minute candles from the fake Hyperliquid into a new store.

    python bench/bench_download.py [--rows 500000] [--repeat 3]

Needs flint-hyperliquid (and so hyperliquid-python-sdk) installed. Rate limiting
is off. Two measurements, medians of ``--repeat`` runs:

- end to end: ``flint.providers.download.download`` of every candle from the fake
  (HTTP, the SDK's JSON decoding, flint's parsing, validation and store writes;
  the fake runs in this process too, so it shares the CPU);
- flint's own part: the same pages, already decoded as the SDK hands them over,
  turned into columns, validated and written with their coverage as the
  downloader writes them.

Prints rows/s of both (flint's part per second of CPU time, which other work on a
shared machine does not inflate) and flint's share of the end-to-end time.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from flint_hyperliquid.provider import HyperliquidProvider, _candles
from flint_hyperliquid.testing import FakeHyperliquid

from flint.providers.base import Page
from flint.providers.download import Outcome, Series, _Batch, download
from flint.store import FlintStore

MINUTE = 60


def candle_rows(n: int) -> list[tuple[int, str, str, str, str, str]]:
    """``n`` one-minute bars of a random walk, prices as text like the venue sends."""
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0005, n)) * close
    high, low = np.maximum(open_, close) + spread, np.minimum(open_, close) - spread
    volume = rng.random(n) * 10
    start = 1_700_000_040
    return [
        (start + MINUTE * i, f"{open_[i]:.5g}", f"{max(high[i], open_[i], close[i]):.6g}",
         f"{low[i]:.4g}", f"{close[i]:.5g}", f"{volume[i]:.4f}")
        for i in range(n)
    ]


def fix_bounds(rows: list[tuple[int, str, str, str, str, str]]) -> list[tuple[Any, ...]]:
    """Rows whose text-rounded high/low still bound open and close."""
    out = []
    for ts, o, h, lo, c, v in rows:
        values = (float(o), float(c))
        out.append((ts, o, repr(max(float(h), *values)), repr(min(float(lo), *values)), c, v))
    return out


def end_to_end(fake: FakeHyperliquid, start: int, end: int, folder: Path) -> tuple[float, int]:
    provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)
    series = Series("hyperliquid", "BTC-PERP", "candles", MINUTE)
    with FlintStore(folder / f"e2e-{time.monotonic_ns()}.duckdb") as store, provider:
        started = time.perf_counter()
        outcome = download(store, provider, series, start, end, now=lambda: fake.now)
        return time.perf_counter() - started, outcome.rows


def flint_part(pages: list[list[dict[str, Any]]], folder: Path) -> float:
    """Parse, validate and store already-decoded answers as the downloader does (pages
    batched into one transaction per 50,000 rows, each batch with its coverage)."""
    series = Series("hyperliquid", "BTC-PERP", "candles", MINUTE)
    with FlintStore(folder / f"flint-{time.monotonic_ns()}.duckdb") as store:
        started = time.process_time()
        batch = _Batch(store, series, Outcome(series))
        for raw in pages:
            low, high = raw[0]["t"] // 1000, raw[-1]["t"] // 1000 + MINUTE
            batch.add(Page(_candles(raw, "BTC-PERP", MINUTE, low, high), low, high), low, high)
        batch.flush()
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = fix_bounds(candle_rows(args.rows))
    start, end = rows[0][0], rows[-1][0]
    print(f"{platform.python_version()} on {os.cpu_count()} CPUs; {args.rows:,} one-minute "
          f"candles, {-(-args.rows // 5000)} pages of 5000")
    with FakeHyperliquid({("BTC", MINUTE): rows}, candle_window=None) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                       clock=lambda: fake.now)
        provider.coins()  # the SDK learns the coin names
        pages, cursor = [], start
        while cursor <= end:
            raw = provider.client.call("candleSnapshot", lambda c=cursor:
                                       provider.client.info.candles_snapshot(
                                           "BTC", "1m", c * 1000, end * 1000))
            pages.append(raw)
            cursor = raw[-1]["t"] // 1000 + MINUTE
        provider.close()
        totals, flint = [], []
        for _ in range(args.repeat):
            seconds, stored = end_to_end(fake, start, end, folder)
            assert stored == args.rows, (stored, args.rows)
            totals.append(seconds)
            flint.append(flint_part(pages, folder))
    total, own = statistics.median(totals), statistics.median(flint)
    print(f"end to end:   {args.rows / total:>10,.0f} rows/s ({total:.2f} s)")
    print(f"flint's part: {args.rows / own:>10,.0f} rows/s of CPU time ({own:.2f} s), "
          f"{100 * own / total:.0f} % of the end-to-end time")


if __name__ == "__main__":
    main()
