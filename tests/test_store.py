import contextlib
import json
import math
import threading
from enum import Enum

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from flint.models import (
    BorrowSnapshot,
    Candle,
    CandleSeries,
    FundingRate,
    OpenInterest,
    OrderbookLevel,
    OrderbookSnapshot,
)
from flint.store import (
    RESOLUTIONS,
    SCHEMA_VERSION,
    FlintStore,
    Gap,
    InvalidRowError,
    NoCandlesError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
)
from flint.store import schema as store_schema

H = 3600


def candles(n, market="SOL-PERP", venue="binance", start=0, res=H, price=100.0):
    return [
        Candle(start + res * i, price + i, price + i + 2, price + i - 1, price + i + 1, 10.0 + i,
               market, res, venue)
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path):
    with FlintStore(tmp_path / "flint.duckdb") as s:
        yield s


# Candles


def test_candles_round_trip_as_a_columnar_series(store):
    data = candles(50)
    assert store.upsert_candles(data) == 50
    series = store.query_candles("SOL-PERP", H)
    assert isinstance(series, CandleSeries)
    assert series == data
    assert (series.market, series.venue, series.resolution_s) == ("SOL-PERP", "binance", H)
    assert series.closes.dtype == np.float64 and series.timestamps.dtype == np.int64
    assert store.count_candles("SOL-PERP", H) == 50


def test_every_input_shape_stores_the_same_rows(tmp_path):
    data = candles(20)
    series = CandleSeries.from_candles(data)
    cols = {
        "ts": series.timestamps, "open": series.opens, "high": series.highs, "low": series.lows,
        "close": series.closes, "volume": series.volumes,
    }
    shapes = [
        (data, {}),
        (series, {}),
        (cols, {"venue": "binance", "market": "SOL-PERP", "resolution_s": H}),
        (pa.table(cols), {"venue": "binance", "market": "SOL-PERP", "resolution_s": H}),
        (pa.table({**cols, "venue": ["binance"] * 20, "market": ["SOL-PERP"] * 20,
                   "resolution_s": [H] * 20}), {}),
        (pa.RecordBatch.from_pydict(cols), {"venue": "binance", "market": "SOL-PERP",
                                            "resolution_s": H}),
    ]
    for i, (shape, keys) in enumerate(shapes):
        with FlintStore(tmp_path / f"{i}.duckdb") as s:
            assert s.upsert_candles(shape, **keys) == 20
            assert s.query_candles("SOL-PERP", H) == data


def test_reingesting_the_same_candles_changes_nothing(store):
    data = candles(30)
    store.upsert_candles(data)
    assert store.upsert_candles(data) == 0
    assert store.upsert_candles(data[::-1]) == 0
    assert store.query_candles("SOL-PERP", H) == data


def test_a_changed_candle_replaces_the_stored_one(store):
    data = candles(10)
    store.upsert_candles(data)
    fixed = Candle(data[3].ts, 1.0, 5.0, 0.5, 2.0, 7.0, "SOL-PERP", H, "binance")
    assert store.upsert_candles([fixed]) == 1
    stored = store.query_candles("SOL-PERP", H)
    assert len(stored) == 10 and stored[3] == fixed and stored[4] == data[4]


def test_out_of_order_input_is_sorted_and_the_last_duplicate_wins(store):
    data = candles(5)
    later = Candle(data[2].ts, 50.0, 60.0, 40.0, 55.0, 1.0, "SOL-PERP", H, "binance")
    batch = [data[4], data[2], data[0], later, data[3], data[1]]
    assert store.upsert_candles(batch) == 5
    assert store.query_candles("SOL-PERP", H) == [data[0], data[1], later, data[3], data[4]]


