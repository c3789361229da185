"""``FlintStore``: candles, funding, open interest, borrow rates, order books, strategies,
backtest runs and the live order journal in one DuckDB file.

Concurrency (see :mod:`flint.store.connection`): a writing store is the file's
only writer, in any process, from open to close; read-only stores can be opened
by any number of processes, also while a writer is alive. Each store owns at most
one DuckDB connection, opened per operation (or per :meth:`FlintStore.session`)
and guarded by an internal lock, so one store may be shared by threads (not by
processes). Every multi-row write runs in one transaction: it is all there or not
at all, even if the process is killed. The live journal writes differently: each
append is one line of a synced write-ahead file (also all there or not at all) and
reaches its tables shortly after (:mod:`flint.store.journal_log`); its readers merge
both.
``":memory:"`` gives a private in-memory store that keeps its connection open.
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import attrs
import duckdb
import numpy as np
import pyarrow as pa

from flint.backtest.result import record_dicts
from flint.models import MarketSnapshot
from flint.store import batches, schema, spans
from flint.store.batches import Batch, Spec
from flint.store.connection import WriterLock, connect
from flint.store.errors import NoCandlesError, StoreClosedError, StoreError
from flint.store.funding import REACH, local_intervals
from flint.store.journal_log import Batch as JournalBatch
from flint.store.journal_log import JournalLog, read_pending
from flint.store.missing import no_candles_message
from flint_core.funding import FundingColumns
from flint_core.records import (
    BorrowSnapshot,
    FundingRate,
    OpenInterest,
    OrderbookLevel,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries

#: Lifecycle states of a registered strategy.
STRATEGY_STATUSES = ("draft", "backtest", "paper", "live")
#: What DuckDB raises reading a file that is not whole (short, or overwritten in places).
DAMAGED = (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException)

_TABLES: dict[str, str] = {
    batches.CANDLES.kind: "candles",
    batches.FUNDING.kind: "funding_rates",
    batches.OPEN_INTEREST.kind: "open_interest",
    batches.BORROW_RATES.kind: "borrow_rates",
    batches.ORDERBOOKS.kind: "orderbook_snapshots",
    batches.MARKET_SNAPSHOTS.kind: "market_snapshots",
}

#: What ``summary()`` calls each table.
_KINDS = {
    "candles": "candles",
    "funding_rates": "funding",
    "open_interest": "open_interest",
    "borrow_rates": "borrow_rates",
    "orderbook_snapshots": "orderbook",
    "market_snapshots": "market_snapshots",
}

#: Columns of a live journal event row (see :meth:`FlintStore.append_live_events`).
LIVE_EVENT_COLUMNS = ("seq", "account", "ts", "kind", "client_id", "state", "detail")
#: Columns of a journaled live fill.
LIVE_FILL_COLUMNS = (
    "account", "trade_id", "seq", "client_id", "market", "side", "price", "size", "fee", "ts",
    "is_maker",
)

_STRATEGY_COLUMNS = (
    "strategy_id", "name", "code", "params_json", "category", "status", "notes",
    "created_at", "updated_at",
)


@attrs.frozen
class Gap:
    """Missing candles: bars ``start_ts`` .. ``end_ts`` (inclusive), ``missing`` of them."""

    start_ts: int
    end_ts: int
    missing: int


@attrs.frozen
class SeriesSummary:
    """One stored series: its kind, key, row count and span; gaps for candles only."""

    kind: str
    venue: str
    market: str
    resolution_s: int | None
    rows: int
    first_ts: int
    last_ts: int
    gaps: int | None = None
    missing: int | None = None


@attrs.frozen
class CoverageSpan:
    """Part ``[start_ts, end_ts)`` of a series and what the store knows of it.

    ``status``: ``"stored"`` (rows are stored), ``"source_empty"`` (fetched, and the
    venue had no data there) or ``"missing"`` (never fetched, nothing stored). For
    candles ``bars`` counts the bar slots of the span (``None`` for other kinds).
    """

    status: str
    start_ts: int
    end_ts: int
    bars: int | None = None


#: Coverage statuses, in the order of :class:`CoverageSpan`'s doc.
COVERAGE_STATUSES = ("stored", "source_empty", "missing")


def _series_sql(
    market: str, start_ts: int | None, end_ts: int | None, venue: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of ``market``'s rows in the range, of
    ``venue`` only when given."""
    rng, params = _range_sql(start_ts, end_ts)
    if venue is not None:
        rng += " AND venue = ?"
        params.append(venue)
    return f"market = ?{rng}", [market, *params]


def _range_sql(start_ts: int | None, end_ts: int | None) -> tuple[str, list[Any]]:
    sql, params = "", list[Any]()
    if start_ts is not None:
        sql += " AND ts >= ?"
        params.append(int(start_ts))
    if end_ts is not None:
        sql += " AND ts <= ?"
        params.append(int(end_ts))
    return sql, params


def _jsonable(obj: Any) -> Any:
    """JSON form of what ``json`` cannot encode itself (numpy, enums, attrs, dataclasses;
    a numpy record array, e.g. a backtest's fills, is a list of objects)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.recarray):
        return record_dicts(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if attrs.has(type(obj)):
        return attrs.asdict(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(obj, name) for name in fields}
    raise TypeError(f"a backtest run holds a {type(obj).__name__}, which is not JSON-serialisable")


def journal_payload(run: Any) -> dict[str, Any]:
    """``run`` (a mapping, or an object with ``to_dict()``) as the dict the journal stores,
    with its ``run_id`` (kept, or a new one) and ``created_at`` set."""
    if isinstance(run, Mapping):
        payload = dict(run)
    elif callable(getattr(run, "to_dict", None)):
        payload = dict(run.to_dict())
    else:
        raise TypeError(
            f"a journal record must be a mapping or an object with to_dict(), "
            f"got {type(run).__name__}"
        )
    payload["run_id"] = str(payload.get("run_id") or uuid.uuid4().hex)
    payload["created_at"] = int(payload.get("created_at") or time.time())
    return payload


def journal_filter(*, strategy: str | None = None, kind: str | None = None,
                   market: str | None = None, venue: str | None = None,
                   since: int | None = None, until: int | None = None
                   ) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (empty without filters) and its parameters selecting journal
    runs: of ``strategy``, of ``kind`` (records without one are backtests), on
    ``market``, using ``venue`` (one of a multi-venue run's too), journaled in
    ``[since, until)`` (unix seconds)."""
    clauses: list[str] = []
    params: list[Any] = []
    for sql, value in (
        ("strategy_name = ?", strategy),
        ("coalesce(json_extract_string(summary, '$.kind'), 'backtest') = ?", kind),
        ("market = ?", market),
        ("list_contains(string_split(json_extract_string(summary, '$.venue'), '+'), ?)",
         venue),
        ("created_at >= ?", since),
        ("created_at < ?", until),
    ):
        if value is not None:
            clauses.append(sql)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def journal_json(run: Any) -> str:
    """``run`` as the JSON text the journal stores (see :func:`journal_payload`); saving
    that text's record again keeps its id."""
    return json.dumps(journal_payload(run), default=_jsonable)


