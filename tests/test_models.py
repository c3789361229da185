import dataclasses
import pickle

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flint.models import (
    AccountState,
    ArbRoute,
    BorrowSnapshot,
    Candle,
    CollectorStatus,
    DexVolume,
    Fill,
    FundingRate,
    LegGroup,
    LegGroupResult,
    Liquidation,
    LiquidationOpportunity,
    MarketInfo,
    OpenInterest,
    OraclePrice,
    Order,
    OrderbookLevel,
    OrderbookSnapshot,
    OrderLeg,
    OrderState,
    OrderStatus,
    OrderType,
    PoolState,
    Position,
    PositionInfo,
    Side,
    Signal,
    SyncMetadata,
    TimeInForce,
    TokenUnlock,
    Trade,
    WhaleTransfer,
)

BOOK = OrderbookSnapshot(
    "SOL-PERP", 60, (OrderbookLevel(99.0, 2.0), OrderbookLevel(98.5, 1.0)),
    (OrderbookLevel(101.0, 3.0),),
)

FROZEN = [
    Candle(3600, 1.0, 2.0, 0.5, 1.5, 10.0, "SOL-PERP", 3600, "drift"),
    Fill("SOL-PERP", Side.LONG, 100.0, 2.0, 0.1, 60, order_id="o1", is_partial=True),
    FundingRate("SOL-PERP", 3600, 0.0001, 100.0, 100.1, source="binance", interval_s=28800),
    OrderbookLevel(99.0, 2.0),
    BOOK,
    BorrowSnapshot("SOL", 60, 0.00001, 0.5, 1.2),
    OpenInterest("SOL-PERP", 60, 10.0, 7.0, "hyperliquid"),
    OraclePrice("SOL-PERP", 60, 100.0, 5),
    PositionInfo("SOL-PERP", Side.SHORT, 1.5, 100.0, -2.0, 60, "drift"),
    AccountState(10_000.0, 9_000.0, 1_000.0),
    MarketInfo("SOL-PERP", 0, "oracle", 0.001, 0.01, -0.0002, 0.001),
    PoolState("pool", "orca", "a", "b", 10.0, 1500.0, 0.003),
    ArbRoute(("p1", "p2"), ("SOL", "USDC", "SOL"), 1.0, 1.01, 0.01, 100.0),
    LiquidationOpportunity("drift", "acct", "SOL-PERP", Side.LONG, 10, 100, 90, 91, 0.06, 5),
    Liquidation("SOL-PERP", 60, Side.LONG, 1.0, 95.0),
    WhaleTransfer("w", "mint", 1e6, 60, "in"),
    DexVolume("SOL/USDC", "orca", 60, 1e6, 10),
    TokenUnlock("mint", 60, 1e6),
    SyncMetadata("drift", "SOL-PERP", "candles", 60, 10),
    OrderLeg("SOL-PERP", Side.LONG, 1.0, "drift"),
]

MUTABLE = [
    Order("SOL-PERP", Side.LONG, OrderType.LIMIT, 2.0, 99.0, "o1", venue="drift",
          time_in_force=TimeInForce.GTC, reduce_only=True, tag="entry"),
    Position(100.0, -2.0, 60, market="SOL-PERP"),
    CollectorStatus("SOL-PERP", "candles"),
    Trade(60, 100.0, 1.0, Side.SHORT, "SOL-PERP"),
    LegGroup("g", [OrderLeg("SOL-PERP", Side.LONG, 1.0, "drift")], 60),
    LegGroupResult("g", "filled"),
]


def _fields(record):
    if attrs.has(type(record)):
        return [a.name for a in attrs.fields(type(record))]
    return [f.name for f in dataclasses.fields(record)]


@pytest.mark.parametrize("record", FROZEN, ids=lambda r: type(r).__name__)
def test_frozen_records_are_immutable_and_hashable(record):
    name = _fields(record)[0]
    with pytest.raises((dataclasses.FrozenInstanceError, attrs.exceptions.FrozenInstanceError)):
        setattr(record, name, getattr(record, name))
    copy = pickle.loads(pickle.dumps(record))
    assert copy == record
    assert hash(copy) == hash(record)
    assert len({record, copy}) == 1


