"""The ``file`` provider: market data from CSV and Parquet files.

Two layouts are understood, so data moves in and out of flint:

**Named files** ``<venue>-<SYMBOL>-<what>.<csv|csv.gz|parquet>`` where ``<what>`` is

- ``<seconds>``: candles ``ts,open,high,low,close,volume`` (e.g. ``binance-SOLUSDT-3600.csv``);
- ``mark-<seconds>``: mark-price candles, stored as market ``<MARKET>-MARK``;
- ``funding``: funding ``ts,rate`` (optionally ``interval_s, oracle_price, mark_price``);
- ``oi-<seconds>``: open interest ``ts,open_interest`` (long = short = open interest)
  or ``ts,long_oi,short_oi``.

``ts`` is unix seconds (UTC; a bar's open time, a funding settlement time). Symbols
become flint markets: on perpetual venues the quote suffix is dropped and ``-PERP``
added (``SOLUSDT`` and ``SOL`` -> ``SOL-PERP``); on spot venues (name ending in
``_spot``) the quote is kept (``binance_spot`` ``SOLUSDT`` -> ``SOL-USDT``); symbols
that already contain ``-`` are kept as they are.

When a funding file has no ``interval_s`` column, each row's interval is read from
the data: the median spacing of settlements over a five-row window centred on the
row. A file on one schedule gets its median spacing everywhere, a venue that changed
schedule (Hyperliquid 8 h -> 1 h, Binance SOLUSDT 8 h -> 4 h -> 2 h -> 8 h) gets the
interval of each era, and a single missed settlement does not stretch the interval.

**A flint Parquet export** (``FlintStore.export_parquet``): ``<table>/venue=<v>/
market=<m>[/resolution_s=<r>]/*.parquet`` for candles, funding rates, open interest,
borrow rates and order books, read back exactly.

Explicit ``venue`` / ``market`` / ``resolution_s`` / ``kind`` override what the
file names say (for every file found).
"""

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flint.providers.base import CAPABILITY_METHODS, DataProvider
from flint.store import FlintStore, batches
from flint.store.batches import Spec, to_records, to_series
from flint.store.funding import funding_intervals
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries

#: Table directories of a flint Parquet export -> kind.
EXPORT_TABLES = {
    "candles": "candles",
    "funding_rates": "funding",
    "open_interest": "open_interest",
    "borrow_rates": "borrow_rates",
    "orderbook_snapshots": "orderbook",
    "market_snapshots": "market_snapshots",
}

#: Record spec kind -> file kind.
_SPEC_KINDS = {
    batches.FUNDING.kind: "funding",
    batches.OPEN_INTEREST.kind: "open_interest",
    batches.BORROW_RATES.kind: "borrow_rates",
    batches.ORDERBOOKS.kind: "orderbook",
}

SUFFIXES = (".csv", ".csv.gz", ".parquet")
QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD")

_NAME = re.compile(
    r"^(?P<venue>[A-Za-z0-9_]+)-(?P<symbol>.+?)-"
    r"(?:(?P<funding>funding)|(?P<what>oi|mark)-(?P<res2>\d+)|(?P<res>\d+))$"
)

_REQUIRED = {
    "candles": ("ts", "open", "high", "low", "close", "volume"),
    "funding": ("ts", "rate"),
    "open_interest": ("ts",),
    "borrow_rates": ("ts", "rate_hourly"),
    "orderbook": ("ts", "bids", "asks"),
    "market_snapshots": ("ts", "mark_price", "oracle_price", "open_interest", "funding_rate"),
}


@attrs.frozen
class DataFile:
    """One file and what it holds."""

    path: Path
    kind: str
    venue: str
    market: str
    resolution_s: int | None = None

    @property
    def label(self) -> str:
        """``venue/market[/resolution] kind``, for progress and messages."""
        res = f"/{self.resolution_s}s" if self.resolution_s else ""
        return f"{self.venue}/{self.market}{res} {self.kind}"


def market_name(venue: str, symbol: str) -> str:
    """The flint market of a venue symbol (see the module doc)."""
    if "-" in symbol:
        return symbol
    base, quote = symbol, ""
    for q in QUOTES:
        if symbol.upper().endswith(q) and len(symbol) > len(q):
            base, quote = symbol[: -len(q)], q
            break
    if venue.endswith("_spot"):
        return f"{base}-{quote}" if quote else symbol
    return f"{base}-PERP"


def _stem(path: Path) -> str | None:
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def parse_name(path: Path) -> DataFile | None:
    """What a named file holds, or None if its name does not follow the convention."""
    stem = _stem(path)
    match = _NAME.match(stem) if stem else None
    if match is None:
        return None
    venue, symbol = match["venue"], match["symbol"]
    market = market_name(venue, symbol)
    if match["funding"]:
        return DataFile(path, "funding", venue, market)
    if match["what"] == "oi":
        return DataFile(path, "open_interest", venue, market, int(match["res2"]))
    if match["what"] == "mark":
        return DataFile(path, "candles", venue, f"{market}-MARK", int(match["res2"]))
    return DataFile(path, "candles", venue, market, int(match["res"]))


