"""Funding as columns (:class:`flint_core.funding.FundingColumns`): checked once, and a
run on them gives exactly what the same run on ``FundingRate`` records gives."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, FundingRate, Side, Signal
from flint.strategy.base import Strategy
from flint_core.funding import FundingColumns
from flint_core.inputs import funding_streams
from flint_core.venues import DEFAULT_VENUE

H = 3600
VENUES = {name: DEFAULT_VENUE.merged({"name": name}) for name in ("binance", "hyperliquid")}


def bars(closes, market, venue):
    return [Candle(i * H, c, c + 1, c - 1, c, 100.0, market, H, venue)
            for i, c in enumerate(closes)]


class Holder(Strategy):
    """Opens a long on SOL (binance), a short on SOL (hyperliquid) and a long on ETH
    (binance) on the first bar, flattens the long SOL midway, and asks every funding
    question on every bar."""

    name = "holder"

    def reset(self):
        self.bar = -1
        self.answers = []

    def on_candle(self, candle, history, ctx):
        self.bar += 1
        if self.bar == 0:
            ctx.market_order("SOL", Side.LONG, 2.0, venue="binance")
            ctx.market_order("SOL", Side.SHORT, 1.0, venue="hyperliquid")
            ctx.market_order("ETH", Side.LONG, 0.5, venue="binance")
        elif self.bar == 12:
            ctx.market_order("SOL", Side.SHORT, 2.0, venue="binance", reduce_only=True)
        self.answers.append((
            ctx.get_funding_rate(), ctx.get_funding_rate("ETH"),
            ctx.get_funding_rate(venue="hyperliquid"),
            list(ctx.get_funding_rates(lookback=3)),
            list(ctx.get_funding_rates("ETH", lookback=2, venue="binance")),
            {k: list(v) for k, v in ctx.get_funding_by_venue(lookback=4).items()},
            ctx.get_venue_snapshots(lookback=2), ctx.get_oracle_price(),
            ctx.get_oracle_price("ETH"),
        ))
        return Signal.HOLD


def run(funding, closes=None):
    closes = closes or [100 + (i % 7) - 3 for i in range(30)]
    strategy = Holder()
    candles = {"binance:SOL": bars(closes, "SOL", "binance"),
               "hyperliquid:SOL": bars(closes, "SOL", "hyperliquid"),
               "binance:ETH": bars([c * 20 for c in closes], "ETH", "binance")}
    result = BacktestEngine(strategy, fill_model=ClosePriceFill(), funding_rates=funding,
                            venues=VENUES, max_runtime_s=0).run(candles).to_dict()
    result["logs"] = [line for line in result["logs"] if " bars in " not in line]  # a time
    return result, strategy.answers


def by_venue(records):
    out = {}
    for r in records:
        out.setdefault(r.source, []).append(r)
    return out


settlement = st.builds(
    FundingRate,
    market=st.sampled_from(["SOL", "ETH", "BTC"]),
    ts=st.integers(-2 * H, 32 * H),
    rate=st.floats(-0.01, 0.01, allow_nan=False),
    oracle_price=st.sampled_from([0.0, 0.0, 99.5, math.nan, 2001.0]),
    mark_price=st.sampled_from([0.0, 100.25, 1999.0]),
    slot=st.integers(0, 5),
    source=st.sampled_from(["binance", "hyperliquid", "drift"]),
    interval_s=st.sampled_from([H, 8 * H]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(settlement, max_size=60))
def test_columns_run_exactly_as_the_records(records):
    """Any settlements (unsorted, equal times, several venues and markets, oracle and
    mark prices present or not): the same result and the same answers to the strategy,
    given as records, as columns, and as ``{venue: ...}`` of either."""
    expected = repr(run(records))  # repr: exact floats, and NaN equals NaN
    assert repr(run(FundingColumns.from_records(records))) == expected
    assert repr(run({v: FundingColumns.from_records(rs)
                     for v, rs in by_venue(records).items()})) == expected
    assert repr(run(by_venue(records))) == expected


def test_columns_built_from_arrays_pay_what_records_pay():
    """Columns as a store read gives them: names as (names, codes), prices falling back
    from oracle to mark to the bar's close."""
    ts = np.array([6 * H, 2 * H, 4 * H, 4 * H, 3 * H], dtype=np.int64)
    rate = np.array([0.001, -0.002, 0.0005, 0.003, 0.0001])
    oracle = np.array([0.0, 101.0, 0.0, 0.0, 0.0])
    mark = np.array([0.0, 0.0, 98.0, 0.0, 2000.0])
    interval = np.array([H, H, 8 * H, H, H], dtype=np.int64)
    markets = (["SOL", "ETH"], np.array([0, 0, 0, 0, 1]))
    sources = (["hyperliquid", "binance"], np.array([1, 1, 0, 1, 1]))
    columns = FundingColumns(ts, rate, market=markets, source=sources, oracle_price=oracle,
                             mark_price=mark, interval_s=interval)
    records = [FundingRate("SOL", 6 * H, 0.001, source="binance"),
               FundingRate("SOL", 2 * H, -0.002, 101.0, source="binance"),
               FundingRate("SOL", 4 * H, 0.0005, 0.0, 98.0, source="hyperliquid",
                           interval_s=8 * H),
               FundingRate("SOL", 4 * H, 0.003, source="binance"),
               FundingRate("ETH", 3 * H, 0.0001, 0.0, 2000.0, source="binance")]
    assert columns.to_records() == records
    result, answers = run(columns)
    assert (result, answers) == run(records)
    paid = {(ts, venue, market): price
            for ts, venue, market, _, price, _ in result["funding_payments"]}
    assert paid[(2 * H, "binance", "SOL")] == 101.0  # the oracle price
    assert paid[(4 * H, "hyperliquid", "SOL")] == 98.0  # no oracle: the mark price
    assert paid[(4 * H, "binance", "SOL")] == 100  # neither: the close of the bar it falls in
    assert paid[(3 * H, "binance", "ETH")] == 2000.0
    assert answers[3][2] == 0.0005 * (3600 / (8 * H))  # hourly


