"""`flint data download --venue drift` from the fake Drift: the served year row for row,
a second run asks nothing, unknown markets are named, offline fails fast.

The fake serves flint's real Hyperliquid files re-labelled as Drift (the project has no
Drift data), so the stored rows are compared with those files as `flint data import`
reads them.
"""

from flint_drift.testing import FakeDrift

from flint.testing.downloads import DownloadCommandContract

COINS = ("SOL", "BTC", "ETH")


class TestDriftDownload(DownloadCommandContract):
    venue = "drift"
    markets = tuple(f"{coin}-PERP" for coin in COINS)
    year = ("2024-07-26", "2025-07-26")  # the files hold 2024-09-04 .. 2025-07-26 of 1h candles
    year_candles = 7793
    venue_gives_intervals = False
    unknown_market_error = (
        "drift has no market 'DOGGO-PERP'; its markets: SOL-PERP, BTC-PERP, ETH-PERP")

    def make_fake(self, data):
        return FakeDrift.from_data(data, coins=COINS)

    def environment(self, url):
        return {"FLINT_DRIFT_DATA_API_URL": url, "FLINT_DRIFT_DLOB_URL": url}

    def expected_files(self, data):
        return "hyperliquid", [data / f"hyperliquid-{coin}-{kind}.csv" for coin in COINS
                               for kind in ("3600", "funding")]

    def offline_error(self, url):
        return f"Error: cannot reach the Drift Data API at {url}/market/SOL-PERP/"

    def test_an_unknown_market_asks_the_venue_nothing(self, fake, workdir):
        self.test_an_unknown_market_lists_the_venues_markets(fake, workdir)
        assert fake.count() == 0
