"""The Binance provider through ccxt against the fake Binance USD-M: paging, names, the
30-day open-interest window, endpoints, faults."""

import subprocess
import sys
import time

import pytest
from flint_binance.plugin import PROVIDER_CAPABILITIES
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance

from flint.models import MarketSnapshot
from flint.providers import ProviderRegistry
from flint.providers.download import Series, download
from flint.providers.errors import HistoryUnavailable, UnknownMarket, VenueBanned
from flint.store import FlintStore
from flint.store.funding import funding_intervals
from flint.testing.data_files import data_columns
from flint.testing.fakes import Fault
from flint.testing.provider_faults import ProviderFaultContract
from flint.testing.venues import FAST_RETRY
from flint.testing.venues import assert_same_candles as same_candles

H = 3600


def provider(fake, **options):
    options = {"rate_limit": False, "retry": FAST_RETRY, "timeout_s": 2.0, **options}
    return BinanceProvider(fake.url, clock=lambda: fake.now, **options)


@pytest.fixture
def fake(fake_data):
    with FakeBinance.from_data(fake_data) as server:
        yield server


def test_registered_through_the_hook_with_its_venue_and_capabilities():
    registry = ProviderRegistry()
    assert registry.venues()["binance"] == "binance"
    assert registry.capabilities("binance") == PROVIDER_CAPABILITIES
    assert BinanceProvider.capabilities == PROVIDER_CAPABILITIES


def test_seed_path_reexports_the_plugin():
    from flint.providers.funding_rates import BinanceFundingProvider

    assert BinanceFundingProvider is BinanceProvider