def test_one_batch_may_hold_several_series(store):
    mixed = candles(3) + candles(4, venue="hyperliquid") + candles(2, market="BTC-PERP", res=60)
    assert store.upsert_candles(mixed[::-1]) == 9
    hyper = candles(4, venue="hyperliquid")
    assert store.query_candles("SOL-PERP", H, venue="hyperliquid") == hyper
    assert store.query_candles("SOL-PERP", H, venue="binance") == candles(3)
    assert store.query_candles("BTC-PERP", 60) == candles(2, market="BTC-PERP", res=60)


def test_query_range_is_inclusive_and_limit_without_start_keeps_the_newest(store):
    data = candles(100)
    store.upsert_candles(data)
    assert store.query_candles("SOL-PERP", H, start_ts=10 * H, end_ts=20 * H) == data[10:21]
    assert store.query_candles("SOL-PERP", H, limit=5) == data[-5:]
    assert store.query_candles("SOL-PERP", H, start_ts=10 * H, limit=5) == data[10:15]
    assert store.query_candles("SOL-PERP", H, end_ts=50 * H, limit=3) == data[48:51]
    assert len(store.query_candles("SOL-PERP", H, start_ts=1000 * H)) == 0


def test_without_a_venue_the_venue_with_most_bars_is_read(store):
    store.upsert_candles(candles(5, venue="binance") + candles(8, venue="hyperliquid"))
    assert store.query_candles("SOL-PERP", H).venue == "hyperliquid"
    assert store.count_candles("SOL-PERP", H) == 8
    assert store.count_candles("SOL-PERP", H, venue="binance") == 5
    # in a range where binance has as many bars, alphabetical order decides
    assert store.query_candles("SOL-PERP", H, end_ts=4 * H).venue == "binance"


def test_an_unknown_market_gives_an_empty_series(store):
    empty = store.query_candles("NOPE-PERP", H)
    assert len(empty) == 0 and empty.market == "NOPE-PERP" and empty == []
    assert store.count_candles("NOPE-PERP", H) == 0


def _missing(store, *args, **kwargs):
    with pytest.raises(NoCandlesError) as raised:
        store.require_candles(*args, **kwargs)
    assert isinstance(raised.value, StoreError) and isinstance(raised.value, LookupError)
    message = str(raised.value)
    assert "\n" not in message
    return message, raised.value.empty


def test_require_candles_returns_what_query_candles_finds(store):
    store.upsert_candles(candles(5) + candles(3, venue="hyperliquid"))
    assert store.require_candles("SOL-PERP", H) == store.query_candles("SOL-PERP", H)
    assert store.require_candles("SOL-PERP", H, venue="hyperliquid") == candles(
        3, venue="hyperliquid")


def test_an_empty_store_says_it_holds_no_candles(store):
    message, empty = _missing(store, "SOL-PERP", H)
    assert empty and message == "no SOL-PERP candles at 3600 s: the store holds no candles"


def test_an_unknown_market_lists_what_the_store_holds_at_that_resolution(store):
    store.upsert_candles(candles(3) + candles(3, "BTC-PERP") + candles(3, venue="hyperliquid")
                         + candles(3, "ETH-PERP", res=60))
    message, empty = _missing(store, "DOGE-PERP", H)
    assert not empty
    assert message == ("no DOGE-PERP candles at 3600 s: at 3600 s the store holds "
                       "binance: BTC-PERP, SOL-PERP; hyperliquid: SOL-PERP")


def test_an_unknown_venue_lists_the_venues_holding_the_market(store):
    store.upsert_candles(candles(3) + candles(3, venue="hyperliquid") + candles(3, "BTC-PERP",
                                                                               venue="drift"))
    message, _ = _missing(store, "SOL-PERP", H, venue="drift")
    assert message == "no SOL-PERP candles at 3600 s on drift: at 3600 s SOL-PERP is stored " \
                      "on binance, hyperliquid"


def test_an_unknown_resolution_lists_the_stored_ones(store):
    store.upsert_candles(candles(3) + candles(3, res=900) + candles(3, "BTC-PERP", res=60))
    message, _ = _missing(store, "SOL-PERP", 300)
    assert message == "no SOL-PERP candles at 300 s: it is stored at 900 s, 3600 s"
    message, _ = _missing(store, "DOGE-PERP", 300)
    assert message == ("no DOGE-PERP candles at 300 s: no candles at 300 s are stored; "
                       "stored resolutions: 60 s, 900 s, 3600 s")


