import numpy as np
import pyarrow.compute as pc
import pytest

from flint.sample_data import MARKETS, SAMPLE_START_TS, VENUES, generate
from flint.store import FlintStore

H = 3600


@pytest.fixture(scope="module")
def year():
    return generate()


def _column(table, name, venue, market):
    mask = pc.and_(pc.equal(table["venue"], venue), pc.equal(table["market"], market))
    return table.filter(mask)[name].to_numpy()


def test_the_same_seed_gives_the_same_data(year):
    again = generate()
    for name in ("candles", "funding", "open_interest", "orderbooks"):
        assert getattr(again, name).equals(getattr(year, name))
    assert not generate(seed=1, days=30).candles.equals(generate(seed=2, days=30).candles)


def test_a_year_of_hourly_bars_for_every_market_and_venue(year):
    assert year.candles.num_rows == 365 * 24 * len(MARKETS) * len(VENUES)
    for venue in VENUES:
        for market in MARKETS:
            ts = _column(year.candles, "ts", venue, market)
            assert ts[0] == SAMPLE_START_TS and np.all(np.diff(ts) == H)


def test_returns_are_fat_tailed_correlated_and_switch_regimes(year):
    returns = {
        m: np.diff(np.log(_column(year.candles, "close", "binance", m))) for m in MARKETS
    }
    for r in returns.values():
        kurtosis = np.mean((r - r.mean()) ** 4) / r.var() ** 2
        assert kurtosis > 6  # a normal distribution has 3
        daily_vol = np.array([r[i:i + 24].std() for i in range(0, len(r) - 24, 24)])
        assert np.percentile(daily_vol, 90) > 1.8 * np.percentile(daily_vol, 10)
    corr = np.corrcoef([returns["BTC-PERP"], returns["ETH-PERP"], returns["SOL-PERP"]])
    assert 0.6 < corr[0, 1] < 0.95 and 0.5 < corr[0, 2] < 0.9


def test_funding_follows_each_venues_interval_and_tracks_the_premium(year):
    for venue, (interval, cap, _, _) in VENUES.items():
        for market in MARKETS:
            ts = _column(year.funding, "ts", venue, market)
            rate = _column(year.funding, "rate", venue, market)
            assert set(_column(year.funding, "interval_s", venue, market)) == {interval}
            assert np.all(np.diff(ts) == interval) and np.all(ts % interval == 0)
            assert np.all(np.abs(rate) <= cap)
            mark = _column(year.funding, "mark_price", venue, market)
            oracle = _column(year.funding, "oracle_price", venue, market)
            premium = mark / oracle - 1
            assert np.corrcoef(premium, rate)[0, 1] > 0.2
            assert rate.mean() > 0  # longs usually pay
    hourly = _column(year.funding, "rate", "hyperliquid", "BTC-PERP")
    eight_hourly = _column(year.funding, "rate", "binance", "BTC-PERP")
    assert np.median(hourly) == pytest.approx(np.median(eight_hourly) / 8)


def test_books_and_open_interest_are_plausible_and_accepted_by_the_store(year, tmp_path):
    with FlintStore(tmp_path / "sample.duckdb") as store:
        written = year.save(store)
        assert written == {"candles": year.candles.num_rows, "funding": year.funding.num_rows,
                           "open_interest": year.open_interest.num_rows,
                           "orderbook": year.orderbooks.num_rows}
        assert year.save(store) == dict.fromkeys(written, 0)
        assert year.conflicts(store) == []
        books = store.query_orderbook_snapshots("SOL-PERP", venue="binance")
        assert len(books) == 365 * 3 and all(len(b.bids) == len(b.asks) == 20 for b in books)
        candles = store.query_candles("SOL-PERP", H, venue="binance")
        for book in books[::100]:
            bar = candles[int((book.ts - SAMPLE_START_TS) // H)]
            assert abs(book.mid / bar.open - 1) < 0.01
        oi = store.query_open_interest("BTC-PERP", venue="hyperliquid")
        assert len(oi) == 365 * 24 and all(o.long_oi > 0 and o.long_oi == o.short_oi for o in oi)
        assert generate(seed=99, days=2).conflicts(store) == [
            f"{v}/{m}" for v in VENUES for m in MARKETS]


def test_bad_arguments():
    with pytest.raises(ValueError, match="days must be >= 1"):
        generate(days=0)
    with pytest.raises(ValueError, match="UTC midnight"):
        generate(start_ts=SAMPLE_START_TS + 1)
