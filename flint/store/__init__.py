"""The DuckDB store of market data, strategies and backtest runs.

    from flint.store import FlintStore

    with FlintStore("./data/flint.duckdb") as store:
        candles = store.query_candles("SOL-PERP", 3600)
"""

from flint.store.batches import RESOLUTIONS
from flint.store.errors import (
    InvalidRowError,
    NoCandlesError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
)
from flint.store.schema import SCHEMA_VERSION
from flint.store.store import (
    COVERAGE_STATUSES,
    STRATEGY_STATUSES,
    CoverageSpan,
    FlintStore,
    Gap,
    SeriesSummary,
)

__all__ = [
    "COVERAGE_STATUSES",
    "RESOLUTIONS",
    "SCHEMA_VERSION",
    "STRATEGY_STATUSES",
    "CoverageSpan",
    "FlintStore",
    "Gap",
    "InvalidRowError",
    "NoCandlesError",
    "SchemaVersionError",
    "SeriesSummary",
    "StoreClosedError",
    "StoreError",
    "StoreLockedError",
]
