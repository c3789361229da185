"""The Drift provider against the fake Drift Data API and DLOB server: paging, both funding
shapes, books, endpoints, faults.

The fake serves flint's real Hyperliquid files re-labelled as Drift (the project has no
Drift data), so every row fetched is compared with the files exactly.
"""


import pytest
from flint_drift.plugin import PROVIDER_CAPABILITIES
from flint_drift.provider import DriftProvider, funding_rate
from flint_drift.testing import FakeDrift

from flint.config import FlintConfig
from flint.providers import ProviderRegistry
from flint.providers.errors import (
    HistoryUnavailable,
    UnknownMarket,
    VenueBanned,
    VenueError,
)
from flint.testing.data_files import data_columns
from flint.testing.fakes import Fault
from flint.testing.provider_faults import ProviderFaultContract
from flint.testing.venues import FAST_RETRY
from flint.testing.venues import assert_same_candles as same_candles

H = 3600
JANUARY = (1735689600, 1738368000)  # 2025, half-open


def provider(fake, cls=DriftProvider, **options):
    options = {"rate_limit": False, "retry": FAST_RETRY, "timeout_s": 2.0, **options}
    return cls(fake.url, fake.url, clock=lambda: fake.now, **options)


@pytest.fixture
def fake(fake_data):
    with FakeDrift.from_data(fake_data) as server:
        yield server


def test_registered_through_the_hook_with_its_venue_and_capabilities():
    registry = ProviderRegistry()
    assert registry.venues()["drift"] == "drift"
    assert registry.capabilities("drift") == PROVIDER_CAPABILITIES == DriftProvider.capabilities
    assert isinstance(registry.create("drift"), DriftProvider)


def test_seed_paths_reexport_the_plugin():
    from flint.providers.drift_candles import DriftCandleProvider
    from flint.providers.funding_rates import DriftFundingProvider

    assert DriftCandleProvider is DriftFundingProvider is DriftProvider


def test_endpoints_come_from_the_environment_over_flint_yaml(monkeypatch):
    config = FlintConfig(venues={"drift": {"data_api_url": "http://yaml:1",
                                           "dlob_url": "http://yaml:2/"}})
    p = DriftProvider(config=config)
    assert (p.data_api_url, p.dlob_url) == ("http://yaml:1", "http://yaml:2")
    monkeypatch.setenv("FLINT_DRIFT_DATA_API_URL", "http://env:3")
    monkeypatch.setenv("FLINT_DRIFT_DLOB_URL", "http://env:4")
    p = DriftProvider(config=config)
    assert (p.data_api_url, p.dlob_url) == ("http://env:3", "http://env:4")
    monkeypatch.delenv("FLINT_DRIFT_DATA_API_URL")
    monkeypatch.delenv("FLINT_DRIFT_DLOB_URL")
    p = DriftProvider(config=FlintConfig())
    assert (p.data_api_url, p.dlob_url) == ("https://data.api.drift.trade",
                                            "https://dlob.drift.trade")