def parse_export_path(path: Path, root: Path) -> DataFile | None:
    """What a file of a flint Parquet export holds, or None if it is not one."""
    if path.suffix != ".parquet":
        return None
    parts = path.relative_to(root).parts[:-1]
    for i, part in enumerate(parts):
        kind = EXPORT_TABLES.get(part)
        if kind is None:
            continue
        keys = dict(p.split("=", 1) for p in parts[i + 1 :] if "=" in p)
        if "venue" in keys and "market" in keys:
            res = keys.get("resolution_s")
            return DataFile(
                path, kind, unquote(keys["venue"]), unquote(keys["market"]),
                int(res) if res is not None else None,
            )
    return None


def _read(path: Path) -> pa.Table:
    if path.name.endswith(".parquet"):
        return pq.read_table(path)
    floats = ("open", "high", "low", "close", "volume", "rate", "oracle_price", "mark_price",
              "open_interest", "open_interest_value", "long_oi", "short_oi")
    types: dict[str, pa.DataType] = {name: pa.float64() for name in floats}
    types["ts"] = pa.int64()
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))


def _seconds(table: pa.Table) -> pa.Table:
    """``ts`` as int64 unix seconds (timestamps converted), refusing milliseconds."""
    ts = table.column("ts")
    if pa.types.is_timestamp(ts.type):
        ts = pc.cast(pc.cast(ts, pa.timestamp("s")), pa.int64())
        table = table.set_column(table.column_names.index("ts"), "ts", ts)
    if table.num_rows and pa.types.is_integer(ts.type) and pc.max(ts).as_py() > 10**11:
        raise ValueError("'ts' looks like milliseconds; flint wants unix seconds")
    return table