def test_one_name_stands_for_every_row_and_numbers_for_whole_columns():
    columns = FundingColumns([H, 2 * H], [0.001, 0.002], market="SOL", source="binance",
                             oracle_price=100.0, interval_s=8 * H)
    assert columns.to_records() == [
        FundingRate("SOL", H, 0.001, 100.0, source="binance", interval_s=8 * H),
        FundingRate("SOL", 2 * H, 0.002, 100.0, source="binance", interval_s=8 * H)]
    assert len(FundingColumns([], [], market="SOL")) == 0
    assert run(FundingColumns([], [], market="SOL")) == run([])


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"rate": [0.001, math.nan]}, ValueError, r"row 1: rate must be finite"),
    ({"rate": [0.001, math.inf]}, ValueError, r"row 1: rate must be finite"),
    ({"interval_s": [H, 0]}, ValueError, r"row 1: .*interval_s > 0"),
    ({"interval_s": -H}, ValueError, r"row 0: .*interval_s > 0"),
    ({"rate": [0.001]}, ValueError, r"'rate' has 1 values for 2 rows"),
    ({"ts": [[H, 2 * H]]}, ValueError, r"'ts' must be 1-D"),
    ({"ts": [1.5, 2.5]}, TypeError, r"'ts' must hold numbers of int64"),
    ({"rate": ["a", "b"]}, TypeError, r"'rate' must hold numbers"),
    ({"market": ("SOL", [0, 0])}, TypeError, r"market names must be a sequence of strings"),
    ({"market": (["SOL"], [0, 1])}, ValueError, r"market codes point past"),
    ({"market": (["SOL"], [0])}, ValueError, r"market codes must be 2 integers"),
    ({"source": ([1], [0, 0])}, TypeError, r"source names must be strings"),
    ({"source": 7}, TypeError, r"source must be a name or \(names, codes\)"),
])
def test_bad_columns_are_refused_saying_what_is_wrong(change, error, message):
    args = {"ts": [H, 2 * H], "rate": [0.001, 0.002], "market": "SOL", **change}
    with pytest.raises(error, match=message):
        FundingColumns(args.pop("ts"), args.pop("rate"), **args)


def test_columns_are_read_only_and_names_sorted():
    columns = FundingColumns([H, H], [0.1, 0.2], market=(["b", "a", "b"], [2, 1]),
                             source="x")
    assert columns.markets == ("a", "b") and columns.market_codes.tolist() == [1, 0]
    with pytest.raises(ValueError, match="read-only"):
        columns.rate[0] = 1.0


def test_a_venue_key_must_match_its_columns():
    columns = FundingColumns([H], [0.001], market="SOL", source="binance")
    with pytest.raises(ValueError, match=r"funding_rates\['hyperliquid'\]\[0\] is funding of "
                                         r"venue 'binance'"):
        run({"hyperliquid": columns})


@settings(max_examples=60, deadline=None)
@given(st.lists(settlement, max_size=40))
def test_streams_hold_each_venue_and_market_oldest_first(records):
    """Columns built straight from arrays (names as ``numpy.unique`` codes) split into one
    stream per (venue, market), by name, each sorted by time with equal times in row order,
    as the records would be."""
    def coded(names):
        distinct, codes = np.unique(np.array(names, dtype=str), return_inverse=True)
        return (distinct.tolist(), codes)

    columns = FundingColumns(
        [r.ts for r in records], [r.rate for r in records],
        market=coded([r.market for r in records]), source=coded([r.source for r in records]),
        oracle_price=[r.oracle_price for r in records], mark_price=[r.mark_price for r in records],
        slot=[r.slot for r in records], interval_s=[r.interval_s for r in records],
    ) if records else FundingColumns([], [], market="SOL")
    groups = {}
    for r in records:
        groups.setdefault((r.source, r.market), []).append(r)
    expected = [(venue, market, sorted(rs, key=lambda r: r.ts))
                for (venue, market), rs in sorted(groups.items())]
    streams = [(s.venue, s.market, [FundingRate(s.market, *row[:5], s.venue, row[5]) for row in
                                    zip(s.ts, s.rate, s.oracle_price, s.mark_price, s.slot,
                                        s.interval_s, strict=True)])
               for s in funding_streams(columns)]
    assert repr(streams) == repr(expected)
