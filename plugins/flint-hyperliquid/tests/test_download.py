"""`flint data download` from the fake Hyperliquid: the real files row for row, idempotent,
resumable after kill -9, any split equal to one call, offline fails fast."""

import signal
import subprocess
import time

import pytest
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.store import FlintStore
from flint.testing.downloads import DownloadCommandContract, fetch_in_calls
from flint.testing.venues import stored_rows

COINS = ("SOL", "BTC", "ETH")


class TestHyperliquidDownload(DownloadCommandContract):
    venue = "hyperliquid"
    markets = tuple(f"{coin}-PERP" for coin in COINS)
    year = ("2024-07-26", "2025-07-26")  # the files hold 2024-09-04 .. 2025-07-26 of 1h candles
    year_candles = 7793
    venue_gives_intervals = False
    config = "    history_limit: null\n"  # a mirror that keeps all history
    unknown_market = "DOGE-PERP"
    unknown_market_error = (
        "hyperliquid has no market 'DOGE-PERP'; its markets: BTC-PERP, ETH-PERP, SOL-PERP")

    def make_fake(self, data):
        return FakeHyperliquid.from_data(data, coins=COINS, candle_window=None)

    def environment(self, url):
        return {"FLINT_HYPERLIQUID_API_URL": url}

    def expected_files(self, data):
        return "hyperliquid", [data / f"hyperliquid-{coin}-{kind}.csv" for coin in COINS
                               for kind in ("3600", "funding")]

    def offline_error(self, url):
        return f"Error: cannot reach Hyperliquid at {url}/info"

    def rows(self, db):
        return stored_rows(db, self.venue, self.markets)

    def test_kill_9_mid_download_then_the_same_command_ends_identical(self, fake, workdir,
                                                                         bounded):
        bounded(300)
        folder, env = workdir
        whole = folder / "whole.duckdb"
        subprocess.run(self.command(whole), cwd=folder, env=env, check=True, capture_output=True,
                       timeout=240)
        fake.reset_log()
        fake.latency_s = 0.05
        killed = folder / "killed.duckdb"
        process = subprocess.Popen(self.command(killed), cwd=folder, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while fake.count_type("fundingHistory") < 12 and time.monotonic() < deadline:
                assert process.poll() is None, "the download ended before it could be killed"
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        partial = self.rows(killed)
        assert partial != self.rows(whole)  # killed mid-way: not everything was there
        fake.latency_s = 0.0
        subprocess.run(self.command(killed), cwd=folder, env=env, check=True, capture_output=True,
                       timeout=240)
        assert self.rows(killed) == self.rows(whole)
        with FlintStore(killed, read_only=True) as a, FlintStore(whole, read_only=True) as b:
            assert a.coverage_summary().keys() == b.coverage_summary().keys()


SPAN = (1738368000, 1743465600)  # February and March 2025: one candle page, 3 funding pages


def fetch(fake, bounds):
    provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)
    return fetch_in_calls(provider, "hyperliquid", "SOL-PERP", bounds, now=lambda: fake.now)


@pytest.fixture(scope="module")
def module_fake(flint_test_data):
    if not (flint_test_data / "hyperliquid-SOL-3600.csv").is_file():
        pytest.skip(f"no Hyperliquid data in {flint_test_data}")
    with FakeHyperliquid.from_data(flint_test_data, coins=("SOL",), candle_window=None) as server:
        yield server, fetch(server, list(SPAN))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(SPAN[0], SPAN[1]), min_size=1, max_size=4))
def test_any_split_into_download_calls_stores_what_one_call_stores(module_fake, cuts):
    fake, whole = module_fake
    assert fetch(fake, [SPAN[0], *sorted(cuts), SPAN[1]]) == whole