def test_a_range_that_misses_the_series_gives_its_span(store):
    store.upsert_candles(candles(48))
    message, _ = _missing(store, "SOL-PERP", H, start_ts=100 * H)
    assert message == ("no SOL-PERP candles at 3600 s from 1970-01-05 04:00 UTC on: stored "
                       "binance 1970-01-01 00:00 .. 1970-01-02 23:00 UTC")


def test_a_long_listing_is_cut_and_counted(store):
    store.upsert_candles([c for i in range(30) for c in candles(2, f"M{i:02d}-PERP")])
    message, _ = _missing(store, "DOGE-PERP", H)
    assert message.endswith("M23-PERP; and 6 more") and "M24-PERP" not in message


def _bad(candle, **changes):
    fields = {f: getattr(candle, f) for f in (
        "ts", "open", "high", "low", "close", "volume", "market", "resolution_s", "venue")}
    fields.update(changes)
    return Candle(**fields)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"open": math.nan}, "open is nan"),
        ({"high": math.inf}, "high is inf"),
        ({"low": -1.0}, "low -1.0 must be > 0"),
        ({"high": 99.0, "low": 100.0, "open": 99.5, "close": 99.5}, "high 99.0 is below low"),
        ({"open": 500.0}, "open 500.0 is outside [low"),
        ({"close": 0.5}, "close 0.5 is outside [low"),
        ({"volume": -3.0}, "volume -3.0 must be >= 0"),
        ({"volume": math.nan}, "volume is nan"),
        ({"ts": 3 * H + 17}, "is not aligned to its 3600 s resolution"),
        ({"resolution_s": 45, "ts": 0}, "resolution_s 45 is not one of"),
        ({"market": ""}, "market is empty"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(store, changes, reason):
    data = candles(10)
    data[6] = _bad(data[6], **changes)
    with pytest.raises(InvalidRowError, match=r"row 6: .*" + reason.replace("[", r"\[")) as err:
        store.upsert_candles(data)
    assert err.value.row == 6 and isinstance(err.value, ValueError)
    assert store.count_candles("SOL-PERP", H) == 0
    assert store.summary() == []


def test_the_first_bad_row_is_reported_whatever_the_check(store):
    data = candles(10)
    data[7] = _bad(data[7], open=math.nan)
    data[4] = _bad(data[4], volume=-1.0)
    with pytest.raises(InvalidRowError, match="row 4: volume"):
        store.upsert_candles(data)


def test_a_bad_row_reports_its_position_in_the_batch_as_given(store):
    data = candles(10)[::-1]  # out of order: row numbers refer to this order
    data[2] = _bad(data[2], high=1.0)
    with pytest.raises(InvalidRowError, match="row 2: "):
        store.upsert_candles(data)


def test_every_allowed_resolution_needs_aligned_bars(store):
    assert RESOLUTIONS == (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 28800, 43200,
                           86400, 604800)
    monday = 4 * 86400  # 1970-01-05 was a Monday
    week = candles(3, start=monday, res=604800, market="BTC-PERP")
    assert store.upsert_candles(week) == 3
    with pytest.raises(InvalidRowError, match="weeks open on Monday"):
        store.upsert_candles(candles(1, start=0, res=604800, market="BTC-PERP"))


def test_columnar_input_errors_name_the_missing_column_and_nulls(store):
    cols = {"ts": [0, H], "open": [1.0, 1.0], "high": [1.0, 1.0], "low": [1.0, 1.0],
            "close": [1.0, 1.0]}
    with pytest.raises(ValueError, match="no 'volume'"):
        store.upsert_candles(cols, market="X", resolution_s=H)
    with pytest.raises(ValueError, match="no 'market'"):
        store.upsert_candles({**cols, "volume": [1.0, 1.0]}, resolution_s=H)
    table = pa.table({**cols, "volume": pa.array([1.0, None])})
    with pytest.raises(InvalidRowError, match="row 1: volume is missing"):
        store.upsert_candles(table, market="X", resolution_s=H)
    with pytest.raises(InvalidRowError, match="row 0: market is 'SOL-PERP' but market="):
        store.upsert_candles(candles(2), market="BTC-PERP")
    mixed = [*candles(1), *candles(1, start=H, market="BTC-PERP")]
    with pytest.raises(InvalidRowError, match="row 1: market is 'BTC-PERP'"):
        store.upsert_candles(mixed, market="SOL-PERP")
    with pytest.raises(InvalidRowError, match="row 0: resolution_s is 3600"):
        store.upsert_candles(candles(2), resolution_s=60)
    with pytest.raises(InvalidRowError, match=r"row 1: ts 1\.5 is not a whole number"):
        store.upsert_candles({**cols, "ts": [0.0, 1.5], "volume": [1.0, 1.0]},
                             market="X", resolution_s=60)
    with pytest.raises(TypeError, match="cannot store"):
        store.upsert_candles(42)
    with pytest.raises(TypeError, match="expected Candle records, row 1"):
        store.upsert_candles([candles(1)[0], "not a candle"])
    assert store.summary() == []


def test_gaps_and_coverage(store):
    data = [c for i, c in enumerate(candles(100)) if i not in (10, 11, 12, 50)]
    store.upsert_candles(data)
    assert store.candle_gaps("SOL-PERP", H) == [Gap(10 * H, 12 * H, 3), Gap(50 * H, 50 * H, 1)]
    assert store.candle_gaps("SOL-PERP", H, start_ts=20 * H) == [Gap(50 * H, 50 * H, 1)]
    assert store.is_range_synced("SOL-PERP", H, 0, 99 * H)  # 96 of 100 bars
    assert not store.is_range_synced("SOL-PERP", H, 0, 20 * H)  # 18 of 21
    assert store.is_range_synced("SOL-PERP", H, 0, 20 * H, min_coverage=0.85)
    assert not store.is_range_synced("SOL-PERP", H, 200 * H, 300 * H)
    assert not store.is_range_synced("NOPE", H, 0, 99 * H)
    [summary] = store.summary()
    assert (summary.rows, summary.gaps, summary.missing) == (96, 2, 4)
    assert (summary.first_ts, summary.last_ts) == (0, 99 * H)


# Funding, open interest, borrow rates, order books


def test_funding_keeps_its_venue_and_interval(store):
    rates = [FundingRate("SOL-PERP", 8 * H * i, 0.0001 * i, 100.0, 100.5, 0, "binance", 8 * H)
             for i in range(1, 4)]
    rates += [FundingRate("SOL-PERP", H * i, 0.00001, 99.0, 99.1, 7, "hyperliquid", H)
              for i in range(1, 25)]
    assert store.upsert_funding_rates(rates[::-1]) == 27
    assert store.upsert_funding_rates(rates) == 0
    stored = store.query_funding_rates("SOL-PERP")
    assert stored == sorted(rates, key=lambda r: (r.ts, r.source))
    by_venue = store.query_funding_by_venue("SOL-PERP", start_ts=8 * H, end_ts=16 * H)
    assert list(by_venue) == ["binance", "hyperliquid"]
    assert [r.interval_s for r in by_venue["binance"]] == [8 * H, 8 * H]
    assert len(by_venue["hyperliquid"]) == 9
    assert store.query_funding_rates("SOL-PERP", venue="binance") == rates[:3]


def test_funding_read_as_columns_holds_what_the_records_hold(store):
    rates = [FundingRate("SOL-PERP", 8 * H * i, 0.0001 * i, 100.0, 100.5, 0, "hyperliquid", 8 * H)
             for i in range(1, 4)]
    rates += [FundingRate("SOL-PERP", H * i, -0.00001 * i, 0.0, 99.1, 7, "binance", H)
              for i in range(1, 25)]
    rates.append(FundingRate("ETH-PERP", H, 0.00002, source="binance"))
    store.upsert_funding_rates(rates)
    for args in [(), (8 * H, 16 * H), (None, None, "hyperliquid"), (2 * H, None, "binance"),
                 (10_000 * H,)]:
        columns = store.query_funding_columns("SOL-PERP", *args)
        assert columns.to_records() == store.query_funding_rates("SOL-PERP", *args)
    assert store.query_funding_columns("SOL-PERP").sources == ("binance", "hyperliquid")
    assert len(store.query_funding_columns("NOPE")) == 0


def test_funding_from_columns_needs_an_interval_and_rejects_absurd_rates(store):
    cols = {"ts": [H, 2 * H], "rate": [0.0001, 0.0002]}
    with pytest.raises(ValueError, match="no 'interval_s'"):
        store.upsert_funding_rates(cols, venue="binance", market="SOL-PERP")
    assert store.upsert_funding_rates(cols, venue="binance", market="SOL-PERP", interval_s=H) == 2
    with pytest.raises(InvalidRowError, match=r"row 1: rate 1.5 is not a decimal rate"):
        store.upsert_funding_rates({"ts": [H, 2 * H], "rate": [0.0, 1.5]}, venue="binance",
                                   market="SOL-PERP", interval_s=H)
    with pytest.raises(InvalidRowError, match="row 0: interval_s 0 must be > 0"):
        store.upsert_funding_rates(cols, venue="binance", market="SOL-PERP", interval_s=0)
    assert [r.rate for r in store.query_funding_rates("SOL-PERP")] == [0.0001, 0.0002]


def test_open_interest_and_borrow_rates_round_trip(store):
    oi = [OpenInterest("SOL-PERP", H * i, 10.0 + i, 9.0 + i, "drift") for i in range(5)]
    assert store.upsert_open_interest(oi) == 5
    assert store.query_open_interest("SOL-PERP") == oi
    assert store.query_open_interest("SOL-PERP", start_ts=H, end_ts=2 * H) == oi[1:3]
    with pytest.raises(InvalidRowError, match=r"row 0: long_oi -1\.0"):
        store.upsert_open_interest([OpenInterest("SOL-PERP", 0, -1.0, 1.0)])
    borrow = [BorrowSnapshot("SOL", H * i, 0.0001, 0.5, 0.001 * i, "jupiter") for i in range(3)]
    assert store.upsert_borrow_rates(borrow) == 3
    assert store.query_borrow_rates("SOL", 0, 10 * H) == borrow
    assert store.query_borrow_rates("SOL", venue="other") == []


def _book(ts, venue="hyperliquid", bids=((99.5, 1.0), (99.0, 2.5)), asks=((100.5, 0.75),)):
    return OrderbookSnapshot(
        "SOL-PERP", ts, tuple(OrderbookLevel(p, s) for p, s in bids),
        tuple(OrderbookLevel(p, s) for p, s in asks), 123, venue,
    )


def test_order_books_round_trip_exactly(store):
    books = [
        _book(0), _book(H, bids=((0.1 + 0.2, 1e-9),), asks=()), _book(2 * H, bids=(), asks=()),
        _book(3 * H, venue="binance", bids=tuple((100.0 - i / 7, 1.0 / 3 + i) for i in range(50)),
              asks=tuple((101.0 + i / 3, 2.0) for i in range(50))),
    ]
    assert store.upsert_orderbook_snapshot(books[0]) == 1
    assert store.upsert_orderbook_snapshot(books) == 3
    assert store.upsert_orderbook_snapshot(books) == 0
    assert store.query_orderbook_snapshots("SOL-PERP") == books
    assert store.query_orderbook_snapshots("SOL-PERP", venue="binance") == books[3:]


def test_order_books_from_a_sliced_arrow_table(store):
    from flint.store.batches import LEVELS

    table = pa.table({
        "ts": [0, H, 2 * H],
        "bids": pa.array([[(9.0, 1.0), (8.0, 1.0)], [(7.0, 2.0)], [(6.0, 1.0), (5.0, 1.0)]],
                         type=LEVELS),
        "asks": pa.array([[(10.0, 1.0)], [], [(11.0, 3.0)]], type=LEVELS),
    })
    assert store.upsert_orderbook_snapshot(table.slice(1), venue="x", market="SOL-PERP") == 2
    [second, third] = store.query_orderbook_snapshots("SOL-PERP")
    assert [lv.price for lv in second.bids] == [7.0] and second.asks == ()
    assert [lv.price for lv in third.bids] == [6.0, 5.0] and third.asks[0].size == 3.0
    bad = table.set_column(1, "bids", pa.array([[(9.0, 1.0)], [(1.0, 1.0), (2.0, 1.0)], []],
                                                type=LEVELS))
    with pytest.raises(InvalidRowError, match="row 0: bids prices are not strictly descending"):
        store.upsert_orderbook_snapshot(bad.slice(1), venue="x", market="SOL-PERP")


@pytest.mark.parametrize(
    ("bids", "asks", "reason"),
    [
        (((99.0, 1.0), (99.5, 1.0)), ((100.0, 1.0),), "bids prices are not strictly descending"),
        (((99.0, 1.0),), ((100.0, 1.0), (100.0, 1.0)), "asks prices are not strictly ascending"),
        (((99.0, 0.0),), ((100.0, 1.0),), "bids level 0 has size 0.0"),
        (((99.0, 1.0), (-1.0, 1.0)), (), "bids level 1 has price -1.0"),
        (((100.0, 1.0),), ((100.0, 1.0),), "the book is crossed"),
    ],
)
def test_bad_books_are_rejected_naming_the_snapshot(store, bids, asks, reason):
    books = [_book(0), _book(H, bids=bids, asks=asks)]
    with pytest.raises(InvalidRowError, match=f"row 1: {reason}"):
        store.upsert_orderbook_snapshot(books)
    assert store.query_orderbook_snapshots("SOL-PERP") == []


# Overview


def test_summary_and_freshness_cover_every_kind(store):
    store.upsert_candles(candles(3))
    store.upsert_funding_rates([FundingRate("SOL-PERP", H, 0.0001, source="binance")])
    store.upsert_open_interest([OpenInterest("SOL-PERP", 2 * H, 1.0, 1.0, "binance")])
    store.upsert_orderbook_snapshot(_book(5 * H))
    kinds = {(s.kind, s.venue, s.last_ts) for s in store.summary()}
    assert kinds == {("candles", "binance", 2 * H), ("funding", "binance", H),
                     ("open_interest", "binance", 2 * H), ("orderbook", "hyperliquid", 5 * H)}
    fresh = store.get_data_freshness(now=10 * H)
    assert {(f["data_type"], f["source"], f["age_s"]) for f in fresh} == {
        ("candles", "binance", 8 * H), ("funding", "binance", 9 * H),
        ("open_interest", "binance", 8 * H), ("orderbook", "hyperliquid", 5 * H)}
    assert {f["market"] for f in fresh} == {"SOL-PERP"}


# Strategy registry and journal


def test_strategy_registry(store):
    assert store.get_strategy("momo") is None
    store.upsert_strategy("s1", "momo", "class M: ...", {"fast": 12}, category="trend")
    found = store.get_strategy("momo")
    assert found["strategy_id"] == "s1" and found["status"] == "draft"
    assert json.loads(found["params_json"]) == {"fast": 12} and found["category"] == "trend"
    store.update_strategy_status("momo", "paper")
    store.upsert_strategy("s1", "momo", "class M: pass", "{}")
    again = store.get_strategy("momo")
    assert again["status"] == "paper" and again["code"] == "class M: pass"
    assert again["created_at"] == found["created_at"]
    with pytest.raises(ValueError, match="already used by id 's1'"):
        store.upsert_strategy("s2", "momo", "", "{}")
    with pytest.raises(ValueError, match="not JSON"):
        store.upsert_strategy("s3", "other", "", "{nope")
    with pytest.raises(ValueError, match="unknown strategy status 'retired'"):
        store.update_strategy_status("momo", "retired")
    with pytest.raises(KeyError, match="no strategy named 'ghost'"):
        store.update_strategy_status("ghost", "live")
    assert [s["name"] for s in store.list_strategies()] == ["momo"]


class Color(Enum):
    RED = "red"


class FakeResult:
    """Stands in for the engine's result: anything with to_dict()."""

    def to_dict(self):
        return {"strategy_name": "momo", "market": "SOL-PERP", "total_pnl": np.float64(12.5),
                "equity_curve": np.array([1.0, 2.0]), "profit_factor": math.inf,
                "side": Color.RED, "created_at": 100}


def test_backtest_journal(store):
    run_id = store.save_backtest_run(FakeResult())
    other = store.save_backtest_run({"run_id": "fixed", "strategy": "x", "created_at": 200,
                                     "sharpe_ratio": math.nan, "fills": [{"price": 1.0}]})
    assert other == "fixed"
    saved = store.get_backtest_run(run_id)
    assert saved["equity_curve"] == [1.0, 2.0] and saved["total_pnl"] == 12.5
    assert saved["profit_factor"] == math.inf and saved["side"] == "red"
    assert math.isnan(store.get_backtest_run("fixed")["sharpe_ratio"])
    listed = store.list_backtest_runs()
    assert [r["run_id"] for r in listed] == ["fixed", run_id]  # newest first
    assert "fills" not in listed[0] and "equity_curve" not in listed[1]
    assert store.list_backtest_runs(limit=1)[0]["run_id"] == "fixed"
    assert store.delete_backtest_run(run_id) is True
    assert store.delete_backtest_run(run_id) is False
    assert store.get_backtest_run(run_id) is None
    with pytest.raises(TypeError, match="mapping or an object with to_dict"):
        store.save_backtest_run(42)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        store.save_backtest_run({"thing": object()})


def test_runs_saved_together_are_all_journaled_or_none(tmp_path):
    from rich.console import Console

    from flint.cli.journal import save_records

    path = tmp_path / "journal.duckdb"
    FlintStore(path).close()
    with pytest.raises(duckdb.Error, match="out of range"):  # the second cannot be stored
        save_records([{"run_id": "first"}, {"run_id": "second", "created_at": 10**20}],
                     path, 0, Console(quiet=True))
    with FlintStore(path, read_only=True) as reader:
        assert reader.list_backtest_runs() == []
    assert save_records([{"run_id": "a"}, {"run_id": "b"}], path, 0,
                        Console(quiet=True)) == (["a", "b"], True)


# Lifecycle, modes, schema


def test_close_is_idempotent_and_a_closed_store_refuses_work(tmp_path):
    store = FlintStore(tmp_path / "a.duckdb")
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreClosedError):
        store.count_candles("SOL-PERP", H)
    with contextlib.closing(FlintStore(tmp_path / "a.duckdb")) as again:
        again.upsert_candles(candles(2))
    assert again.closed


