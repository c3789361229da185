"""Market snapshots (mark, oracle, open interest, current funding) in the store: schema
version 4, validated, replaced by key, exported and imported back."""

import duckdb
import pytest

from flint.models import MarketSnapshot
from flint.providers.files import FileProvider
from flint.store import FlintStore, InvalidRowError
from flint.store import schema as store_schema


def snap(ts, mark=150.0, venue="hyperliquid"):
    return MarketSnapshot("SOL-PERP", ts, mark, mark - 0.1, 12345.6, 1.25e-5, venue)


@pytest.fixture
def store(tmp_path):
    with FlintStore(tmp_path / "flint.duckdb") as s:
        yield s


def test_snapshots_are_stored_by_venue_market_and_second(store):
    assert store.upsert_market_snapshots([snap(10), snap(20), snap(10, 151.0)]) == 2
    assert store.upsert_market_snapshots([snap(20, mark=152.0)]) == 1  # replaced by key
    assert store.query_market_snapshots("SOL-PERP") == [snap(10, 151.0), snap(20, 152.0)]
    assert store.query_market_snapshots("SOL-PERP", venue="drift") == []
    assert store.upsert_market_snapshots([snap(20, mark=152.0)]) == 0  # nothing changed


@pytest.mark.parametrize("bad, message", [
    (MarketSnapshot("SOL-PERP", 5, 0.0, 1.0, 1.0, 0.0, "x"), "mark_price 0.0 must be > 0"),
    (MarketSnapshot("SOL-PERP", 5, 1.0, 1.0, -1.0, 0.0, "x"), "open_interest -1.0 must be >= 0"),
    (MarketSnapshot("SOL-PERP", 5, 1.0, 1.0, 1.0, float("nan"), "x"), "funding_rate is nan"),
])
def test_a_bad_snapshot_rejects_its_batch_whole(store, bad, message):
    with pytest.raises(InvalidRowError, match=message):
        store.upsert_market_snapshots([snap(1), bad])
    assert store.query_market_snapshots("SOL-PERP") == []


def test_a_version_3_store_gains_the_table_when_a_writer_opens_it(tmp_path):
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    assert store_schema.migrate(conn, store_schema.MIGRATIONS[:3]) == [1, 2, 3]
    conn.close()
    with FlintStore(path) as store:
        store.upsert_market_snapshots([snap(1)])
        assert store.query_market_snapshots("SOL-PERP") == [snap(1)]


def test_snapshots_survive_export_and_import(store, tmp_path):
    store.upsert_market_snapshots([snap(10), snap(20, venue="drift")])
    out = tmp_path / "export"
    assert store.export_parquet(out) == {"market_snapshots": 2}
    with FlintStore(tmp_path / "copy.duckdb") as copy:
        FileProvider(out).load_into(copy)
        assert copy.query_market_snapshots("SOL-PERP") == store.query_market_snapshots("SOL-PERP")
