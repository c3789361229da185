"""The Hyperliquid provider against the fake Hyperliquid: paging, the candle window, faults."""


import pytest
from flint_hyperliquid.plugin import PROVIDER_CAPABILITIES
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid

from flint.providers import ProviderRegistry
from flint.providers.download import Series, download
from flint.providers.errors import HistoryUnavailable, UnknownMarket
from flint.store import FlintStore
from flint.testing.data_files import data_columns
from flint.testing.fakes import Fault
from flint.testing.provider_faults import ProviderFaultContract
from flint.testing.venues import FAST_RETRY
from flint.testing.venues import assert_same_candles as same_candles

H = 3600


def provider(fake, **options):
    options = {"history_limit": None, "rate_limit": False, "retry": FAST_RETRY, "timeout_s": 2.0,
               **options}
    return HyperliquidProvider(fake.url, clock=lambda: fake.now, **options)


@pytest.fixture
def fake(fake_data):
    with FakeHyperliquid.from_data(fake_data, candle_window=None) as server:
        yield server


def test_registered_through_the_hook_with_its_capabilities():
    registry = ProviderRegistry()
    assert registry.venues()["hyperliquid"] == "hyperliquid"
    assert registry.capabilities("hyperliquid") == PROVIDER_CAPABILITIES
    assert HyperliquidProvider.capabilities == PROVIDER_CAPABILITIES


def test_seed_paths_reexport_the_plugin():
    from flint.providers.funding_rates import HyperliquidFundingProvider
    from flint.providers.hyperliquid import HyperliquidCandleProvider
    from flint.providers.hyperliquid import HyperliquidProvider as Seeded

    assert Seeded is HyperliquidProvider is HyperliquidCandleProvider is HyperliquidFundingProvider


def test_candles_come_5000_a_page_and_funding_500(fake, fake_data):
    expected = data_columns(fake_data / "hyperliquid-SOL-3600.csv")
    table = data_columns(fake_data / "hyperliquid-SOL-funding.csv")
    ts, rates = table["ts"], table["rate"]
    with provider(fake) as p:
        first = int(expected["ts"][0])
        candles = p.fetch_candles("SOL-PERP", H, first, int(fake.now))
        same_candles(candles, expected)
        assert fake.count_type("candleSnapshot") == -(-len(expected["ts"]) // 5000)
        funding = p.fetch_funding("SOL", int(ts[0]), int(fake.now))
        assert [r.ts for r in funding] == ts.tolist()
        assert [r.rate for r in funding] == rates.tolist()
        assert fake.count_type("fundingHistory") == -(-len(ts) // 500)
        assert {r.source for r in funding} == {"hyperliquid"}


def test_only_the_most_recent_5000_candles_exist(fake_data):
    with FakeHyperliquid.from_data(fake_data) as fake, provider(fake, history_limit=5000) as p:
        earliest = (int(fake.now) // H - 4999) * H
        candles = p.fetch_candles("BTC-PERP", H, earliest, int(fake.now))
        # the 5000 include the bar forming at `now`, which the fake (not forming) lacks
        assert len(candles) == 4999 and candles.timestamps[0] == earliest
        with pytest.raises(HistoryUnavailable) as caught:
            p.fetch_candles("BTC-PERP", H, earliest - H, int(fake.now))
        assert caught.value.earliest_ts == earliest
        assert "most recent 5000 1h candles of BTC-PERP" in str(caught.value)
        assert "earliest available time is 2024-12-29 21:00 UTC" in str(caught.value)
        # a provider told there is no window sees that the fake serves none older
        unlimited = provider(fake)
        assert unlimited.fetch_candles("BTC-PERP", H, earliest - 10 * H, int(fake.now))[0].ts == (
            earliest
        )


def test_unknown_markets_and_resolutions_are_clear_errors(fake):
    with provider(fake) as p:
        with pytest.raises(UnknownMarket, match="no market 'DOGE-PERP'; its markets: BTC-PERP, "
                                                "ETH-PERP, SOL-PERP"):
            p.fetch_candles("DOGE-PERP", H, 0, 10 * H)
        with pytest.raises(ValueError, match="no 21600 s candles"):
            p.fetch_candles("SOL-PERP", 21600, 0, 10 * H)
        assert p.coin("sol-perp") == "SOL" and p.markets() == ["BTC-PERP", "ETH-PERP", "SOL-PERP"]


def test_current_open_interest_marks_and_books(fake):
    with provider(fake) as p:
        now = int(fake.now)
        ctx = p.asset_context("ETH-PERP")
        assert ctx.mark_price == ctx.oracle_price > 0 and ctx.open_interest == 12345.6
        [oi] = p.fetch_open_interest("ETH-PERP", now, now)
        assert (oi.ts, oi.long_oi, oi.venue) == (now, 12345.6, "hyperliquid")
        [book] = p.fetch_orderbook("ETH-PERP", now, now)
        assert len(book.bids) == len(book.asks) == 10 and book.best_bid < book.best_ask
        with pytest.raises(HistoryUnavailable, match="only the current open interest"):
            p.fetch_open_interest("ETH-PERP", now - 86400, now)
        snapshot = p.market_snapshot("ETH-PERP")
        assert (snapshot.ts, snapshot.mark_price, snapshot.oracle_price, snapshot.open_interest,
                snapshot.funding_rate, snapshot.venue) == (
            now, ctx.mark_price, ctx.oracle_price, 12345.6, ctx.funding, "hyperliquid")


# Faults: each bounded in time, none loses or duplicates a row


class TestHyperliquidFaults(ProviderFaultContract):
    venue = "hyperliquid"
    span = (1735689600, 1738368000)  # January 2025
    endpoints = {"candles": "candleSnapshot", "funding": "fundingHistory"}
    requests_without_faults = 4  # the markets, one candle page, two funding pages
    candle_pages = 1

    def make_provider(self, url, **options):
        return HyperliquidProvider(url, **{"history_limit": None, "rate_limit": False,
                                           **options})

    def make_fake(self, data, **options):
        return FakeHyperliquid.from_data(data, candle_window=None, **options)

    def files(self, data):
        return data / "hyperliquid-SOL-3600.csv", data / "hyperliquid-SOL-funding.csv"

    def request_of(self, kind):
        info_type = self.endpoints[kind]
        return lambda r: isinstance(r.body, dict) and r.body.get("type") == info_type

    def offline_error(self, url):
        return f"cannot reach Hyperliquid at {url}/info"


def test_418_pauses_the_venue_and_a_long_ban_stops(fake, bounded):
    bounded(30)
    fake.inject(Fault.status_code(418, retry_after=600))
    with provider(fake) as p, pytest.raises(Exception, match="HTTP 418"):
        p.markets()


def test_a_funding_interval_change_mid_range_keeps_each_eras_interval(fake, fake_data):
    switch = 1686186000  # 2023-06-08 01:00, the first hourly settlement
    with FlintStore(":memory:") as store, provider(fake) as p:
        download(store, p, Series("hyperliquid", "SOL-PERP", "funding"), switch - 10 * 86400,
                 switch + 10 * 86400, now=lambda: fake.now)
        rates = store.query_funding_rates("SOL-PERP")
    before = [r.interval_s for r in rates if r.ts < switch - 2 * 8 * H]
    after = [r.interval_s for r in rates if r.ts > switch + 3 * H]
    assert set(before) == {8 * H} and set(after) == {H}
    ts = data_columns(fake_data / "hyperliquid-SOL-funding.csv")["ts"]
    assert [r.ts for r in rates] == [
        t for t in ts.tolist() if switch - 10 * 86400 <= t <= switch + 10 * 86400]
