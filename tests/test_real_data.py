"""Real market data (../shared/data) through the file provider, the store and Parquet."""

import csv
import gzip
from collections import Counter

import numpy as np
import pytest

from flint.providers.files import FileProvider
from flint.store import FlintStore

H = 3600


def _read_csv(path):
    """Columns of a CSV parsed with the csv module and float(): independent of pyarrow."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: np.array([int(r[name]) if name == "ts" else float(r[name]) for r in rows])
        for name in rows[0]
    }


def _same_store(a, b):
    """Every table of two stores holds the same rows, bit for bit."""
    summary = a.summary()
    assert summary == b.summary()
    for s in summary:
        if s.kind == "candles":
            x = a.query_candles(s.market, s.resolution_s, venue=s.venue)
            y = b.query_candles(s.market, s.resolution_s, venue=s.venue)
            for column in ("timestamps", "opens", "highs", "lows", "closes", "volumes"):
                assert getattr(x, column).tobytes() == getattr(y, column).tobytes(), s
        elif s.kind == "funding":
            assert a.query_funding_rates(s.market, venue=s.venue) == b.query_funding_rates(
                s.market, venue=s.venue)
        elif s.kind == "open_interest":
            assert a.query_open_interest(s.market, venue=s.venue) == b.query_open_interest(
                s.market, venue=s.venue)


@pytest.fixture(scope="module")
def imported(flint_test_data, tmp_path_factory):
    """Every file of the shared data imported into one store, then exported to Parquet."""
    root = tmp_path_factory.mktemp("real")
    provider = FileProvider(flint_test_data)
    with FlintStore(root / "store.duckdb") as store:
        loaded = provider.load_into(store)
        store.export_parquet(root / "export")
    return loaded, root


def test_every_candle_and_funding_file_is_imported_exactly(flint_test_data, imported):
    loaded, root = imported
    top_level = sorted(p.name for p in flint_test_data.iterdir() if ".csv" in p.name)
    assert sorted(f.path.name for f, _ in loaded) == top_level
    assert {f.kind for f, _ in loaded} == {"candles", "funding", "open_interest"}
    with FlintStore(root / "store.duckdb", read_only=True) as store:
        for data_file, rows in loaded:
            source = _read_csv(data_file.path)
            assert rows == len(source["ts"]) or data_file.kind == "open_interest", data_file
            if data_file.kind == "candles":
                stored = store.query_candles(
                    data_file.market, data_file.resolution_s, venue=data_file.venue
                )
                assert stored.timestamps.tolist() == source["ts"].tolist(), data_file
                for column, name in (("opens", "open"), ("highs", "high"), ("lows", "low"),
                                     ("closes", "close"), ("volumes", "volume")):
                    assert getattr(stored, column).tobytes() == source[name].tobytes(), data_file
            elif data_file.kind == "funding":
                stored = store.query_funding_rates(data_file.market, venue=data_file.venue)
                assert [r.ts for r in stored] == source["ts"].tolist()
                assert np.array([r.rate for r in stored]).tobytes() == source["rate"].tobytes()


def test_the_parquet_export_imports_back_identically(imported, tmp_path):
    _, root = imported
    with FlintStore(tmp_path / "again.duckdb") as again:
        loaded = FileProvider(root / "export").load_into(again)
        assert {f.kind for f, _ in loaded} == {"candles", "funding", "open_interest"}
        with FlintStore(root / "store.duckdb", read_only=True) as original:
            _same_store(original, again)


def test_funding_intervals_follow_each_venues_schedule(imported):
    _, root = imported
    with FlintStore(root / "store.duckdb", read_only=True) as store:
        # Binance BTC: 8 h throughout.
        assert {r.interval_s for r in store.query_funding_rates("BTC-PERP", venue="binance")} == {
            8 * H}
        # Binance SOL, Nov 2022 (note B3): 4 h, then 2 h, for 101 settlements.
        sol = Counter(r.interval_s for r in store.query_funding_rates("SOL-PERP", venue="binance"))
        assert sol[4 * H] + sol[2 * H] == 101 and set(sol) == {8 * H, 4 * H, 2 * H}
        # Hyperliquid (note H2): 82 settlements every 8 h, then hourly; missed hours stay 1 h.
        for market in ("BTC-PERP", "ETH-PERP", "SOL-PERP"):
            rates = store.query_funding_rates(market, venue="hyperliquid")
            assert Counter(r.interval_s for r in rates) == {8 * H: 82, H: len(rates) - 82}
            assert all(r.interval_s == 8 * H for r in rates[:82])


def test_gaps_of_the_spot_files_match_the_data_readme(imported):
    _, root = imported
    with FlintStore(root / "store.duckdb", read_only=True) as store:
        gaps = {(s.venue, s.market): (s.gaps, s.missing) for s in store.summary()
                if s.kind == "candles" and s.gaps}
        assert gaps == {
            ("binance_spot", "BTC-USDT"): (27, 122),
            ("binance_spot", "ETH-USDT"): (27, 122),
            ("binance_spot", "SOL-USDT"): (10, 20),
        }
        missing = store.candle_gaps("SOL-USDT", H, venue="binance_spot")
        assert sum(g.missing for g in missing) == 20
        assert not store.is_range_synced("SOL-USDT", H, missing[0].start_ts,
                                         missing[0].end_ts, venue="binance_spot")
