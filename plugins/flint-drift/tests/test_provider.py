"""The Drift provider against the fake Drift Data API and DLOB server: paging, both funding
shapes, books, endpoints, faults.

The fake serves flint's real Hyperliquid files re-labelled as Drift (the project has no
Drift data), so every row fetched is compared with the files exactly.
"""

import time

import pytest
from flint_drift.plugin import PROVIDER_CAPABILITIES
from flint_drift.provider import DriftProvider, funding_rate
from flint_drift.testing import FakeDrift

from flint.config import FlintConfig
from flint.providers import ProviderRegistry
from flint.providers.download import Series, download
from flint.providers.errors import (
    HistoryUnavailable,
    UnknownMarket,
    VenueBanned,
    VenueError,
)
from flint.store import FlintStore
from flint.testing.fakes import Fault
from flint.testing.venues import (
    FAST_RETRY,
    assert_offline_fails_fast,
    data_columns,
    download_rows,
    unused_port,
)
from flint.testing.venues import assert_same_candles as same_candles

H = 3600
JANUARY = (1735689600, 1738368000)  # 2025, half-open


def provider(fake, cls=DriftProvider, **options):
    options = {"rate_limit": False, "retry": FAST_RETRY, "timeout_s": 2.0, **options}
    return cls(fake.url, fake.url, clock=lambda: fake.now, **options)


def csv_candles(data, coin="SOL"):
    return data_columns(data / f"hyperliquid-{coin}-3600.csv")


