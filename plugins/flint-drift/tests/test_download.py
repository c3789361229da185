"""`flint data download --venue drift` from the fake Drift: the served year row for row,
a second run asks nothing, unknown markets are named.

The fake serves flint's real Hyperliquid files re-labelled as Drift (the project has no
Drift data), so the stored rows are compared with those files as `flint data import`
reads them.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flint_drift.testing import FakeDrift

from flint.testing.venues import file_rows, stored_rows, unused_port

H = 3600
COINS = ("SOL", "BTC", "ETH")
YEAR = ("2024-07-26", "2025-07-26")  # the files hold 2024-09-04 .. 2025-07-26 of 1h candles
YEAR_TS = (1721952000, 1753574399)
FLINT = str(Path(sys.executable).parent / "flint")


MARKETS = [f"{coin}-PERP" for coin in COINS]


def rows(db, venue):
    return stored_rows(db, venue, MARKETS)


def expected_rows(data, tmp_path):
    """The year's rows of the shared files the fake serves (Hyperliquid's, as Drift)."""
    files = [data / f"hyperliquid-{coin}-{kind}.csv" for coin in COINS
             for kind in ("3600", "funding")]
    return file_rows(files, tmp_path / "files.duckdb", "hyperliquid", MARKETS, YEAR_TS)


def command(db):
    markets = [arg for coin in COINS for arg in ("--market", f"{coin}-PERP")]
    return [FLINT, "data", "download", "--venue", "drift", *markets, "--start", YEAR[0],
            "--end", YEAR[1], "--db", str(db)]


@pytest.fixture
def fake(fake_data):
    with FakeDrift.from_data(fake_data, coins=COINS) as server:
        yield server


@pytest.fixture
def workdir(tmp_path, fake):
    """A folder with a flint.yaml turning rate limiting off, and the environment pointing
    flint at the fake."""
    (tmp_path / "flint.yaml").write_text("providers:\n  drift:\n    rate_limit: false\n")
    env = {**os.environ, "FLINT_DRIFT_DATA_API_URL": fake.url, "FLINT_DRIFT_DLOB_URL": fake.url,
           "FLINT_CONFIG": "", "COLUMNS": "200"}
    return tmp_path, env


def test_a_year_of_candles_and_funding_equals_the_files_and_a_second_run_asks_nothing(
        fake, fake_data, workdir, bounded):
    bounded(300)
    folder, env = workdir
    db = folder / "drift.duckdb"
    done = subprocess.run(command(db), cwd=folder, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    expected = expected_rows(fake_data, folder)
    got = rows(db, "drift")
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


def test_an_unknown_market_lists_the_venues_markets(fake, workdir):
    folder, env = workdir
    done = subprocess.run([FLINT, "data", "download", "--venue", "drift", "--market",
                           "DOGGO-PERP", "--db", str(folder / "x.duckdb")], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "drift has no market 'DOGGO-PERP'; its markets: SOL-PERP, BTC-PERP, ETH-PERP" in (
        done.stderr
    )
    assert fake.count() == 0


def test_offline_the_command_ends_fast_with_one_line_naming_the_endpoint(tmp_path, bounded):
    bounded(30)
    port = unused_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FLINT_DRIFT_DATA_API_URL": url, "FLINT_DRIFT_DLOB_URL": url,
           "FLINT_CONFIG": ""}
    started = time.monotonic()
    done = subprocess.run([FLINT, "data", "download", "--venue", "drift", "--market", "SOL-PERP",
                           "--db", str(tmp_path / "x.duckdb")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=25, check=False)
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: cannot reach the Drift Data API at {url}/market/SOL-PERP/")