class FlintStore:
    """The DuckDB-backed store every backtest, optimiser run and live session uses.

    ``FlintStore(path)`` opens (creating and migrating it if needed) the one writing
    store of ``path``; ``FlintStore(path, read_only=True)`` reads an existing file,
    also while another process writes it. ``timeout_s`` bounds how long one
    operation waits for another process's operation to finish; ``writer_wait_s``
    how long a writer waits for another writer to close the file (0: fail at once).
    ``durable_journal=False`` writes the live journal's appends to the OS without
    syncing each to disk: they survive the process's death (kill -9), not a power loss
    (paper sessions, whose venue is simulated, trade that for speed).
    Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        timeout_s: float = 30.0,
        writer_wait_s: float = 0.0,
        durable_journal: bool = True,
    ) -> None:
        self._memory = str(path) == ":memory:"
        self._durable_journal = durable_journal
        self._path = ":memory:" if self._memory else str(Path(path).expanduser())
        self._read_only = read_only
        self._timeout_s = timeout_s
        self._lock = threading.RLock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._writer: WriterLock | None = None
        self._closed = False
        #: The live journal's write-ahead file (see flint.store.journal_log).
        self._journal_path = None if self._memory else Path(self._path + ".journal")
        self._journal: JournalLog | None = None
        self._journal_lock = threading.Lock()  # numbering and fill dedup of appends
        self._journal_seq = 0
        self._trade_ids: dict[str, set[str]] = {}
        if self._memory:
            if read_only:
                raise StoreError("an in-memory store cannot be read-only")
            self._conn = duckdb.connect(":memory:")
            schema.migrate(self._conn)
            self._open_journal()
            return
        file = Path(self._path)
        if read_only:
            if not file.is_file():
                raise StoreError(
                    f"no flint store at {file}: create one with `flint data sample` or "
                    f"`flint data import`"
                )
            with self._connection() as conn:
                schema.check_readable(conn, self._path)
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        self._writer = WriterLock(file)
        self._writer.acquire(writer_wait_s)
        try:
            with self._connection() as conn:
                schema.migrate(conn)
            self._open_journal()
        except BaseException:
            self._writer.release()
            raise

    def _open_journal(self) -> None:
        """Replay what a killed writer left in the journal file, then start a new one."""
        self._journal = JournalLog(self._journal_path, self._mirror_journal,
                                   self._durable_journal)
        self._journal.recover()
        self._journal_seq = int(self._query("SELECT coalesce(max(seq), 0) FROM live_events")[0][0])

    # Lifecycle

    @property
    def path(self) -> str:
        """The database file (``":memory:"`` for an in-memory store)."""
        return self._path

    @property
    def read_only(self) -> bool:
        """True for a reader."""
        return self._read_only

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def close(self) -> None:
        """Release the file (and the writer lock); safe to call twice."""
        if self._journal is not None and not self._closed:
            self._journal.close()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._writer is not None:
                self._writer.release()

    def __enter__(self) -> "FlintStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "closed" if self._closed else ("read-only" if self._read_only else "writer")
        return f"FlintStore({self._path!r}, {mode})"

    @contextmanager
    def session(self) -> Iterator["FlintStore"]:
        """Keep one connection open for the calls inside the block.

        Each call otherwise opens and closes the file (10-20 ms), which is what lets
        other processes in between; a session saves that for many small calls, while
        other processes (and other threads using this store) wait for the block to end.
        """
        with self._connection():
            yield self

    @contextmanager
    def hold_open(self) -> Iterator["FlintStore"]:
        """Keep the file open until the block ends, for every thread using this store.

        Unlike :meth:`session`, threads still take turns per operation, not per
        block: a live session holds its journal's store open this way so that a
        journal write costs no reopen. Other processes cannot open the file meanwhile.
        """
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store {self._path} is closed")
            if self._conn is not None:  # in memory, or already held
                held = None
            else:
                held = self._conn = connect(
                    self._path, read_only=self._read_only, timeout_s=self._timeout_s
                )
        try:
            yield self
        finally:
            if held is not None:
                with self._lock:
                    self._conn = None
                    held.close()

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The store's connection for one operation (opened now, closed after, unless held)."""
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store {self._path} is closed")
            if self._conn is not None:
                with self._readable():
                    yield self._conn
                return
            conn = connect(self._path, read_only=self._read_only, timeout_s=self._timeout_s)
            self._conn = conn
            try:
                with self._readable():
                    yield conn
            finally:
                self._conn = None
                conn.close()

    @contextmanager
    def _readable(self) -> Iterator[None]:
        """A file DuckDB opened but cannot read (truncated, overwritten in places) is a
        :class:`StoreError` saying so, not DuckDB's traceback."""
        try:
            yield
        except DAMAGED as exc:
            said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(
                f"cannot read the store {self._path}: {said}; the "
                f"file is truncated or damaged (restore a copy, or start a new store and "
                f"import the data again)"
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._read_only:
            raise StoreError(f"the store {self._path} was opened read-only")
        with self._connection() as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql, params or []).fetchall()

    def _columns(self, sql: str, params: list[Any]) -> dict[str, np.ndarray]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchnumpy()

    # Writes

    def _upsert(
        self,
        data: Any,
        spec: Spec,
        constants: dict[str, Any],
        covering: tuple[int, int] | None = None,
        observe_intervals: bool = False,
    ) -> int:
        batch = batches.build(data, spec, **constants)
        if covering is not None:
            for name in ("venue", "market"):
                if not constants.get(name):
                    raise ValueError(f"covering=... needs {name}=... (the series it covers)")
        if not len(batch) and covering is None:
            return 0
        with self._transaction() as conn:
            changed = self._replace(conn, batch) if len(batch) else 0
            if observe_intervals:
                for values, start, end in batch.groups:
                    ts = batch.table["ts"]
                    changed += self._observe_intervals(
                        conn, values[0], values[1], ts[start].as_py(), ts[end - 1].as_py()
                    )
            if covering is not None:
                kind = _KINDS[_TABLES[spec.kind]]
                self._cover(
                    conn, constants["venue"], constants["market"], kind,
                    int(constants.get("resolution_s") or 0), *covering,
                )
            return changed

    @staticmethod
    def _observe_intervals(
        conn: duckdb.DuckDBPyConnection, venue: str, market: str, first_ts: int, last_ts: int
    ) -> int:
        """Set ``interval_s`` of the settlements around ``[first_ts, last_ts]`` to the spacing
        observed in the stored series (see :mod:`flint.store.funding`); return rows changed."""
        reach = 3 * REACH
        series = "venue = ? AND market = ?"
        rows = conn.execute(
            f"(SELECT ts, interval_s FROM funding_rates WHERE {series} AND ts < ? "
            f"ORDER BY ts DESC LIMIT {reach}) UNION ALL "
            f"(SELECT ts, interval_s FROM funding_rates WHERE {series} AND ts BETWEEN ? AND ?) "
            f"UNION ALL (SELECT ts, interval_s FROM funding_rates WHERE {series} AND ts > ? "
            f"ORDER BY ts LIMIT {reach}) ORDER BY ts",
            [venue, market, first_ts, venue, market, first_ts, last_ts, venue, market, last_ts],
        ).fetchnumpy()
        ts, stored = rows["ts"], rows["interval_s"]
        before = int(np.searchsorted(ts, first_ts))
        after = len(ts) - int(np.searchsorted(ts, last_ts, side="right"))
        first = max(0, before - REACH)
        last = min(len(ts) - 1, len(ts) - after - 1 + REACH)
        positions, intervals = local_intervals(
            ts, first, last, at_start=before < reach, at_end=after < reach
        )
        moved = intervals != stored[positions]
        if not moved.any():
            return 0
        update = pa.table({"ts": ts[positions][moved], "interval_s": intervals[moved]})
        conn.register("_intervals", update)
        try:
            conn.execute(
                "UPDATE funding_rates f SET interval_s = u.interval_s FROM _intervals u "
                "WHERE f.venue = ? AND f.market = ? AND f.ts = u.ts",
                [venue, market],
            )
        finally:
            conn.unregister("_intervals")
        return int(moved.sum())

    @staticmethod
    def _cover(
        conn: duckdb.DuckDBPyConnection, venue: str, market: str, kind: str,
        resolution_s: int, start_ts: int, end_ts: int,
    ) -> None:
        """Add ``[start_ts, end_ts)`` to the coverage record of the series, merged with
        the spans it touches."""
        if end_ts <= start_ts:
            return
        key = [venue, market, kind, resolution_s]
        where = "venue = ? AND market = ? AND kind = ? AND resolution_s = ?"
        touching = conn.execute(
            f"SELECT min(start_ts), max(end_ts) FROM coverage WHERE {where} "
            f"AND start_ts <= ? AND end_ts >= ?",
            [*key, int(end_ts), int(start_ts)],
        ).fetchone()
        low, high = int(start_ts), int(end_ts)
        if touching and touching[0] is not None:
            low, high = min(low, int(touching[0])), max(high, int(touching[1]))
            conn.execute(
                f"DELETE FROM coverage WHERE {where} AND start_ts <= ? AND end_ts >= ?",
                [*key, int(end_ts), int(start_ts)],
            )
        conn.execute(
            "INSERT INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*key, low, high, int(time.time())],
        )

    @staticmethod
    def _replace(conn: duckdb.DuckDBPyConnection, batch: Batch) -> int:
        """Write the rows of ``batch`` that differ from what is stored; return how many.

        Per series: rows with no stored row in the batch's ts span are inserted
        directly; otherwise the rows that are new or different are found with an
        anti-join, their old versions deleted and the new ones inserted.
        """
        spec = batch.spec
        table = _TABLES[spec.kind]
        names = ", ".join(spec.names)
        same = " AND ".join(f"s.{c} = i.{c}" for c in spec.names if c not in spec.group)
        where = " AND ".join(f"{c} = ?" for c in spec.group) + " AND ts BETWEEN ? AND ?"
        changed = 0
        for values, start, end in batch.groups:
            part = batch.table.slice(start, end - start)
            params = [*values, part["ts"][0].as_py(), part["ts"][-1].as_py()]
            conn.register("_incoming", part)
            try:
                stored = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE {where}", params
                ).fetchone()
                if not (stored and stored[0]):
                    conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _incoming")
                    changed += part.num_rows
                    continue
                conn.execute(
                    f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT i.* FROM _incoming i "
                    f"ANTI JOIN (SELECT * FROM {table} WHERE {where}) s ON {same}",
                    params,
                )
            finally:
                conn.unregister("_incoming")
            row = conn.execute("SELECT count(*) FROM _changed").fetchone()
            count = int(row[0]) if row else 0
            if count:
                conn.execute(
                    f"DELETE FROM {table} WHERE {where} AND ts IN (SELECT ts FROM _changed)",
                    params,
                )
                conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _changed")
            conn.execute("DROP TABLE _changed")
            changed += count
        return changed

    def upsert_candles(
        self,
        candles: Any,
        *,
        venue: str | None = None,
        market: str | None = None,
        resolution_s: int | None = None,
        covering: tuple[int, int] | None = None,
    ) -> int:
        """Insert or replace candles; return how many rows were new or changed.

        ``candles``: ``Candle`` records, a ``CandleSeries``, a pyarrow Table or a
        mapping of numpy columns (``ts, open, high, low, close, volume``, plus
        ``venue``/``market``/``resolution_s`` columns or the keyword constants).
        The whole batch is validated first (:mod:`flint.store.batches`): a bad row
        raises ``InvalidRowError`` (a ``ValueError``) naming it, and nothing is written.
        Rows are keyed by (venue, market, resolution_s, ts). Out-of-order input is
        sorted; duplicates within the batch keep their **last** occurrence; a row equal
        to the stored one is not rewritten, so re-ingesting the same data returns 0.

        ``covering=(start_ts, end_ts)`` also records, in the same transaction, that the
        series (``venue``, ``market`` and ``resolution_s`` given as keywords) was fetched
        over ``[start_ts, end_ts)``: every bar the venue has there is in this batch or
        already stored (see :meth:`coverage`).
        """
        constants = {"venue": venue, "market": market, "resolution_s": resolution_s}
        if covering is not None and resolution_s is None:
            raise ValueError("covering=... needs resolution_s=... (the series it covers)")
        return self._upsert(candles, batches.CANDLES, constants, covering)

    def upsert_funding_rates(
        self,
        rates: Any,
        *,
        venue: str | None = None,
        market: str | None = None,
        interval_s: int | None = None,
        covering: tuple[int, int] | None = None,
        observe_intervals: bool = False,
    ) -> int:
        """Insert or replace funding settlements, keyed by (venue, market, ts).

        ``FundingRate.source`` is the venue. Columnar input needs ``ts`` and ``rate``
        and the funding interval (``interval_s`` column or constant); ``oracle_price``,
        ``mark_price`` and ``slot`` default to 0. Same validation, ordering and
        duplicate rules as :meth:`upsert_candles`; ``covering`` as there (with
        ``venue`` and ``market`` keywords).

        ``observe_intervals=True`` replaces the interval of the new settlements and
        of their neighbours by the spacing observed in the stored series
        (:mod:`flint.store.funding`), so a series written in any number of batches
        ends with the intervals of one batch; the count returned includes those rows.
        """
        constants = {"venue": venue, "market": market, "interval_s": interval_s}
        return self._upsert(rates, batches.FUNDING, constants, covering, observe_intervals)

    def upsert_open_interest(
        self,
        records: Any,
        *,
        venue: str | None = None,
        market: str | None = None,
        covering: tuple[int, int] | None = None,
    ) -> int:
        """Insert or replace open interest (``long_oi``, ``short_oi`` in base units)."""
        constants = {"venue": venue, "market": market}
        return self._upsert(records, batches.OPEN_INTEREST, constants, covering)

    def upsert_market_snapshots(
        self,
        records: Any,
        *,
        venue: str | None = None,
        market: str | None = None,
        covering: tuple[int, int] | None = None,
    ) -> int:
        """Insert or replace market snapshots (``MarketSnapshot``: mark, oracle, open
        interest, current funding rate)."""
        constants = {"venue": venue, "market": market}
        return self._upsert(records, batches.MARKET_SNAPSHOTS, constants, covering)

    def upsert_borrow_rates(
        self, records: Any, *, venue: str | None = None, market: str | None = None
    ) -> int:
        """Insert or replace borrow-rate snapshots (``BorrowSnapshot.source`` is the venue)."""
        return self._upsert(records, batches.BORROW_RATES, {"venue": venue, "market": market})

    def upsert_orderbook_snapshot(
        self,
        snapshot: Any,
        *,
        venue: str | None = None,
        market: str | None = None,
        covering: tuple[int, int] | None = None,
    ) -> int:
        """Insert or replace one ``OrderbookSnapshot`` or many (records or an Arrow table).

        Levels are stored exactly as given; bids must be strictly descending, asks
        strictly ascending, prices and sizes positive, and the book not crossed.
        """
        constants = {"venue": venue, "market": market}
        return self._upsert(snapshot, batches.ORDERBOOKS, constants, covering)

    # Candles

    def _candle_venue(
        self, market: str, resolution_s: int, start_ts: int | None, end_ts: int | None
    ) -> str | None:
        """The venue with most candles of ``market`` in the range (ties: alphabetical)."""
        rng, params = _range_sql(start_ts, end_ts)
        rows = self._query(
            f"SELECT venue FROM candles WHERE market = ? AND resolution_s = ?{rng} "
            f"GROUP BY venue ORDER BY count(*) DESC, venue LIMIT 1",
            [market, int(resolution_s), *params],
        )
        return str(rows[0][0]) if rows else None

    def query_candles(
        self,
        market: str,
        resolution_s: int,
        start_ts: int | None = None,
        end_ts: int | None = None,
        limit: int | None = None,
        venue: str | None = None,
    ) -> CandleSeries:
        """Candles with ``start_ts <= ts <= end_ts``, ascending, as a columnar series.

        ``limit`` without ``start_ts`` keeps the most recent ``limit`` bars, otherwise
        the first ``limit``. ``venue=None`` picks the venue holding most bars of the
        market in the range (alphabetically first on a tie); an empty series (venue
        ``"default"``) when nothing matches.
        """
        with self._connection():
            if venue is None:
                venue = self._candle_venue(market, resolution_s, start_ts, end_ts)
            if venue is None:
                return CandleSeries([], [], [], [], [], [], market, int(resolution_s))
            rng, params = _range_sql(start_ts, end_ts)
            sql = (
                "SELECT ts, open, high, low, close, volume FROM candles "
                f"WHERE venue = ? AND market = ? AND resolution_s = ?{rng}"
            )
            params = [venue, market, int(resolution_s), *params]
            if limit is not None and start_ts is None:
                sql = f"SELECT * FROM ({sql} ORDER BY ts DESC LIMIT ?) ORDER BY ts"
                params.append(int(limit))
            else:
                sql += " ORDER BY ts" + (" LIMIT ?" if limit is not None else "")
                params += [int(limit)] if limit is not None else []
            cols = self._columns(sql, params)
        return CandleSeries(
            cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"],
            cols["volume"], market, int(resolution_s), venue,
        )

    def require_candles(
        self,
        market: str,
        resolution_s: int,
        start_ts: int | None = None,
        end_ts: int | None = None,
        limit: int | None = None,
        venue: str | None = None,
    ) -> CandleSeries:
        """:meth:`query_candles`, or a :class:`NoCandlesError` when nothing matches whose
        message says what the store holds: the venues and markets at ``resolution_s``,
        the stored resolutions, or the span of the series the range missed."""
        with self._connection():
            series = self.query_candles(market, resolution_s, start_ts, end_ts, limit, venue)
            if len(series):
                return series
            stored = self._query(
                "SELECT venue, market, resolution_s, min(ts), max(ts) FROM candles "
                "GROUP BY venue, market, resolution_s"
            )
        raise NoCandlesError(
            no_candles_message(
                [(str(v), str(m), int(r), int(a), int(b)) for v, m, r, a, b in stored],
                market, int(resolution_s), venue, start_ts, end_ts,
            ),
            empty=not stored,
        )

    def count_candles(self, market: str, resolution_s: int, venue: str | None = None) -> int:
        """How many candles ``query_candles(market, resolution_s, venue=venue)`` returns."""
        with self._connection():
            if venue is None:
                venue = self._candle_venue(market, resolution_s, None, None)
            if venue is None:
                return 0
            rows = self._query(
                "SELECT count(*) FROM candles WHERE venue = ? AND market = ? AND resolution_s = ?",
                [venue, market, int(resolution_s)],
            )
        return int(rows[0][0])

    def candle_gaps(
        self,
        market: str,
        resolution_s: int,
        venue: str | None = None,
        start_ts: int | None = None,
        end_ts: int | None = None,
    ) -> list[Gap]:
        """Runs of missing bars between the first and last stored bar (in the range)."""
        res = int(resolution_s)
        with self._connection():
            if venue is None:
                venue = self._candle_venue(market, res, start_ts, end_ts)
            if venue is None:
                return []
            rng, params = _range_sql(start_ts, end_ts)
            rows = self._query(
                "SELECT prev, ts FROM (SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev "
                f"FROM candles WHERE venue = ? AND market = ? AND resolution_s = ?{rng}) "
                "WHERE ts - prev > ? ORDER BY ts",
                [venue, market, res, *params, res],
            )
        return [Gap(int(p) + res, int(t) - res, (int(t) - int(p)) // res - 1) for p, t in rows]

    def is_range_synced(
        self,
        market: str,
        resolution_s: int,
        start_ts: int,
        end_ts: int,
        venue: str | None = None,
        min_coverage: float = 0.95,
    ) -> bool:
        """True if the candles of ``[start_ts, end_ts]`` (inclusive) are in the store.

        That is: the coverage record says the range was fetched from ``venue`` (any
        venue if None), whatever the venue had there; or, for data that came
        without a coverage record (imported files), at least ``min_coverage`` of
        the bars are stored.
        """
        res = int(resolution_s)
        first = -(-int(start_ts) // res) * res  # first bar boundary at or after start
        expected = (int(end_ts) - first) // res + 1 if end_ts >= first else 0
        if expected <= 0:
            return False
        with self._connection():
            venues = [venue] if venue is not None else [
                str(v) for (v,) in self._query(
                    "SELECT DISTINCT venue FROM coverage WHERE market = ? AND kind = 'candles' "
                    "AND resolution_s = ?", [market, res],
                )
            ]
            wanted = (int(start_ts), int(end_ts) + 1)
            if any(spans.contains(self.coverage(v, market, "candles", res), wanted)
                   for v in venues):
                return True
            if venue is None:
                venue = self._candle_venue(market, res, start_ts, end_ts)
            if venue is None:
                return False
            rows = self._query(
                "SELECT count(*) FROM candles WHERE venue = ? AND market = ? "
                "AND resolution_s = ? AND ts BETWEEN ? AND ?",
                [venue, market, res, int(start_ts), int(end_ts)],
            )
        return int(rows[0][0]) >= min_coverage * expected

    # Coverage

    def coverage(
        self, venue: str, market: str, kind: str = "candles", resolution_s: int | None = None
    ) -> list[tuple[int, int]]:
        """Spans ``[start_ts, end_ts)`` of the series that were fetched from its venue,
        sorted and disjoint (``kind`` as in ``summary()``: candles, funding, ...)."""
        rows = self._query(
            "SELECT start_ts, end_ts FROM coverage WHERE venue = ? AND market = ? AND kind = ? "
            "AND resolution_s = ? ORDER BY start_ts",
            [venue, market, kind, int(resolution_s or 0)],
        )
        return [(int(a), int(b)) for a, b in rows]

    def record_coverage(
        self,
        venue: str,
        market: str,
        kind: str,
        start_ts: int,
        end_ts: int,
        resolution_s: int | None = None,
    ) -> None:
        """Record that ``[start_ts, end_ts)`` of the series was fetched (merged with the
        spans it touches). Writers of rows should pass ``covering=`` to the upsert
        instead, so rows and coverage land in one transaction."""
        if kind not in _KINDS.values():
            raise ValueError(f"unknown kind '{kind}'; use one of {', '.join(_KINDS.values())}")
        if (kind == "candles") != (resolution_s is not None):
            raise ValueError("resolution_s is given for candles, and only for candles")
        with self._transaction() as conn:
            self._cover(conn, venue, market, kind, int(resolution_s or 0), start_ts, end_ts)

    def coverage_summary(self) -> dict[tuple[str, str, str, int | None], list[tuple[int, int]]]:
        """Every coverage record: ``{(venue, market, kind, resolution_s): spans}``."""
        out: dict[tuple[str, str, str, int | None], list[tuple[int, int]]] = {}
        for venue, market, kind, res, start, end in self._query(
            "SELECT venue, market, kind, resolution_s, start_ts, end_ts FROM coverage "
            "ORDER BY venue, market, kind, resolution_s, start_ts"
        ):
            key = (str(venue), str(market), str(kind), int(res) if kind == "candles" else None)
            out.setdefault(key, []).append((int(start), int(end)))
        return out

    def coverage_status(
        self,
        venue: str,
        market: str,
        kind: str,
        start_ts: int,
        end_ts: int,
        resolution_s: int | None = None,
    ) -> list[CoverageSpan]:
        """``[start_ts, end_ts)`` cut into :class:`CoverageSpan` runs: stored,
        ``source_empty`` (fetched, nothing there) or ``missing`` (never fetched).

        Candles are judged bar by bar; other kinds per fetched span (a fetched span
        holding no row is ``source_empty``).
        """
        covered = spans.merge(
            (max(a, start_ts), min(b, end_ts))
            for a, b in self.coverage(venue, market, kind, resolution_s)
        )
        if kind == "candles":
            if resolution_s is None:
                raise ValueError("candles need resolution_s")
            return self._candle_status(venue, market, int(resolution_s), start_ts, end_ts,
                                       covered)
        table = {v: k for k, v in _KINDS.items()}[kind]
        ts = self._columns(
            f"SELECT ts FROM {table} WHERE venue = ? AND market = ? AND ts >= ? AND ts < ? "
            "ORDER BY ts", [venue, market, int(start_ts), int(end_ts)],
        )["ts"]
        parts = [(a, b, True) for a, b in covered]
        parts += [(a, b, False) for a, b in spans.subtract((start_ts, end_ts), covered)]
        out = []
        for a, b, fetched in sorted(parts):
            held = np.searchsorted(ts, b) > np.searchsorted(ts, a)
            status = "stored" if held else ("source_empty" if fetched else "missing")
            out.append(CoverageSpan(status, a, b))
        return out

    def _candle_status(
        self, venue: str, market: str, res: int, start_ts: int, end_ts: int,
        covered: list[tuple[int, int]],
    ) -> list[CoverageSpan]:
        offset = batches.WEEK_OFFSET_S if res == 604800 else 0
        first = -(-(int(start_ts) - offset) // res) * res + offset
        bars = np.arange(first, int(end_ts), res, dtype=np.int64)
        if not len(bars):
            return []
        stored = self._columns(
            "SELECT ts FROM candles WHERE venue = ? AND market = ? AND resolution_s = ? "
            "AND ts >= ? AND ts < ?", [venue, market, res, int(first), int(end_ts)],
        )["ts"]
        code = np.full(len(bars), 2, dtype=np.int8)  # missing
        for a, b in covered:
            code[np.searchsorted(bars, a):np.searchsorted(bars, b)] = 1  # source_empty
        code[np.isin(bars, stored)] = 0
        cuts = np.flatnonzero(np.diff(code)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.append(cuts, len(bars))
        return [
            CoverageSpan(COVERAGE_STATUSES[code[i]], int(bars[i]), int(bars[j - 1]) + res, j - i)
            for i, j in zip(starts.tolist(), ends.tolist(), strict=True)
        ]

    # Funding, open interest, borrow rates, order books

    def _rows(
        self,
        table: str,
        columns: str,
        market: str,
        start_ts: int | None,
        end_ts: int | None,
        venue: str | None,
    ) -> list[tuple[Any, ...]]:
        where, params = _series_sql(market, start_ts, end_ts, venue)
        return self._query(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY ts, venue",
                           params)

    def query_funding_rates(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> list[FundingRate]:
        """Funding settlements of ``market`` in the inclusive range, every venue unless
        ``venue`` is given, ordered by (ts, venue)."""
        rows = self._rows(
            "funding_rates",
            "market, ts, rate, oracle_price, mark_price, slot, venue, interval_s",
            market, start_ts, end_ts, venue,
        )
        return [FundingRate(*row) for row in rows]

    def query_funding_columns(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> FundingColumns:
        """What :meth:`query_funding_rates` returns, as
        :class:`~flint_core.funding.FundingColumns`: read as numpy columns, no record a row
        (the engine takes either)."""
        where, params = _series_sql(market, start_ts, end_ts, venue)
        venues = [row[0] for row in self._query(
            f"SELECT DISTINCT venue FROM funding_rates WHERE {where} ORDER BY venue", params)]
        rows = self._columns(
            "SELECT ts, rate, oracle_price, mark_price, slot, interval_s, dense_rank() OVER "
            f"(ORDER BY venue) - 1 AS venue_code FROM funding_rates WHERE {where} "
            "ORDER BY ts, venue",
            params,
        )
        return FundingColumns(
            rows["ts"], rows["rate"], oracle_price=rows["oracle_price"],
            mark_price=rows["mark_price"], slot=rows["slot"], interval_s=rows["interval_s"],
            market=market, source=(venues, rows["venue_code"]),
        )

    def query_funding_by_venue(
        self, market: str, start_ts: int | None = None, end_ts: int | None = None
    ) -> dict[str, list[FundingRate]]:
        """``{venue: [FundingRate, ...]}`` for ``market``, each list ascending by ts."""
        out: dict[str, list[FundingRate]] = {}
        for rate in self.query_funding_rates(market, start_ts, end_ts):
            out.setdefault(rate.source, []).append(rate)
        return dict(sorted(out.items()))

    def query_open_interest(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> list[OpenInterest]:
        """Open interest of ``market`` in the range, ordered by (ts, venue)."""
        rows = self._rows(
            "open_interest", "market, ts, long_oi, short_oi, venue",
            market, start_ts, end_ts, venue,
        )
        return [OpenInterest(*row) for row in rows]

    def query_market_snapshots(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> list[MarketSnapshot]:
        """Market snapshots of ``market`` in the range, ordered by (ts, venue)."""
        rows = self._rows(
            "market_snapshots",
            "market, ts, mark_price, oracle_price, open_interest, funding_rate, venue",
            market, start_ts, end_ts, venue,
        )
        return [MarketSnapshot(*row) for row in rows]

    def query_borrow_rates(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> list[BorrowSnapshot]:
        """Borrow-rate snapshots of ``market`` in the range, ordered by (ts, venue)."""
        rows = self._rows(
            "borrow_rates", "market, ts, rate_hourly, utilization, cumulative_rate, venue",
            market, start_ts, end_ts, venue,
        )
        return [BorrowSnapshot(*row) for row in rows]

    def query_orderbook_snapshots(
        self,
        market: str,
        start_ts: int | None = None,
        end_ts: int | None = None,
        venue: str | None = None,
    ) -> list[OrderbookSnapshot]:
        """Order-book snapshots of ``market`` in the range, levels exactly as stored."""
        rows = self._rows(
            "orderbook_snapshots", "market, ts, bids, asks, slot, venue",
            market, start_ts, end_ts, venue,
        )
        return [
            OrderbookSnapshot(
                mk, ts,
                tuple(OrderbookLevel(lv["price"], lv["size"]) for lv in bids),
                tuple(OrderbookLevel(lv["price"], lv["size"]) for lv in asks),
                slot, ven,
            )
            for mk, ts, bids, asks, slot, ven in rows
        ]

    # Overview

    def summary(self) -> list[SeriesSummary]:
        """Every stored series: kind, venue, market, resolution, rows, span (and candle gaps)."""
        others = " UNION ALL ".join(
            f"SELECT '{kind}', venue, market, NULL, count(*), min(ts), max(ts), NULL, NULL "
            f"FROM {table} GROUP BY venue, market"
            for table, kind in _KINDS.items()
            if table != "candles"
        )
        rows = self._query(
            "WITH steps AS (SELECT venue, market, resolution_s, ts, ts - lag(ts) OVER "
            "(PARTITION BY venue, market, resolution_s ORDER BY ts) AS step FROM candles) "
            "SELECT 'candles', venue, market, resolution_s, count(*), min(ts), max(ts), "
            "count(*) FILTER (WHERE step > resolution_s), "
            "coalesce(sum(step // resolution_s - 1) FILTER (WHERE step > resolution_s), 0) "
            f"FROM steps GROUP BY venue, market, resolution_s UNION ALL {others} "
            "ORDER BY 1, 3, 2, 4"
        )
        return [
            SeriesSummary(
                kind, venue, market, None if res is None else int(res), int(n), int(first),
                int(last), None if gaps is None else int(gaps),
                None if missing is None else int(missing),
            )
            for kind, venue, market, res, n, first, last, gaps, missing in rows
        ]

    def get_data_freshness(self, now: float | None = None) -> list[dict[str, Any]]:
        """Per series: ``market``, ``source`` (venue), ``data_type``, ``resolution_s``,
        ``last_ts`` and ``age_s`` (seconds since ``last_ts`` at ``now``; both None when
        nothing is stored), and ``fetched_until``: the end of the last span fetched
        from the venue (None without a coverage record)."""
        clock = time.time() if now is None else now
        with self._connection():
            covered = self.coverage_summary()
            series = self.summary()
        out = []
        for s in series:
            spans_ = covered.pop((s.venue, s.market, s.kind, s.resolution_s), None)
            out.append({
                "market": s.market, "source": s.venue, "data_type": s.kind,
                "resolution_s": s.resolution_s, "last_ts": s.last_ts,
                "age_s": clock - s.last_ts,
                "fetched_until": spans_[-1][1] if spans_ else None,
            })
        for (venue, market, kind, res), spans_ in covered.items():  # fetched, nothing there
            out.append({
                "market": market, "source": venue, "data_type": kind, "resolution_s": res,
                "last_ts": None, "age_s": None, "fetched_until": spans_[-1][1],
            })
        return out

    # Strategy registry

    def upsert_strategy(
        self,
        strategy_id: str,
        name: str,
        code: str,
        params_json: str | Mapping[str, Any] = "{}",
        category: str = "custom",
        notes: str = "",
    ) -> None:
        """Register a strategy or update its code, parameters, category and notes.

        ``name`` is unique; a new strategy starts as ``draft``; ``params_json`` is a
        JSON object (text or a mapping).
        """
        if isinstance(params_json, Mapping):
            params_json = json.dumps(dict(params_json), sort_keys=True)
        try:
            parsed = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise ValueError(f"params_json of strategy '{name}' is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"params_json of strategy '{name}' must be a JSON object")
        now = int(time.time())
        with self._transaction() as conn:
            clash = conn.execute(
                "SELECT strategy_id FROM strategies WHERE name = ? AND strategy_id <> ?",
                [name, strategy_id],
            ).fetchone()
            if clash:
                raise ValueError(f"strategy name '{name}' is already used by id '{clash[0]}'")
            conn.execute(
                "INSERT INTO strategies VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?) "
                "ON CONFLICT (strategy_id) DO UPDATE SET name = excluded.name, "
                "code = excluded.code, params_json = excluded.params_json, "
                "category = excluded.category, notes = excluded.notes, "
                "updated_at = excluded.updated_at",
                [strategy_id, name, code, params_json, category, notes, now, now],
            )

    def get_strategy(self, name: str) -> dict[str, Any] | None:
        """The registered strategy called ``name`` as a dict, or None."""
        rows = self._query(
            f"SELECT {', '.join(_STRATEGY_COLUMNS)} FROM strategies WHERE name = ?", [name]
        )
        return dict(zip(_STRATEGY_COLUMNS, rows[0], strict=True)) if rows else None

    def list_strategies(self) -> list[dict[str, Any]]:
        """Every registered strategy, by name."""
        rows = self._query(f"SELECT {', '.join(_STRATEGY_COLUMNS)} FROM strategies ORDER BY name")
        return [dict(zip(_STRATEGY_COLUMNS, row, strict=True)) for row in rows]

    def update_strategy_status(self, name: str, status: str) -> None:
        """Move strategy ``name`` to ``status`` (one of :data:`STRATEGY_STATUSES`)."""
        if status not in STRATEGY_STATUSES:
            raise ValueError(
                f"unknown strategy status '{status}'; use one of {', '.join(STRATEGY_STATUSES)}"
            )
        with self._transaction() as conn:
            found = conn.execute(
                "UPDATE strategies SET status = ?, updated_at = ? WHERE name = ? RETURNING name",
                [status, int(time.time()), name],
            ).fetchall()
            if not found:
                raise KeyError(f"no strategy named '{name}'")

    # Backtest journal

    def save_backtest_run(self, run: Any) -> str:
        """Journal a backtest run (a mapping, or an object with ``to_dict()``); return its id.

        The run is stored as JSON text (Python's encoding, so non-finite metrics such
        as an infinite profit factor round-trip). It keeps its ``run_id`` if it has
        one (saving it again replaces it), else gets a new one; ``strategy_name``
        (or ``strategy``), ``market`` and ``created_at`` are indexed when present.
        """
        return self.save_backtest_runs([run])[0]

    def save_backtest_runs(self, runs: Sequence[Any]) -> list[str]:
        """Journal ``runs`` (each as :meth:`save_backtest_run` does) in one transaction:
        all of them or, if anything fails or the process dies, none; their ids in order."""
        rows: list[list[Any]] = []
        for run in runs:
            payload = journal_payload(run)
            rows.append([payload["run_id"],
                         str(payload.get("strategy_name") or payload.get("strategy") or ""),
                         str(payload.get("market") or ""), payload["created_at"],
                         json.dumps(payload, default=_jsonable)])
        with self._transaction() as conn:
            for row in rows:
                conn.execute(
                    "INSERT OR REPLACE INTO backtest_runs "
                    "(run_id, strategy_name, market, created_at, payload, summary) "
                    f"SELECT ?, ?, ?, ?, payload, {schema.RUN_SUMMARY} "
                    "FROM (SELECT ? AS payload)", row)
        return [row[0] for row in rows]

    def list_backtest_runs(self, limit: int = 20, *, offset: int = 0,
                           **filters: Any) -> list[dict[str, Any]]:
        """The newest runs first, each with its scalar fields only (no curves or fills);
        ``offset`` skips that many, ``filters`` are those of :func:`journal_filter`."""
        where, params = journal_filter(**filters)
        rows = self._query(
            f"SELECT summary FROM backtest_runs{where} ORDER BY created_at DESC, run_id "
            "LIMIT ? OFFSET ?",
            [*params, int(limit), int(offset)],
        )
        return [json.loads(text) for (text,) in rows]

    def count_backtest_runs(self, **filters: Any) -> int:
        """How many journaled runs match ``filters`` (those of :func:`journal_filter`)."""
        where, params = journal_filter(**filters)
        return int(self._query(f"SELECT count(*) FROM backtest_runs{where}", params)[0][0])

    def get_backtest_run(self, run_id: str) -> dict[str, Any] | None:
        """The whole journaled run, or None."""
        rows = self._query("SELECT payload FROM backtest_runs WHERE run_id = ?", [run_id])
        return json.loads(rows[0][0]) if rows else None

    def delete_backtest_run(self, run_id: str) -> bool:
        """Delete a run; False if there was none."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM backtest_runs WHERE run_id = ? RETURNING run_id", [run_id]
            ).fetchall()
        return bool(deleted)

    # Live order journal (rows are written by flint.live.journal.OrderJournal)

    def append_live_events(
        self, events: Sequence[Sequence[Any]], fill: Sequence[Any] | None = None
    ) -> bool:
        """Append journal ``events`` (rows of :data:`LIVE_EVENT_COLUMNS`), after ``fill``
        (a row of :data:`LIVE_FILL_COLUMNS`) when given, as one batch that is on disk
        when this returns (see :mod:`flint.store.journal_log`).

        The rows' ``seq`` are offsets: the store numbers them after the highest
        sequence number written, so journals of several accounts share one store.
        Returns False, and writes nothing, when ``fill``'s (account, trade_id) is
        already journaled: a fill delivered twice is booked once.
        """
        return self.append_live_batches([(events, fill)])[0]

    def append_live_batches(
        self, batches: Sequence[tuple[Sequence[Sequence[Any]], Sequence[Any] | None]]
    ) -> list[bool]:
        """:meth:`append_live_events` of each ``(events, fill)`` in ``batches``, in that
        order, written in one go (one write, one sync; a ``kill -9`` leaves all of them
        or none); whether each was written (False: its fill is journaled already)."""
        if self._journal is None:
            raise StoreError(f"the store {self._path} was opened read-only")
        if self._closed:
            raise StoreClosedError(f"the store {self._path} is closed")
        for _, fill in batches:
            if fill is not None and fill[0] not in self._trade_ids:
                self.live_fills(fill[0])  # learns the account's trade ids
        written, out = [], []
        with self._journal_lock:
            seq = self._journal_seq
            for events, fill in batches:
                base, fill_row = seq + 1, None
                if fill is not None:
                    account, trade_id = fill[0], fill[1]
                    if trade_id in self._trade_ids[account]:
                        out.append(False)
                        continue
                    fill_row = (account, trade_id, base + int(fill[2]), *fill[3:])
                    self._trade_ids[account].add(trade_id)
                rows = tuple((base + int(event[0]), *event[1:]) for event in events)
                if rows or fill_row:
                    written.append(JournalBatch(rows, fill_row))
                seq = max([seq, *(row[0] for row in rows)])
                out.append(True)
            try:
                self._journal.append(written)
            except BaseException:  # nothing written: nothing booked
                for batch in written:
                    if batch.fill is not None:
                        self._trade_ids[batch.fill[0]].discard(batch.fill[1])
                raise
            self._journal_seq = seq
        return out

    def has_live_fill(self, account: str, trade_id: str) -> bool:
        """True when the fill ``trade_id`` of ``account`` is journaled (a writer's view)."""
        if account not in self._trade_ids:
            self.live_fills(account)  # learns the account's trade ids
        with self._journal_lock:
            return trade_id in self._trade_ids.get(account, ())

    def flush_live_journal(self) -> None:
        """Copy the journal batches not yet in the ``live_*`` tables there now (a
        background thread does this shortly after each append anyway)."""
        if self._journal is not None:
            self._journal.flush()

    def _mirror_journal(self, batches: Sequence[JournalBatch]) -> None:
        events = [row for batch in batches for row in batch.events]
        fills = [batch.fill for batch in batches if batch.fill is not None]
        with self._transaction() as conn:
            for table, columns, rows in (("live_events", LIVE_EVENT_COLUMNS, events),
                                         ("live_fills", LIVE_FILL_COLUMNS, fills)):
                one = f"({', '.join('?' * len(columns))})"
                for start in range(0, len(rows), 256):  # one statement per 256 rows is
                    chunk = rows[start:start + 256]  # a third of executemany's cost
                    conn.execute(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                        f"{', '.join([one] * len(chunk))} ON CONFLICT DO NOTHING",
                        [value for row in chunk for value in row],
                    )

    def _pending_journal(self) -> list[JournalBatch]:
        """Journal batches that may not be in the tables yet (read before the tables:
        a batch copied meanwhile is then seen twice, never missed)."""
        if self._journal is not None:
            return self._journal.pending()
        return read_pending(self._journal_path) if self._journal_path else []

    def live_events(self, account: str) -> list[dict[str, Any]]:
        """The journal events of ``account``, in the order they were written."""
        pending = [row for batch in self._pending_journal() for row in batch.events
                   if row[1] == account]
        rows = self._query(
            f"SELECT {', '.join(LIVE_EVENT_COLUMNS)} FROM live_events WHERE account = ? "
            "ORDER BY seq", [account],
        )
        if pending:
            written = {row[0] for row in rows}
            rows = sorted([*rows, *(row for row in pending if row[0] not in written)],
                          key=lambda row: row[0])
        return [dict(zip(LIVE_EVENT_COLUMNS, row, strict=True)) for row in rows]

    def live_fills(self, account: str) -> list[dict[str, Any]]:
        """The journaled fills of ``account``, in the order they were booked. A writer
        keeps their trade ids, so that booking a fill never reads the journal (a
        context's start reads its fills before any order)."""
        pending = [batch.fill for batch in self._pending_journal()
                   if batch.fill is not None and batch.fill[0] == account]
        rows = self._query(
            f"SELECT {', '.join(LIVE_FILL_COLUMNS)} FROM live_fills WHERE account = ? "
            "ORDER BY seq", [account],
        )
        if pending:
            written = {row[1] for row in rows}
            rows = sorted([*rows, *(row for row in pending if row[1] not in written)],
                          key=lambda row: row[2])
        if self._journal is not None and account not in self._trade_ids:
            with self._journal_lock:  # fills booked since the read are in a set made then
                self._trade_ids.setdefault(account, {row[1] for row in rows})
        return [dict(zip(LIVE_FILL_COLUMNS, row, strict=True)) for row in rows]

    def live_accounts(self, prefix: str = "") -> list[str]:
        """Journal accounts whose name starts with ``prefix``, by their first event."""
        first: dict[str, int] = {}
        for batch in self._pending_journal():
            for row in batch.events:
                if row[1].startswith(prefix):
                    first[row[1]] = min(first.get(row[1], row[0]), row[0])
        for account, seq in self._query(
            "SELECT account, min(seq) FROM live_events WHERE starts_with(account, ?) "
            "GROUP BY account", [prefix],
        ):
            first[account] = min(first.get(account, seq), seq)
        return sorted(first, key=first.__getitem__)

    # Parquet exchange

    def export_parquet(self, directory: str | Path, *, overwrite: bool = False) -> dict[str, int]:
        """Write every time-series table as Hive-partitioned Parquet under ``directory``.

        Layout: ``<directory>/<table>/venue=<v>/market=<m>[/resolution_s=<r>]/*.parquet``
        (candles are partitioned by resolution too). Readable by DuckDB, Spark, Polars
        or pyarrow; ``flint data import <directory>`` loads it back. Returns rows
        written per table; empty tables are skipped. An existing export is only
        replaced with ``overwrite=True``.
        """
        root = Path(directory)
        written: dict[str, int] = {}
        with self._connection() as conn:
            for table, key in schema.KEYS.items():
                row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                count = int(row[0]) if row else 0
                if not count:
                    continue
                target = root / table
                if target.exists() and any(target.iterdir()) and not overwrite:
                    raise StoreError(
                        f"{target} already holds an export: pass overwrite=True "
                        f"(--overwrite) to replace it"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                partition = ", ".join(key[:-1])
                target_sql = str(target).replace("'", "''")
                conn.execute(
                    f"COPY (SELECT * FROM {table} ORDER BY {', '.join(key)}) TO '{target_sql}' "
                    f"(FORMAT parquet, PARTITION_BY ({partition}), OVERWRITE {overwrite!s})"
                )
                written[table] = count
        return written

