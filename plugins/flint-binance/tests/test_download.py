"""`flint data download --venue binance` from the fake Binance USD-M: a year of the real
files row for row, idempotent, offline fails fast; any split equal to one call."""

import subprocess

import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.testing.downloads import FLINT, DownloadCommandContract, fetch_in_calls

SYMBOLS = {"SOL-PERP": "SOLUSDT", "BTC-PERP": "BTCUSDT", "ETH-PERP": "ETHUSDT"}


class TestBinanceDownload(DownloadCommandContract):
    venue = "binance"
    markets = tuple(SYMBOLS)
    year = ("2025-01-01", "2025-12-31")
    year_candles = 8760
    unknown_market_error = "binance has no market 'DOGGO-PERP'"

    def make_fake(self, data):
        return FakeBinance.from_data(data, symbols=tuple(SYMBOLS.values()))

    def environment(self, url):
        return {"FLINT_BINANCE_API_URL": url}

    def expected_files(self, data):
        return "binance", [data / f"binance-{symbol}-{kind}.csv" for symbol in SYMBOLS.values()
                           for kind in ("3600", "funding")]

    def offline_error(self, url):
        return f"Error: cannot reach binance at {url}"

    def check_requests(self, fake):
        assert fake.count_path("klines") == 3 * 6  # 8760 candles: 6 pages of at most 1500

    def test_open_interest_older_than_30_days_is_named_not_truncated(self, fake, workdir):
        folder, env = workdir
        done = subprocess.run([FLINT, "data", "download", "--venue", "binance", "--market",
                               "BTC-PERP", "--kind", "open_interest", "--period", "60d", "--db",
                               str(folder / "oi.duckdb")], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "keeps only the last 30 days of open interest of BTC-PERP" in done.stdout


SPAN = (1667260800, 1675209600)  # Nov 2022 .. Jan 2023: SOL funding 8 h -> 4 h -> 2 h -> 8 h


def fetch(fake, bounds):
    provider = BinanceProvider(fake.url, rate_limit=False, clock=lambda: fake.now)
    return fetch_in_calls(provider, "binance", "SOL-PERP", bounds, now=lambda: fake.now)


@pytest.fixture(scope="module")
def module_fake(flint_test_data):
    if not (flint_test_data / "binance-SOLUSDT-3600.csv").is_file():
        pytest.skip(f"no Binance data in {flint_test_data}")
    with FakeBinance.from_data(flint_test_data, symbols=("SOLUSDT",)) as server:
        yield server, fetch(server, list(SPAN))


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(SPAN[0], SPAN[1]), min_size=1, max_size=4))
def test_any_split_into_download_calls_stores_what_one_call_stores(module_fake, cuts):
    fake, whole = module_fake
    assert fetch(fake, [SPAN[0], *sorted(cuts), SPAN[1]]) == whole