def test_a_reader_reads_and_refuses_to_write(tmp_path):
    path = tmp_path / "a.duckdb"
    with FlintStore(path) as writer:
        writer.upsert_candles(candles(4))
        with FlintStore(path, read_only=True) as reader:  # also while the writer is open
            assert reader.query_candles("SOL-PERP", H) == candles(4)
            with pytest.raises(StoreError, match="read-only"):
                reader.upsert_candles(candles(1, start=100 * H))
        writer.upsert_candles(candles(1, start=100 * H))
    with pytest.raises(StoreError, match="no flint store at"):
        FlintStore(tmp_path / "missing.duckdb", read_only=True)


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "a.duckdb"
    with FlintStore(path), pytest.raises(StoreError, match="already open for writing"):
        FlintStore(path)
    with FlintStore(path) as again:  # the lock went with the first store
        assert again.count_candles("SOL-PERP", H) == 0


def test_a_file_that_is_not_a_store_gives_a_store_error(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_text("not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        FlintStore(path)


def test_schema_is_versioned_and_migrations_apply_forward(tmp_path):
    import duckdb

    path = tmp_path / "a.duckdb"
    with FlintStore(path) as s:
        s.upsert_candles(candles(2))
    conn = duckdb.connect(str(path))
    assert store_schema.schema_version(conn) == SCHEMA_VERSION
    later = (*store_schema.MIGRATIONS, ("ALTER TABLE candles ADD COLUMN trades BIGINT",))
    assert store_schema.migrate(conn, later) == [SCHEMA_VERSION + 1]
    assert store_schema.migrate(conn, later) == []
    conn.close()
    with pytest.raises(SchemaVersionError, match="newer than this flint"):
        FlintStore(path, read_only=True)
    with pytest.raises(SchemaVersionError, match="upgrade flint-sdk"):
        FlintStore(path)


def test_an_old_schema_is_migrated_by_a_writer_not_a_reader(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE unrelated (x INTEGER)")
    conn.close()
    with pytest.raises(SchemaVersionError, match="open it once for writing"):
        FlintStore(path, read_only=True)
    with FlintStore(path) as s:
        s.upsert_candles(candles(1))
    with FlintStore(path, read_only=True) as r:
        assert r.count_candles("SOL-PERP", H) == 1


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path):
    import duckdb

    conn = duckdb.connect(str(tmp_path / "a.duckdb"))
    broken = (*store_schema.MIGRATIONS, ("CREATE TABLE x (a INTEGER)", "NOT SQL AT ALL"))
    with pytest.raises(duckdb.Error):
        store_schema.migrate(conn, broken)
    assert store_schema.schema_version(conn) == 0
    conn.close()


def test_a_session_keeps_the_file_open_until_it_ends(tmp_path):
    path = tmp_path / "a.duckdb"
    with FlintStore(path) as writer:
        with writer.session() as same:
            assert same is writer
            same.upsert_candles(candles(3))
            with pytest.raises(StoreLockedError, match="stayed busy"):
                FlintStore(path, read_only=True, timeout_s=0.2)
            assert same.count_candles("SOL-PERP", H) == 3
        with FlintStore(path, read_only=True, timeout_s=0.2) as reader:
            assert reader.count_candles("SOL-PERP", H) == 3


def test_an_in_memory_store_works_without_a_file():
    with FlintStore(":memory:") as s:
        s.upsert_candles(candles(3))
        assert s.query_candles("SOL-PERP", H) == candles(3)
    with pytest.raises(StoreError, match="in-memory store cannot be read-only"):
        FlintStore(":memory:", read_only=True)


def test_threads_share_one_store(store):
    errors = []

    def work(i):
        try:
            store.upsert_candles(candles(50, market=f"M{i}"))
            assert len(store.query_candles(f"M{i}", H)) == 50
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.summary()) == 8


def test_export_writes_hive_partitions(store, tmp_path):
    store.upsert_candles(candles(3) + candles(2, market="BTC-PERP", res=60))
    store.upsert_funding_rates([FundingRate("SOL-PERP", H, 0.0001, source="binance")])
    out = tmp_path / "export"
    assert store.export_parquet(out) == {"candles": 5, "funding_rates": 1}
    assert (out / "candles" / "venue=binance" / "market=SOL-PERP" / "resolution_s=3600").is_dir()
    assert (out / "funding_rates" / "venue=binance" / "market=SOL-PERP").is_dir()
    with pytest.raises(StoreError, match="already holds an export"):
        store.export_parquet(out)
    assert store.export_parquet(out, overwrite=True)["candles"] == 5
