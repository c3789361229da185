"""Download benchmark: one-minute candles from a venue's fake into a new store.

    python bench/bench_download.py [--venue hyperliquid|binance|drift] [--rows 500000]
                                   [--repeat 3]

Needs the venue's plugin installed (flint-hyperliquid, flint-binance or flint-drift).
Rate limiting is off. Two measurements, medians of ``--repeat`` runs:

- end to end: ``flint.providers.download.download`` of every candle from the fake
  (HTTP, the client library's JSON decoding, flint's parsing, validation and store
  writes; the fake runs in this process too, so it shares the CPU);
- flint's own part: the same pages, already decoded as the client library hands
  them over, turned into columns, validated and written with their coverage as the
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

from flint.providers.base import Page
from flint.providers.download import Outcome, Series, _Batch, download
from flint.store import FlintStore

MINUTE = 60
MARKET = "BTC-PERP"


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


class Venue:
    """How to benchmark one venue: its fake, its provider, its raw pages and their parser."""

    name = ""
    page_rows = 0

    def fake(self, rows: list[tuple[Any, ...]]) -> Any:
        raise NotImplementedError

    def provider(self, fake: Any) -> Any:
        raise NotImplementedError

    def raw_pages(self, provider: Any, start: int, end: int) -> list[Any]:
        """The decoded answers of a download of ``[start, end]``, as the client hands them."""
        raise NotImplementedError

    def parse(self, provider: Any, raw: Any) -> tuple[Any, int, int]:
        """What the provider makes of one answer: (candle columns, first ts, end ts)."""
        raise NotImplementedError


class Hyperliquid(Venue):
    name, page_rows = "hyperliquid", 5000

    def fake(self, rows: list[tuple[Any, ...]]) -> Any:
        from flint_hyperliquid.testing import FakeHyperliquid

        return FakeHyperliquid({("BTC", MINUTE): rows}, candle_window=None)

    def provider(self, fake: Any) -> Any:
        from flint_hyperliquid.provider import HyperliquidProvider

        return HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)

    def raw_pages(self, provider: Any, start: int, end: int) -> list[Any]:
        provider.coins()  # the SDK learns the coin names
        pages, cursor = [], start
        while cursor <= end:
            raw = provider.client.call("candleSnapshot", lambda c=cursor:
                                       provider.client.info.candles_snapshot(
                                           "BTC", "1m", c * 1000, end * 1000))
            pages.append(raw)
            cursor = raw[-1]["t"] // 1000 + MINUTE
        return pages

    def parse(self, provider: Any, raw: Any) -> tuple[Any, int, int]:
        from flint_hyperliquid.provider import _candles

        low, high = raw[0]["t"] // 1000, raw[-1]["t"] // 1000 + MINUTE
        return _candles(raw, MARKET, MINUTE, low, high), low, high


class Binance(Venue):
    name, page_rows = "binance", 1500

    def fake(self, rows: list[tuple[Any, ...]]) -> Any:
        from flint_binance.testing import FakeBinance

        return FakeBinance({("BTCUSDT", MINUTE): rows})

    def provider(self, fake: Any) -> Any:
        from flint_binance.provider import BinanceProvider

        return BinanceProvider(fake.url, rate_limit=False, clock=lambda: fake.now)

    def raw_pages(self, provider: Any, start: int, end: int) -> list[Any]:
        symbol = provider.symbol(MARKET)
        pages, cursor = [], start
        while cursor <= end:
            raw = provider.client.call("klines", lambda c=cursor: provider._ohlcv(
                symbol, "1m", c * 1000, end * 1000, None))
            pages.append(raw)
            cursor = int(raw[-1][0]) // 1000 + MINUTE
        return pages

    def parse(self, provider: Any, raw: Any) -> tuple[Any, int, int]:
        from flint_binance.provider import _candles

        low, high = int(raw[0][0]) // 1000, int(raw[-1][0]) // 1000 + MINUTE
        return _candles(raw, MARKET, MINUTE, "binance", low, high), low, high


class Drift(Venue):
    name, page_rows = "drift", 1000

    def fake(self, rows: list[tuple[Any, ...]]) -> Any:
        from flint_drift.testing import FakeDrift

        return FakeDrift({(MARKET, MINUTE): rows})

    def provider(self, fake: Any) -> Any:
        from flint_drift.provider import DriftProvider

        return DriftProvider(fake.url, fake.url, rate_limit=False, clock=lambda: fake.now)

    def raw_pages(self, provider: Any, start: int, end: int) -> list[Any]:
        pages = []
        for first in range(start, end + 1, self.page_rows * MINUTE):
            last = min(end, first + (self.page_rows - 1) * MINUTE)
            pages.append(provider._records(f"/market/{MARKET}/candles/1", {
                "startTs": last, "endTs": first, "limit": self.page_rows}, key="records"))
        return pages

    def parse(self, provider: Any, raw: Any) -> tuple[Any, int, int]:
        found = {int(r["ts"]): r for r in raw}  # newest first, as the provider sorts them
        times = sorted(found)
        return provider._series([found[t] for t in times], MARKET, MINUTE), times[0], \
            times[-1] + MINUTE


VENUES = {venue.name: venue for venue in (Hyperliquid(), Binance(), Drift())}


def end_to_end(venue: Venue, fake: Any, start: int, end: int,
               folder: Path) -> tuple[float, int]:
    series = Series(venue.name, MARKET, "candles", MINUTE)
    with FlintStore(folder / f"e2e-{time.monotonic_ns()}.duckdb") as store, \
            venue.provider(fake) as provider:
        started = time.perf_counter()
        outcome = download(store, provider, series, start, end, now=lambda: fake.now)
        return time.perf_counter() - started, outcome.rows


def flint_part(venue: Venue, provider: Any, pages: list[Any], folder: Path) -> float:
    """Parse, validate and store already-decoded answers as the downloader does (pages
    batched into one transaction per 50,000 rows, each batch with its coverage)."""
    series = Series(venue.name, MARKET, "candles", MINUTE)
    with FlintStore(folder / f"flint-{time.monotonic_ns()}.duckdb") as store:
        started = time.process_time()
        batch = _Batch(store, series, Outcome(series))
        for raw in pages:
            columns, low, high = venue.parse(provider, raw)
            batch.add(Page(columns, low, high), low, high)
        batch.flush()
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venue", choices=sorted(VENUES), default="hyperliquid")
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    venue = VENUES[args.venue]
    rows = fix_bounds(candle_rows(args.rows))
    start, end = rows[0][0], rows[-1][0]
    print(f"{platform.python_version()} on {os.cpu_count()} CPUs; {venue.name}: {args.rows:,} "
          f"one-minute candles, {-(-args.rows // venue.page_rows)} pages of {venue.page_rows}")
    with venue.fake(rows) as fake, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with venue.provider(fake) as provider:
            pages = venue.raw_pages(provider, start, end)
            totals, flint = [], []
            for _ in range(args.repeat):
                seconds, stored = end_to_end(venue, fake, start, end, folder)
                assert stored == args.rows, (stored, args.rows)
                totals.append(seconds)
                flint.append(flint_part(venue, provider, pages, folder))
    total, own = statistics.median(totals), statistics.median(flint)
    print(f"end to end:   {args.rows / total:>10,.0f} rows/s ({total:.2f} s)")
    print(f"flint's part: {args.rows / own:>10,.0f} rows/s of CPU time ({own:.2f} s), "
          f"{100 * own / total:.0f} % of the end-to-end time")


if __name__ == "__main__":
    main()