def csv_funding(data, coin="SOL"):
    table = data_columns(data / f"hyperliquid-{coin}-funding.csv")
    return table["ts"], table["rate"]


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
    expected = csv_candles(fake_data)
    with provider(fake) as p:
        candles = p.fetch_candles("SOL-PERP", H, int(expected["ts"][0]), int(fake.now))
    same_candles(candles, expected)
    assert fake.count_kind("candles") == -(-len(expected["ts"]) // 1000)
    assert candles.venue == "drift" and candles.market == "SOL-PERP"


def test_a_full_answer_short_of_its_window_is_followed_backwards(fake, fake_data):
    expected = csv_candles(fake_data, "ETH")
    fake.overlap_next("candles", rows=5)  # 1000 records, 5 newer than asked
    with provider(fake) as p:
        candles = p.fetch_candles("ETH", H, int(expected["ts"][0]), int(fake.now))
    same_candles(candles, expected)
    windows = -(-len(expected["ts"]) // 1000)
    assert fake.count_kind("candles") == windows + 1
    first, second = (int(r.path.split("startTs=")[1].split("&")[0]) for r in fake.requests[:2])
    assert second == first - 995 * H  # ends before the oldest record of the first answer


def test_funding_comes_a_day_an_answer_as_the_files_hourly_rates(fake, fake_data):
    ts, rates = csv_funding(fake_data, "BTC")
    keep = (ts >= JANUARY[0]) & (ts < JANUARY[1])
    with provider(fake) as p:
        funding = p.fetch_funding("BTC-PERP", JANUARY[0], JANUARY[1] - 1)
    assert [(r.ts, r.rate) for r in funding] == list(zip(ts[keep].tolist(), rates[keep].tolist(),
                                                         strict=True))
    assert {(r.source, r.interval_s, r.oracle_price) for r in funding} == {("drift", H, 10.0)}
    assert fake.count_kind("fundingRates") == 31


def test_the_day_not_over_yet_comes_from_the_live_list_not_the_archive(fake, fake_data):
    ts, rates = csv_funding(fake_data)
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
    ts, rates = csv_funding(fake_data)
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


def download_january(fake, **options):
    """SOL 1h candles and funding of January 2025 into a new store; returns the rows."""
    with provider(fake, **options) as p:
        return download_rows(p, "drift", "SOL-PERP", JANUARY[0], JANUARY[1] - 1,
                             now=lambda: fake.now)


def check_january(fake_data, candles, funding):
    same_candles(candles, csv_candles(fake_data), JANUARY[0], JANUARY[1] - 1)
    ts, rates = csv_funding(fake_data)
    keep = (ts >= JANUARY[0]) & (ts < JANUARY[1])
    assert funding == list(zip(ts[keep].tolist(), rates[keep].tolist(), strict=True))


def is_kind(kind):
    return lambda request: f"/{kind}" in request.path


@pytest.mark.parametrize("fault", [
    Fault.status_code(500, match=is_kind("candles")),
    Fault.status_code(502, times=2, match=is_kind("fundingRates")),
    Fault.status_code(503, times=3),
    Fault.delay(5.0, match=is_kind("fundingRates")),
    Fault.delay(5.0, match=is_kind("candles")),
    Fault.drop(match=is_kind("candles")),
    Fault.drop(times=2, match=is_kind("fundingRates")),
], ids=["500", "502-twice", "503-thrice", "timeout-funding", "timeout-candles",
        "dropped-mid-page", "dropped-twice"])
def test_server_errors_timeouts_and_dropped_connections_are_retried(fake, fake_data, fault,
                                                                    bounded):
    bounded(30)
    faulty = fault.times
    fake.inject(fault)
    candles, funding = download_january(fake, timeout_s=0.5)
    check_january(fake_data, candles, funding)
    assert fake.count() == 1 + 31 + faulty  # one answer of candles, one a day of funding


def test_429_waits_the_retry_after_it_names(fake, fake_data, bounded):
    bounded(30)
    fake.inject(Fault.status_code(429, retry_after=1, match=is_kind("candles")))
    started = time.monotonic()
    candles, funding = download_january(fake)
    assert time.monotonic() - started >= 1.0
    check_january(fake_data, candles, funding)
    assert fake.count_kind("candles") == 2


def test_418_with_a_long_ban_stops_at_once(fake, bounded):
    bounded(30)
    fake.inject(Fault.status_code(418, retry_after=600))
    with provider(fake) as p, pytest.raises(VenueBanned, match="HTTP 418"):
        p.fetch_candles("SOL-PERP", H, *JANUARY)
    assert fake.count() == 1


def test_an_overlapping_answer_duplicates_nothing(fake, fake_data, bounded):
    bounded(30)
    fake.overlap_next("candles", rows=5)
    fake.overlap_next("funding", rows=4)
    check_january(fake_data, *download_january(fake))


def test_an_answer_missing_its_records_is_asked_again_not_believed(fake, fake_data, bounded):
    bounded(30)
    fake.miss_next("candles")
    fake.miss_next("funding")
    check_january(fake_data, *download_january(fake))
    assert fake.count() == 1 + 31 + 2


def test_the_forming_candle_is_never_stored(fake_data, bounded):
    bounded(30)
    with FakeDrift.from_data(fake_data, coins=("SOL",), forming=True) as fake:
        fake.now += 1800  # half way through the next bar
        with FlintStore(":memory:") as store, provider(fake) as p:
            forming = p.fetch_candles("SOL-PERP", H, int(fake.now) - 5 * H, int(fake.now))
            assert forming.timestamps[-1] == int(fake.now) // H * H  # the venue serves it
            download(store, p, Series("drift", "SOL-PERP", "candles", H),
                     int(fake.now) - 5 * H, None, now=lambda: fake.now)
            stored = store.query_candles("SOL-PERP", H, venue="drift")
    assert stored.timestamps.tolist() == csv_candles(fake_data)["ts"][-4:].tolist()


def test_offline_fails_fast_naming_the_endpoint(bounded):
    bounded(15)
    url = f"http://127.0.0.1:{unused_port()}"
    p = DriftProvider(url, url, rate_limit=False)
    assert_offline_fails_fast(p, lambda: p.fetch_candles("SOL-PERP", H, 0, H),
                              f"cannot reach the Drift Data API at {url}/market/SOL-PERP/"
                              "candles/60")
