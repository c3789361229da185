"""`flint data download` from the fake Hyperliquid: the real files row for row, idempotent,
resumable after kill -9, any split equal to one call, offline fails fast."""

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.providers.download import Series, download
from flint.store import FlintStore
from flint.testing.venues import file_rows, stored_rows, unused_port

H = 3600
COINS = ("SOL", "BTC", "ETH")
YEAR = ("2024-07-26", "2025-07-26")  # the files hold 2024-09-04 .. 2025-07-26 of 1h candles
YEAR_TS = (1721952000, 1753574399)
FLINT = str(Path(sys.executable).parent / "flint")


MARKETS = [f"{coin}-PERP" for coin in COINS]


def rows(db):
    return stored_rows(db, "hyperliquid", MARKETS)


def expected_rows(data, tmp_path):
    files = [data / f"hyperliquid-{coin}-{kind}.csv" for coin in COINS
             for kind in ("3600", "funding")]
    return file_rows(files, tmp_path / "files.duckdb", "hyperliquid", MARKETS, YEAR_TS)


def command(db, *extra):
    markets = [arg for coin in COINS for arg in ("--market", f"{coin}-PERP")]
    return [FLINT, "data", "download", "--venue", "hyperliquid", *markets, "--start", YEAR[0],
            "--end", YEAR[1], "--db", str(db), *extra]


@pytest.fixture
def fake(fake_data):
    with FakeHyperliquid.from_data(fake_data, coins=COINS, candle_window=None) as server:
        yield server


@pytest.fixture
def workdir(tmp_path, fake):
    """A folder with a flint.yaml for a mirror that keeps all history, and the environment
    pointing flint at the fake."""
    (tmp_path / "flint.yaml").write_text(
        "providers:\n  hyperliquid:\n    history_limit: null\n    rate_limit: false\n"
    )
    env = {**os.environ, "FLINT_HYPERLIQUID_API_URL": fake.url, "FLINT_CONFIG": "",
           "COLUMNS": "200"}
    return tmp_path, env


def test_a_year_of_candles_and_funding_equals_the_files_and_a_second_run_asks_nothing(
        fake, fake_data, workdir, bounded):
    bounded(300)
    folder, env = workdir
    db = folder / "hl.duckdb"
    done = subprocess.run(command(db), cwd=folder, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    expected = expected_rows(fake_data, folder)
    got = rows(db)
    for market in expected:
        assert len(got[market][0]) == 7793
        assert got[market][0] == expected[market][0], market
        assert [f[:2] for f in got[market][1]] == [f[:2] for f in expected[market][1]], market
        # intervals observed from the spacing: as an import of the whole file says, except
        # where the year cuts the file (its first settlements have no earlier neighbours)
        assert got[market][1][3:] == expected[market][1][3:], market
    fake.reset_log()
    again = subprocess.run(command(db), cwd=folder, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert fake.count() == 0
    assert "up to date" in again.stdout


def test_kill_9_mid_download_then_the_same_command_ends_identical(fake, workdir, bounded):
    bounded(300)
    folder, env = workdir
    whole = folder / "whole.duckdb"
    subprocess.run(command(whole), cwd=folder, env=env, check=True, capture_output=True,
                   timeout=240)
    fake.reset_log()
    fake.latency_s = 0.05
    killed = folder / "killed.duckdb"
    process = subprocess.Popen(command(killed), cwd=folder, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while fake.count_type("fundingHistory") < 12 and time.monotonic() < deadline:
            assert process.poll() is None, "the download ended before it could be killed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    partial = rows(killed)
    assert partial != rows(whole)  # killed mid-way: not everything was there
    fake.latency_s = 0.0
    subprocess.run(command(killed), cwd=folder, env=env, check=True, capture_output=True,
                   timeout=240)
    assert rows(killed) == rows(whole)
    with FlintStore(killed, read_only=True) as a, FlintStore(whole, read_only=True) as b:
        assert a.coverage_summary().keys() == b.coverage_summary().keys()


def test_offline_the_command_ends_fast_with_one_line_naming_the_endpoint(tmp_path, bounded):
    bounded(30)
    port = unused_port()
    env = {**os.environ, "FLINT_HYPERLIQUID_API_URL": f"http://127.0.0.1:{port}",
           "FLINT_CONFIG": ""}
    started = time.monotonic()
    done = subprocess.run([FLINT, "data", "download", "--venue", "hyperliquid", "--db",
                           str(tmp_path / "x.duckdb")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=25, check=False)
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: cannot reach Hyperliquid at http://127.0.0.1:{port}/info")


def test_an_unknown_market_lists_the_venues_markets(fake, workdir):
    folder, env = workdir
    done = subprocess.run([FLINT, "data", "download", "--venue", "hyperliquid", "--market",
                           "DOGE-PERP", "--db", str(folder / "x.duckdb")], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert "hyperliquid has no market 'DOGE-PERP'; its markets: BTC-PERP, ETH-PERP, SOL-PERP" in (
        done.stderr
    )


SPAN = (1738368000, 1743465600)  # February and March 2025: one candle page, 3 funding pages


def store_rows(store):
    candles = store.query_candles("SOL-PERP", H, venue="hyperliquid")
    funding = store.query_funding_rates("SOL-PERP", venue="hyperliquid")
    return (candles.timestamps.tolist(), candles.closes.tolist(),
            [(r.ts, r.rate, r.interval_s) for r in funding], store.coverage_summary())


def fetch_in_calls(fake, bounds):
    provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)
    with FlintStore(":memory:") as store, provider:
        for a, b in itertools.pairwise(bounds):
            for series in (Series("hyperliquid", "SOL-PERP", "candles", H),
                           Series("hyperliquid", "SOL-PERP", "funding")):
                download(store, provider, series, a, b, now=lambda: fake.now)
        return store_rows(store)


@pytest.fixture(scope="module")
def module_fake(flint_test_data):
    if not (flint_test_data / "hyperliquid-SOL-3600.csv").is_file():
        pytest.skip(f"no Hyperliquid data in {flint_test_data}")
    with FakeHyperliquid.from_data(flint_test_data, coins=("SOL",), candle_window=None) as server:
        yield server, fetch_in_calls(server, list(SPAN))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(SPAN[0], SPAN[1]), min_size=1, max_size=4))
def test_any_split_into_download_calls_stores_what_one_call_stores(module_fake, cuts):
    fake, whole = module_fake
    assert fetch_in_calls(fake, [SPAN[0], *sorted(cuts), SPAN[1]]) == whole