@pytest.mark.parametrize("record", MUTABLE, ids=lambda r: type(r).__name__)
def test_mutable_records_round_trip_through_pickle(record):
    assert pickle.loads(pickle.dumps(record)) == record


def test_candle_has_the_seed_fields_and_default_venue():
    assert _fields(FROZEN[0]) == [
        "ts", "open", "high", "low", "close", "volume", "market", "resolution_s", "venue"
    ]
    assert Candle(0, 1, 1, 1, 1, 0).venue == "default"


def test_fill_and_funding_carry_venue_and_interval():
    fill, funding = FROZEN[1], FROZEN[2]
    for name in ("price", "size", "fee", "tx_sig", "latency_ms", "impact_bps", "tx_cost"):
        assert name in _fields(fill)
    assert funding.venue == "binance"
    assert funding.hourly_rate == pytest.approx(0.0001 / 8)


def test_fill_answers_to_the_seed_names_latency_and_impact():
    fill = Fill("SOL-PERP", Side.LONG, 100.0, 1.0, 0.05, 0, latency_ms=250.0, impact_bps=3.5)
    assert (fill.latency, fill.impact) == (250.0, 3.5)
    assert (fill.latency, fill.impact) == (fill.latency_ms, fill.impact_bps)


def test_order_book_best_prices_and_mid():
    assert (BOOK.best_bid, BOOK.best_ask, BOOK.mid) == (99.0, 101.0, 100.0)
    empty = OrderbookSnapshot("SOL-PERP", 0, (), ())
    assert (empty.best_bid, empty.best_ask, empty.mid) == (0.0, 0.0, 0.0)


def test_position_close_records_signed_pnl_once():
    short = Position(100.0, -2.0, 0)
    assert short.side is Side.SHORT
    assert short.close(90.0, 3600) == pytest.approx(20.0)
    assert (short.closed, short.exit_price, short.exit_ts) == (True, 90.0, 3600)
    with pytest.raises(ValueError, match="already closed"):
        short.close(80.0, 7200)


def test_enums_have_the_seed_members_and_values():
    assert [s.value for s in Signal] == ["buy", "sell", "hold"]
    assert [s.value for s in Side] == ["long", "short"]
    assert Side.LONG.opposite is Side.SHORT and Side.SHORT.sign == -1
    assert [t.name for t in OrderType] == ["MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"]
    assert [s.name for s in OrderStatus] == ["PENDING", "FILLED", "PARTIALLY_FILLED", "CANCELLED"]
    assert [s.name for s in OrderState] == [
        "PENDING", "SUBMITTED", "CONFIRMED", "FILLED", "PARTIALLY_FILLED", "CANCELLED",
        "EXPIRED", "FAILED", "UNKNOWN",
    ]
    assert [t.value for t in TimeInForce] == ["IOC", "FOK", "GTC"]
    assert Order("X", Side.LONG, OrderType.MARKET, 1.0).time_in_force is TimeInForce.IOC


def test_derived_quantities():
    assert OpenInterest("X", 0, 10.0, 7.0).net == 3.0
    assert OpenInterest("X", 0, 10.0, 7.0).total == 17.0
    assert PoolState("p", "d", "a", "b", 10.0, 1500.0, 0.0).price_a_in_b == 150.0
    assert ArbRoute(("a", "b", "c"), (), 1, 1, 0, 0).hops == 3
    order = Order("X", Side.LONG, OrderType.MARKET, 3.0, filled_size=1.0)
    assert order.remaining == 2.0


candles = st.builds(
    Candle,
    ts=st.integers(0, 2**40),
    open=st.floats(allow_nan=False),
    high=st.floats(allow_nan=False),
    low=st.floats(allow_nan=False),
    close=st.floats(allow_nan=False),
    volume=st.floats(allow_nan=False),
    market=st.text(max_size=12),
    resolution_s=st.integers(1, 86400),
    venue=st.text(max_size=12),
)


@given(candles)
def test_any_candle_survives_pickle_with_equal_hash(candle):
    copy = pickle.loads(pickle.dumps(candle))
    assert copy == candle and hash(copy) == hash(candle)