class FileProvider(DataProvider):
    """CSV/Parquet files named <venue>-<SYMBOL>-<what>, or a flint Parquet export."""

    name = "file"
    capabilities = frozenset(CAPABILITY_METHODS)

    def __init__(
        self,
        path: str | Path,
        *,
        venue: str | None = None,
        market: str | None = None,
        resolution_s: int | None = None,
        kind: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no such file or folder: {self.path}")
        if kind is not None and kind not in CAPABILITY_METHODS:
            raise ValueError(
                f"unknown kind '{kind}'; use one of {', '.join(CAPABILITY_METHODS)}"
            )
        self.overrides = {
            "venue": venue, "market": market, "resolution_s": resolution_s, "kind": kind,
        }

    # Finding files

    def _describe(self, path: Path) -> DataFile | str:
        """The file's DataFile, or why it cannot be read."""
        root = self.path if self.path.is_dir() else self.path.parent
        found = parse_export_path(path, root) or parse_name(path)
        given = {k: v for k, v in self.overrides.items() if v is not None}
        if found is None:
            if "market" not in given:
                return (
                    "the name does not say what it holds (expected "
                    "<venue>-<SYMBOL>-<seconds|funding|oi-N|mark-N>): pass the market"
                )
            found = DataFile(path, "candles", DEFAULT_VENUE, given["market"])
        found = attrs.evolve(found, **given)
        if found.kind == "candles" and found.resolution_s is None:
            return "the candle resolution is not in the name: pass the resolution"
        if found.kind != "candles":
            found = attrs.evolve(found, resolution_s=None)
        return found

    @functools.cached_property
    def _scan(self) -> tuple[list[DataFile], list[tuple[Path, str]]]:
        paths = [self.path] if self.path.is_file() else sorted(
            p for p in self.path.rglob("*") if p.is_file() and _stem(p) is not None
        )
        files, skipped = [], []
        for path in paths:
            described = self._describe(path)
            if isinstance(described, DataFile):
                files.append(described)
            else:
                skipped.append((path, described))
        return files, skipped

    @property
    def files(self) -> list[DataFile]:
        """The data files found (a file, or every file under a folder), sorted by path."""
        return self._scan[0]

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        """Files with a data suffix that could not be understood, and why."""
        return self._scan[1]

    # Reading

    def read(self, data_file: DataFile) -> pa.Table:
        """The file's rows as columns ready for the store (key columns come from the name).

        Errors (unreadable file, missing column, milliseconds) name the file.
        """
        try:
            return self._columns(data_file)
        except (ValueError, OSError) as exc:  # pyarrow's parse errors are ValueErrors
            raise ValueError(f"{data_file.path}: {exc}") from exc

    @staticmethod
    def _columns(data_file: DataFile) -> pa.Table:
        table = _read(data_file.path)
        missing = [c for c in _REQUIRED[data_file.kind] if c not in table.column_names]
        if missing:
            raise ValueError(
                f"{data_file.kind} need column(s) {', '.join(missing)}; "
                f"found {', '.join(table.column_names)}"
            )
        table = _seconds(table)
        if data_file.kind == "funding" and "interval_s" not in table.column_names:
            table = table.sort_by("ts")
            ts = table.column("ts").to_numpy()
            table = table.append_column("interval_s", pa.array(funding_intervals(ts)))
        if data_file.kind == "open_interest" and "long_oi" not in table.column_names:
            if "open_interest" not in table.column_names:
                raise ValueError(
                    "open interest needs 'open_interest' or 'long_oi' and 'short_oi'; "
                    f"found {', '.join(table.column_names)}"
                )
            oi = table.column("open_interest")
            table = pa.table({"ts": table.column("ts"), "long_oi": oi, "short_oi": oi})
        named = ("venue", "market", "resolution_s", "open_interest_value")
        return table.select([c for c in table.column_names if c not in named])

    def load_into(
        self,
        store: FlintStore,
        on_file: Callable[[DataFile, int], None] | None = None,
    ) -> list[tuple[DataFile, int]]:
        """Upsert every file into ``store`` (one validated batch per file).

        Returns ``(file, rows new or changed)`` per file; ``on_file`` is called after
        each. A bad file raises (naming it); files before it stay written.
        """
        done = []
        for data_file in self.files:
            table = self.read(data_file)
            keys = {"venue": data_file.venue, "market": data_file.market}
            try:  # the file's rows are one batch: a bad row rejects the whole file
                if data_file.kind == "candles":
                    rows = store.upsert_candles(table, resolution_s=data_file.resolution_s, **keys)
                elif data_file.kind == "funding":
                    rows = store.upsert_funding_rates(table, **keys)
                elif data_file.kind == "open_interest":
                    rows = store.upsert_open_interest(table, **keys)
                elif data_file.kind == "borrow_rates":
                    rows = store.upsert_borrow_rates(table, **keys)
                elif data_file.kind == "market_snapshots":
                    rows = store.upsert_market_snapshots(table, **keys)
                else:
                    rows = store.upsert_orderbook_snapshot(table, **keys)
            except (ValueError, TypeError) as exc:  # bad rows or columns of the wrong type
                raise ValueError(f"{data_file.path}: {exc}") from exc
            done.append((data_file, rows))
            if on_file is not None:
                on_file(data_file, rows)
        return done

    # DataProvider

    def _matching(
        self, kind: str, market: str, venue: str | None, resolution_s: int | None = None
    ) -> list[tuple[DataFile, pa.Table]]:
        out = []
        for f in self.files:
            if f.kind != kind or f.market != market:
                continue
            if venue is not None and f.venue != venue:
                continue
            if resolution_s is not None and f.resolution_s != resolution_s:
                continue
            out.append((f, self.read(f)))
        return out

    @staticmethod
    def _in_range(table: pa.Table, start_ts: int, end_ts: int) -> pa.Table:
        ts = table.column("ts")
        mask = pc.and_(pc.greater_equal(ts, start_ts), pc.less_equal(ts, end_ts))
        return table.filter(mask).sort_by("ts")

    def fetch_candles(
        self,
        market: str,
        resolution_s: int,
        start_ts: int,
        end_ts: int,
        *,
        venue: str | None = None,
    ) -> Sequence[Candle]:
        """Candles of the first matching file (by path) in the range, as a CandleSeries."""
        found = self._matching("candles", market, venue, resolution_s)
        if not found:
            return CandleSeries(
                [], [], [], [], [], [], market, resolution_s, venue or DEFAULT_VENUE
            )
        data_file, table = found[0]
        return to_series(self._in_range(table, start_ts, end_ts), market, resolution_s,
                         data_file.venue)

    def _records(
        self, spec: Spec, market: str, start_ts: int, end_ts: int, venue: str | None
    ) -> list[Any]:
        """Records of every matching file in the range, ordered by (ts, venue)."""
        found = []
        for data_file, table in self._matching(_SPEC_KINDS[spec.kind], market, venue):
            rows = self._in_range(table, start_ts, end_ts)
            records = to_records(rows, spec, venue=data_file.venue, market=market)
            found += [(r.ts, data_file.venue, r) for r in records]
        return [r for _, _, r in sorted(found, key=lambda item: item[:2])]

    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[FundingRate]:
        """Funding settlements of every matching file, by (ts, venue)."""
        return self._records(batches.FUNDING, market, start_ts, end_ts, venue)

    def fetch_open_interest(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OpenInterest]:
        """Open interest of every matching file, by (ts, venue)."""
        return self._records(batches.OPEN_INTEREST, market, start_ts, end_ts, venue)

    def fetch_borrow_rates(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[BorrowSnapshot]:
        """Borrow-rate snapshots of every matching export file, by (ts, venue)."""
        return self._records(batches.BORROW_RATES, market, start_ts, end_ts, venue)

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """Order-book snapshots of every matching export file, by (ts, venue)."""
        return self._records(batches.ORDERBOOKS, market, start_ts, end_ts, venue)