def test_candles_come_1500_a_page_and_funding_1000(fake, fake_data):
    expected = data_columns(fake_data / "binance-SOLUSDT-3600.csv")
    start, end = 1704067200, 1735689599  # 2024: 8784 candles, 1098 settlements
    with provider(fake) as p:
        candles = p.fetch_candles("SOL-PERP", H, start, end)
        same_candles(candles, expected, start, end)
        assert fake.count_path("klines") == -(-8784 // 1500)
        funding = p.fetch_funding("SOL-PERP", start, end)
        ts_rates = data_columns(fake_data / "binance-SOLUSDT-funding.csv")
        keep = (ts_rates["ts"] >= start) & (ts_rates["ts"] <= end)
        assert [r.ts for r in funding] == ts_rates["ts"][keep].tolist()
        assert [r.rate for r in funding] == ts_rates["rate"][keep].tolist()
        # two full pages, then an empty answer, asked twice, says there is no more
        assert fake.count_path("fundingRate") == 4
        assert {(r.source, r.interval_s) for r in funding} == {("binance", 8 * H)}
    limits = [r.path for r in fake.requests if "/klines" in r.path or "/fundingRate" in r.path]
    assert all("limit=1500" in path for path in limits if "/klines" in path)
    assert all("limit=1000" in path for path in limits if "/fundingRate" in path)


def test_the_fake_refuses_pages_above_binances_caps(fake):
    import ccxt

    with provider(fake) as p:
        p.markets()
        with pytest.raises(ccxt.BadRequest, match="-1130"):
            p.client.exchange.fapiPublicGetKlines({"symbol": "SOLUSDT", "interval": "1h",
                                                   "limit": 1501})


def test_market_names_map_every_way_and_unknown_ones_list_the_markets(fake):
    with provider(fake) as p:
        assert p.markets() == ["BTC-PERP", "ETH-PERP", "SOL-PERP"]
        for name in ("SOL-PERP", "sol-perp", "SOL", "SOLUSDT", "SOL/USDT:USDT"):
            assert p.symbol(name) == "SOL/USDT:USDT"
            assert p.names.market(name) == "SOL-PERP"
        with pytest.raises(UnknownMarket, match="binance has no market 'DOGE-PERP'; its "
                                                "markets: BTC-PERP, ETH-PERP, SOL-PERP"):
            p.fetch_candles("DOGE-PERP", H, 0, 10 * H)
        with pytest.raises(ValueError, match="no 7 s candles"):
            p.fetch_candles("SOL-PERP", 7, 0, 10 * H)
        candles = p.fetch_candles("SOLUSDT", H, 1704067200, 1704067200 + 2 * H)
        assert candles.market == "SOL-PERP" and candles.venue == "binance"


def test_open_interest_is_served_for_the_last_30_days_only(fake_data):
    expected = data_columns(fake_data / "binance-BTCUSDT-oi-3600.csv")
    now = int(expected["ts"][-1]) + H
    with FakeBinance.from_data(fake_data, now=now) as fake, provider(fake) as p:
        rows = p.fetch_open_interest("BTC-PERP", int(expected["ts"][0]), now)
        assert [r.ts for r in rows] == expected["ts"].tolist()
        assert [r.long_oi for r in rows] == expected["long_oi"].tolist()
        assert {r.venue for r in rows} == {"binance"}
        asked = fake.count()
        with pytest.raises(HistoryUnavailable) as caught:
            p.fetch_open_interest("BTC-PERP", now - 31 * 86400, now)
        earliest = -(-(now - 30 * 86400) // H) * H
        assert caught.value.earliest_ts == earliest
        assert "keeps only the last 30 days of open interest of BTC-PERP" in str(caught.value)
        assert "earliest available time is 2026-04-15 02:00 UTC" in str(caught.value)
        assert fake.count() == asked  # refused before asking: nothing truncated silently


def test_a_download_older_than_30_days_stores_what_exists_and_says_what_not(fake_data):
    expected = data_columns(fake_data / "binance-BTCUSDT-oi-3600.csv")
    now = int(expected["ts"][-1]) + H
    with FakeBinance.from_data(fake_data, now=now) as fake, provider(fake) as p, \
            FlintStore(":memory:") as store:
        outcome = download(store, p, Series("binance", "BTC-PERP", "open_interest"),
                           now - 60 * 86400, now, now=lambda: fake.now)
        assert outcome.unavailable is not None
        assert "earliest available time" in outcome.note
        stored = store.query_open_interest("BTC-PERP", venue="binance")
        assert [r.ts for r in stored] == expected["ts"].tolist()


def test_mark_price_candles_and_the_current_book(fake, fake_data):
    expected = data_columns(fake_data / "binance-BTCUSDT-mark-3600.csv")
    start, end = 1735689600, 1735689600 + 2000 * H
    with provider(fake) as p:
        same_candles(p.fetch_mark_candles("BTC-PERP", H, start, end), expected, start, end)
        assert fake.count_path("markPriceKlines") == 2
        now = int(fake.now)
        [book] = p.fetch_orderbook("ETH-PERP", now, now)
        assert len(book.bids) == len(book.asks) == 10 and book.best_bid < book.best_ask
        assert (book.ts, book.venue, book.market) == (now, "binance", "ETH-PERP")
        with pytest.raises(HistoryUnavailable, match="only the current order book"):
            p.fetch_orderbook("ETH-PERP", now - 86400, now)


def test_the_market_snapshot_is_premium_index_and_open_interest(fake, fake_data):
    closes = data_columns(fake_data / "binance-ETHUSDT-3600.csv")["close"]
    rates = data_columns(fake_data / "binance-ETHUSDT-funding.csv")["rate"]
    with provider(fake) as p:
        snapshot = p.market_snapshot("ETHUSDT")
    assert snapshot == MarketSnapshot("ETH-PERP", int(fake.now), closes[-1], closes[-1],
                                      12345.6, rates[-1], "binance")
    assert fake.count_path("premiumIndex") == fake.count_path("openInterest") == 1


def test_the_environment_moves_every_endpoint_and_keeps_each_path(fake, monkeypatch):
    monkeypatch.setenv("FLINT_BINANCE_API_URL", fake.url)
    with BinanceProvider(rate_limit=False, retry=FAST_RETRY) as p:
        api = p.client.exchange.urls["api"]
        assert api["fapiPublic"] == f"{fake.url}/fapi/v1"
        assert api["fapiData"] == f"{fake.url}/futures/data"
        assert api["public"] == f"{fake.url}/api/v3"
        assert p.markets() == ["BTC-PERP", "ETH-PERP", "SOL-PERP"]
    monkeypatch.delenv("FLINT_BINANCE_API_URL")
    untouched = BinanceProvider(rate_limit=False).client.exchange.urls["api"]["fapiPublic"]
    assert untouched == "https://fapi.binance.com/fapi/v1"


# Faults: each bounded in time, none loses or duplicates a row


RANGE = (1667260800, 1675209600)  # Nov 2022 .. Jan 2023, with SOL's 4 h and 2 h funding


class TestBinanceFaults(ProviderFaultContract):
    venue = "binance"
    span = RANGE
    endpoints = {"candles": "klines", "funding": "fundingRate"}
    # the markets, two pages of candles, one of funding and the empty one after it, twice
    requests_without_faults = 6
    candle_pages = 2

    def make_provider(self, url, **options):
        return BinanceProvider(url, **{"rate_limit": False, **options})

    def make_fake(self, data, **options):
        return FakeBinance.from_data(data, symbols=("SOLUSDT",), **options)

    def files(self, data):
        return data / "binance-SOLUSDT-3600.csv", data / "binance-SOLUSDT-funding.csv"

    def request_of(self, kind):
        return on(self.endpoints[kind])

    def offline_error(self, url):
        return f"cannot reach binance at {url}"

    def test_418_pauses_the_venue_and_a_long_ban_stops(self, fake, fake_data, bounded):
        bounded(30)
        fake.inject(Fault.status_code(418, retry_after=1, match=on("fundingRate")))
        started = time.monotonic()
        self.check(fake_data, *self.download(fake))
        assert time.monotonic() - started >= 1.0
        fake.inject(Fault.status_code(418, retry_after=600))
        with self.provider(fake) as p, pytest.raises(VenueBanned, match="418"):
            p.markets()


def on(endpoint):
    return lambda request: f"/{endpoint}?" in request.path


def test_a_funding_interval_change_mid_range_keeps_each_eras_interval(fake, fake_data):
    # SOLUSDT went 8 h -> 4 h -> 2 h -> 8 h in November 2022
    rates = data_columns(fake_data / "binance-SOLUSDT-funding.csv")["ts"]
    expected = dict(zip(rates.tolist(), funding_intervals(rates).tolist(), strict=True))
    with FlintStore(":memory:") as store, provider(fake) as p:
        # in two calls that cut the short-interval era in half
        for a, b in ((RANGE[0], 1668300000), (1668300000, RANGE[1] - 1)):
            download(store, p, Series("binance", "SOL-PERP", "funding"), a, b,
                     now=lambda: fake.now)
        stored = store.query_funding_rates("SOL-PERP")
        fetched = p.fetch_funding("SOL-PERP", RANGE[0], RANGE[1] - 1)
    assert {r.interval_s for r in stored} == {2 * H, 4 * H, 8 * H}
    inner = [r for r in stored if RANGE[0] + 3 * 8 * H <= r.ts <= RANGE[1] - 3 * 8 * H]
    assert [(r.ts, r.interval_s) for r in inner] == [(r.ts, expected[r.ts]) for r in inner]
    # the provider itself observes them too, from consecutive settlements
    assert [(r.ts, r.interval_s) for r in fetched if r.ts in {x.ts for x in inner}] == [
        (r.ts, r.interval_s) for r in inner]


def test_another_ccxt_exchange_id_pages_through_ccxts_unified_calls(fake, fake_data):
    # ccxt's `binance` set to USD-M futures: the generic path (fetch_ohlcv, 1000 a page)
    options = {"defaultType": "future", "fetchMarkets": {"types": ["linear"]}}
    start, end = 1704067200, 1704067200 + 2500 * H - 1
    with provider(fake, exchange="binance", options=options) as p:
        same_candles(p.fetch_candles("SOL-PERP", H, start, end),
                     data_columns(fake_data / "binance-SOLUSDT-3600.csv"), start, end)
    assert fake.count_path("klines") == 3


def test_ccxt_is_imported_only_when_the_provider_talks_to_the_exchange():
    code = ("import sys, flint_binance.plugin, flint_binance.provider; "
            "from flint.providers.funding_rates import BinanceFundingProvider; "
            "BinanceFundingProvider(rate_limit=False); assert 'ccxt' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