def test_candles_come_at_most_1000_an_answer(fake, fake_data):
    expected = data_columns(fake_data / "hyperliquid-SOL-3600.csv")
    with provider(fake) as p:
        candles = p.fetch_candles("SOL-PERP", H, int(expected["ts"][0]), int(fake.now))
    same_candles(candles, expected)
    assert fake.count_kind("candles") == -(-len(expected["ts"]) // 1000)
    assert candles.venue == "drift" and candles.market == "SOL-PERP"


def test_a_full_answer_short_of_its_window_is_followed_backwards(fake, fake_data):
    expected = data_columns(fake_data / "hyperliquid-ETH-3600.csv")
    fake.overlap_next("candles", rows=5)  # 1000 records, 5 newer than asked
    with provider(fake) as p:
        candles = p.fetch_candles("ETH", H, int(expected["ts"][0]), int(fake.now))
    same_candles(candles, expected)
    windows = -(-len(expected["ts"]) // 1000)
    assert fake.count_kind("candles") == windows + 1
    first, second = (int(r.path.split("startTs=")[1].split("&")[0]) for r in fake.requests[:2])
    assert second == first - 995 * H  # ends before the oldest record of the first answer


def test_funding_comes_a_day_an_answer_as_the_files_hourly_rates(fake, fake_data):
    table = data_columns(fake_data / "hyperliquid-BTC-funding.csv")
    ts, rates = table["ts"], table["rate"]
    keep = (ts >= JANUARY[0]) & (ts < JANUARY[1])
    with provider(fake) as p:
        funding = p.fetch_funding("BTC-PERP", JANUARY[0], JANUARY[1] - 1)
    assert [(r.ts, r.rate) for r in funding] == list(zip(ts[keep].tolist(), rates[keep].tolist(),
                                                         strict=True))
    assert {(r.source, r.interval_s, r.oracle_price) for r in funding} == {("drift", H, 10.0)}
    assert fake.count_kind("fundingRates") == 31


def test_the_day_not_over_yet_comes_from_the_live_list_not_the_archive(fake, fake_data):
    table = data_columns(fake_data / "hyperliquid-SOL-funding.csv")
    ts, rates = table["ts"], table["rate"]
    fake.now = float(ts[-1] + 60)  # a minute after the last settlement
    today = int(fake.now) // 86400 * 86400
    with provider(fake) as p:
        funding = p.fetch_funding("SOL-PERP", today - 86400, int(fake.now))
    keep = ts >= today - 86400
    assert [(r.ts, r.rate) for r in funding] == list(zip(ts[keep].tolist(), rates[keep].tolist(),
                                                         strict=True))
    paths = [r.path for r in fake.requests]
    assert len(paths) == 2 and paths[0].startswith("/market/SOL-PERP/fundingRates/")
    assert paths[1] == "/fundingRates?marketName=SOL-PERP"


def test_funding_in_the_human_units_shape_gives_the_same_rates(fake_data):
    table = data_columns(fake_data / "hyperliquid-SOL-funding.csv")
    ts, rates = table["ts"], table["rate"]
    keep = (ts >= JANUARY[0]) & (ts < JANUARY[1])
    with FakeDrift.from_data(fake_data, coins=("SOL",), funding_shape="human") as fake, \
            provider(fake) as p:
        funding = p.fetch_funding("SOL-PERP", JANUARY[0], JANUARY[1] - 1)
    assert [(r.ts, r.rate) for r in funding] == list(zip(ts[keep].tolist(), rates[keep].tolist(),
                                                         strict=True))


def test_the_hourly_rate_is_funding_over_the_oracle_twap():
    # 0.001875 USD per SOL an hour at a 150 USD oracle TWAP: 0.00125 % an hour
    raw = {"ts": "1700000000", "slot": 7, "fundingRate": "1875000",
           "oraclePriceTwap": "150000000", "markPriceTwap": "150100000"}
    rate = funding_rate("SOL-PERP", raw)
    assert (rate.ts, rate.rate, rate.oracle_price, rate.mark_price, rate.slot) == (
        1700000000, 1.25e-05, 150.0, 150.1, 7)
    human = {"ts": 1700000000, "fundingRate": "0.001875", "oraclePrice": 150.0}
    assert funding_rate("SOL-PERP", human).rate == 1.25e-05
    with pytest.raises(VenueError, match="neither documented shape"):
        funding_rate("SOL-PERP", {"ts": 1, "fundingRate": "5"})


def test_the_current_l2_book_from_the_dlob_server(fake):
    with provider(fake, book_depth=5) as p:
        now = int(fake.now)
        [book] = p.fetch_orderbook("ETH-PERP", now, now)
        assert (book.market, book.venue, book.ts) == ("ETH-PERP", "drift", now)
        assert len(book.bids) == len(book.asks) == 5 and book.best_bid < book.best_ask
        assert book.bids[0].size == 1.5
        assert "depth=5" in fake.requests[-1].path and "marketName=ETH-PERP" in (
            fake.requests[-1].path)
        with pytest.raises(HistoryUnavailable, match="only the current order book"):
            p.fetch_orderbook("ETH-PERP", now - 86400, now)


def test_unknown_markets_and_resolutions_are_clear_errors_without_a_request(fake):
    with provider(fake) as p:
        with pytest.raises(UnknownMarket, match="drift has no market 'DOGGO-PERP'; its markets: "
                                                "SOL-PERP, BTC-PERP, ETH-PERP"):
            p.fetch_candles("DOGGO-PERP", H, 0, 10 * H)
        with pytest.raises(ValueError, match="no 7200 s candles"):
            p.fetch_candles("SOL-PERP", 7200, 0, 10 * H)
    assert fake.count() == 0


# Faults: each bounded in time, none loses or duplicates a row


class TestDriftFaults(ProviderFaultContract):
    venue = "drift"
    span = JANUARY
    endpoints = {"candles": "candles", "funding": "funding"}
    requests_without_faults = 1 + 31  # one answer of candles, one a day of funding
    candle_pages = 1
    overlap_rows = {"candles": 5, "funding": 4}  # newer candles; the previous day's rates

    def make_provider(self, url, **options):
        return DriftProvider(url, url, **{"rate_limit": False, **options})

    def make_fake(self, data, **options):
        return FakeDrift.from_data(data, coins=("SOL",), **options)

    def files(self, data):
        return data / "hyperliquid-SOL-3600.csv", data / "hyperliquid-SOL-funding.csv"

    def request_of(self, kind):
        path = {"candles": "/candles", "funding": "/fundingRates"}[kind]
        return lambda r: path in r.path

    def offline_error(self, url):
        return f"cannot reach the Drift Data API at {url}/market/SOL-PERP/candles/60"


def test_418_with_a_long_ban_stops_at_once(fake, bounded):
    bounded(30)
    fake.inject(Fault.status_code(418, retry_after=600))
    with provider(fake) as p, pytest.raises(VenueBanned, match="HTTP 418"):
        p.fetch_candles("SOL-PERP", H, *JANUARY)
    assert fake.count() == 1
