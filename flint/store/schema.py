"""The store's schema: versioned DDL and the forward migrations applied on open.

``MIGRATIONS[i]`` takes a store from schema version ``i`` to ``i + 1``; the
``schema_version`` table records every version applied (and when). A writer
applies the pending migrations, in one transaction, when it opens a file; a
reader refuses a file whose schema is older or newer than :data:`SCHEMA_VERSION`.
To change the schema, append a migration: never edit one that has shipped.

Time-series tables have no PRIMARY KEY index. Their key is enforced by the
store's write path instead (replace-by-key inside one transaction, under the
single-writer lock): DuckDB's index maintenance made a 1M-candle ingest about
eight times slower, and every write goes through the store anyway.
"""

import time
from collections.abc import Sequence

import duckdb

from flint.store.errors import SchemaVersionError

#: Key columns of each time-series table (what an upsert replaces by).
KEYS: dict[str, tuple[str, ...]] = {
    "candles": ("venue", "market", "resolution_s", "ts"),
    "funding_rates": ("venue", "market", "ts"),
    "open_interest": ("venue", "market", "ts"),
    "borrow_rates": ("venue", "market", "ts"),
    "orderbook_snapshots": ("venue", "market", "ts"),
    "market_snapshots": ("venue", "market", "ts"),
}

_V1 = (
    """
    CREATE TABLE candles (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        resolution_s INTEGER NOT NULL,
        ts BIGINT NOT NULL,
        open DOUBLE NOT NULL,
        high DOUBLE NOT NULL,
        low DOUBLE NOT NULL,
        close DOUBLE NOT NULL,
        volume DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE funding_rates (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        rate DOUBLE NOT NULL,
        interval_s INTEGER NOT NULL,
        oracle_price DOUBLE NOT NULL,
        mark_price DOUBLE NOT NULL,
        slot BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE open_interest (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        long_oi DOUBLE NOT NULL,
        short_oi DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE borrow_rates (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        rate_hourly DOUBLE NOT NULL,
        utilization DOUBLE NOT NULL,
        cumulative_rate DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE orderbook_snapshots (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        slot BIGINT NOT NULL,
        bids STRUCT(price DOUBLE, size DOUBLE)[] NOT NULL,
        asks STRUCT(price DOUBLE, size DOUBLE)[] NOT NULL
    )
    """,
    """
    CREATE TABLE strategies (
        strategy_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        params_json VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        notes VARCHAR NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE backtest_runs (
        run_id VARCHAR PRIMARY KEY,
        strategy_name VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        created_at BIGINT NOT NULL,
        payload VARCHAR NOT NULL
    )
    """,
)

# The coverage record: per series, the spans [start_ts, end_ts) fetched from its venue
# (resolution_s is 0 for kinds other than candles). Spans of a series never overlap.
_V2 = (
    """
    CREATE TABLE coverage (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        resolution_s INTEGER NOT NULL,
        start_ts BIGINT NOT NULL,
        end_ts BIGINT NOT NULL,
        fetched_at BIGINT NOT NULL
    )
    """,
)

# The live order journal (flint.live.journal): append-only. ``live_events`` holds every
# order intent, state change, cancel request, risk decision and trading-state change;
# ``live_fills`` every fill, keyed by the venue's trade id so a fill is booked once.
_V3 = (
    """
    CREATE TABLE live_events (
        seq BIGINT PRIMARY KEY,
        account VARCHAR NOT NULL,
        ts DOUBLE NOT NULL,
        kind VARCHAR NOT NULL,
        client_id VARCHAR,
        state VARCHAR,
        detail VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE live_fills (
        account VARCHAR NOT NULL,
        trade_id VARCHAR NOT NULL,
        seq BIGINT NOT NULL,
        client_id VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        side VARCHAR NOT NULL,
        price DOUBLE NOT NULL,
        size DOUBLE NOT NULL,
        fee DOUBLE NOT NULL,
        ts DOUBLE NOT NULL,
        is_maker BOOLEAN NOT NULL,
        PRIMARY KEY (account, trade_id)
    )
    """,
)

# Snapshots of a market's state (``flint.models.MarketSnapshot``): mark and oracle prices,
# open interest and the current funding rate, as live feeds see them.
_V4 = (
    """
    CREATE TABLE market_snapshots (
        venue VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        ts BIGINT NOT NULL,
        mark_price DOUBLE NOT NULL,
        oracle_price DOUBLE NOT NULL,
        open_interest DOUBLE NOT NULL,
        funding_rate DOUBLE NOT NULL
    )
    """,
)

#: The SQL expression of a journal record's summary: the JSON object of the top-level
#: members of its ``payload`` that are not objects or arrays, in the record's order
#: (what the journal lists, read without parsing the whole record).
RUN_SUMMARY = """(
    SELECT '{' || coalesce(string_agg(to_json(member.key) || ': ' || member.value, ', '
                                      ORDER BY member.id), '') || '}'
    FROM json_each(payload) AS member
    WHERE member.type NOT IN ('OBJECT', 'ARRAY')
)"""

# Each journal record's summary in a column of its own, filled in for the records
# already journaled.
_V5 = (
    "ALTER TABLE backtest_runs ADD COLUMN summary VARCHAR",
    f"UPDATE backtest_runs SET summary = {RUN_SUMMARY}",
)

#: Forward migrations; ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5)

#: The schema version this flint reads and writes.
SCHEMA_VERSION = len(MIGRATIONS)

_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY,
        applied_at BIGINT NOT NULL
    )
"""


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The version recorded in the file (0 for a file flint never wrote)."""
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(
    conn: duckdb.DuckDBPyConnection, migrations: Sequence[Sequence[str]] = MIGRATIONS
) -> list[int]:
    """Apply the pending ``migrations`` in one transaction; return the versions applied."""
    target = len(migrations)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(_VERSION_TABLE)
        current = schema_version(conn)
        if current > target:
            raise SchemaVersionError(
                f"the store has schema version {current} but this flint only knows up to "
                f"{target}: upgrade flint-sdk to open it"
            )
        applied = []
        for version in range(current + 1, target + 1):
            for statement in migrations[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version VALUES (?, ?)", [version, int(time.time())]
            )
            applied.append(version)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied


def check_readable(conn: duckdb.DuckDBPyConnection, path: str) -> None:
    """Raise :class:`SchemaVersionError` unless ``conn`` holds exactly this flint's schema."""
    found = schema_version(conn)
    if found == SCHEMA_VERSION:
        return
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} has schema version {found}, newer than this flint's {SCHEMA_VERSION}: "
            f"upgrade flint-sdk to read it"
        )
    raise SchemaVersionError(
        f"{path} has schema version {found}, older than this flint's {SCHEMA_VERSION}: "
        f"open it once for writing to migrate it (`flint data migrate`, or FlintStore(path)), "
        f"then read it"
    )
