"""`flint data download --venue binance` from the fake Binance USD-M: a year of the real
files row for row, idempotent, offline fails fast; any split equal to one call."""

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.providers.download import Series, download
from flint.store import FlintStore
from flint.testing.venues import file_rows, stored_rows, unused_port

H = 3600
SYMBOLS = {"SOL-PERP": "SOLUSDT", "BTC-PERP": "BTCUSDT", "ETH-PERP": "ETHUSDT"}
YEAR = ("2025-01-01", "2025-12-31")
YEAR_TS = (1735689600, 1767225599)
FLINT = str(Path(sys.executable).parent / "flint")


def rows(db):
    return stored_rows(db, "binance", SYMBOLS)


def expected_rows(data, tmp_path):
    files = [data / f"binance-{symbol}-{kind}.csv" for symbol in SYMBOLS.values()
             for kind in ("3600", "funding")]
    return file_rows(files, tmp_path / "files.duckdb", "binance", SYMBOLS, YEAR_TS)


def command(db, *extra):
    markets = [arg for market in SYMBOLS for arg in ("--market", market)]
    return [FLINT, "data", "download", "--venue", "binance", *markets, "--start", YEAR[0],
            "--end", YEAR[1], "--db", str(db), *extra]


@pytest.fixture
def fake(fake_data):
    with FakeBinance.from_data(fake_data, symbols=tuple(SYMBOLS.values())) as server:
        yield server


@pytest.fixture
def workdir(tmp_path, fake):
    """A folder with a flint.yaml turning rate limiting off, and the environment pointing
    flint at the fake."""
    (tmp_path / "flint.yaml").write_text("providers:\n  binance:\n    rate_limit: false\n")
    env = {**os.environ, "FLINT_BINANCE_API_URL": fake.url, "FLINT_CONFIG": "",
           "COLUMNS": "200"}
    return tmp_path, env


def test_a_year_of_candles_and_funding_equals_the_files_and_a_second_run_asks_nothing(
        fake, fake_data, workdir, bounded):
    bounded(300)
    folder, env = workdir
    db = folder / "binance.duckdb"
    done = subprocess.run(command(db), cwd=folder, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    expected = expected_rows(fake_data, folder)
    got = rows(db)
    for market in SYMBOLS:
        assert len(got[market][0]) == 8760
        assert len(got[market][1]) == 1095
        assert got[market] == expected[market], market
    assert fake.count_path("klines") == 3 * 6  # 8760 candles: 6 pages of at most 1500
    fake.reset_log()
    again = subprocess.run(command(db), cwd=folder, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert fake.count() == 0
    assert "up to date" in again.stdout


def test_open_interest_older_than_30_days_is_named_not_truncated(fake, workdir):
    folder, env = workdir
    done = subprocess.run([FLINT, "data", "download", "--venue", "binance", "--market",
                           "BTC-PERP", "--kind", "open_interest", "--period", "60d", "--db",
                           str(folder / "oi.duckdb")], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "keeps only the last 30 days of open interest of BTC-PERP" in done.stdout


def test_offline_the_command_ends_fast_with_one_line_naming_the_endpoint(tmp_path, bounded):
    bounded(30)
    port = unused_port()
    env = {**os.environ, "FLINT_BINANCE_API_URL": f"http://127.0.0.1:{port}",
           "FLINT_CONFIG": ""}
    started = time.monotonic()
    done = subprocess.run([FLINT, "data", "download", "--venue", "binance", "--market",
                           "SOL-PERP", "--db", str(tmp_path / "x.duckdb")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=25, check=False)
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: cannot reach binance at http://127.0.0.1:{port}")


SPAN = (1667260800, 1675209600)  # Nov 2022 .. Jan 2023: SOL funding 8 h -> 4 h -> 2 h -> 8 h


def store_rows(store):
    candles = store.query_candles("SOL-PERP", H, venue="binance")
    funding = store.query_funding_rates("SOL-PERP", venue="binance")
    return (candles.timestamps.tolist(), candles.closes.tolist(),
            [(r.ts, r.rate, r.interval_s) for r in funding], store.coverage_summary())


def fetch_in_calls(fake, bounds):
    provider = BinanceProvider(fake.url, rate_limit=False, clock=lambda: fake.now)
    with FlintStore(":memory:") as store, provider:
        for a, b in itertools.pairwise(bounds):
            for series in (Series("binance", "SOL-PERP", "candles", H),
                           Series("binance", "SOL-PERP", "funding")):
                download(store, provider, series, a, b, now=lambda: fake.now)
        return store_rows(store)


@pytest.fixture(scope="module")
def module_fake(flint_test_data):
    if not (flint_test_data / "binance-SOLUSDT-3600.csv").is_file():
        pytest.skip(f"no Binance data in {flint_test_data}")
    with FakeBinance.from_data(flint_test_data, symbols=("SOLUSDT",)) as server:
        yield server, fetch_in_calls(server, list(SPAN))


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(SPAN[0], SPAN[1]), min_size=1, max_size=4))
def test_any_split_into_download_calls_stores_what_one_call_stores(module_fake, cuts):
    fake, whole = module_fake
    assert fetch_in_calls(fake, [SPAN[0], *sorted(cuts), SPAN[1]]) == whole
