"""The kernel's run builder: one frozen RunInputs, checked once, that starts runs."""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flint
import flint_core
from flint.backtest.engine import BacktestEngine
from flint.execution.backtest_context import BacktestContext
from flint.execution.context import DEFAULT_VENUE as CONTEXT_DEFAULT
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, CandleSeries, OrderType, Side, Signal
from flint.strategy.base import Strategy
from flint_core import venues
from flint_core.inputs import RunInputs, build_inputs
from flint_core.loop import BacktestCore
from flint_core.markets import DEFAULT_VENUE, market_key, split_key
from flint_core.matching import MARKET
from flint_core.records import Fill, Order, PositionInfo
from flint_core.terms import VenueTerms

H = 3600


def bars(closes, market="SOL", venue="binance"):
    return [Candle(i * H, c, c + 1, c - 1, c, 100.0, market, H, venue)
            for i, c in enumerate(closes)]


def terms(venue):
    return VenueTerms(venue, 0.0005, 0.0002)


class Flip(Strategy):
    """Long one unit every other bar, flat in between, with market orders."""

    name = "flip"

    def reset(self):
        self.bar = -1

    def on_candle(self, candle, history, ctx):
        self.bar += 1
        if self.bar % 2 == 0:
            ctx.market_order(candle.market, Side.LONG, 1.0)
        else:
            ctx.close_position(candle.market)
        return Signal.HOLD


def run_core(inputs):
    core = BacktestCore(inputs)
    strategy = Flip()
    strategy.reset()
    core.run(strategy, BacktestContext(core), True)
    return core


def test_one_frozen_record_starts_independent_runs():
    inputs = build_inputs(bars([100, 102, 101, 104, 103]), fill_model=ClosePriceFill(),
                          terms_for=terms, capital=1_000.0)
    assert isinstance(inputs, RunInputs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.capital = 5.0  # type: ignore[misc]
    first, second = run_core(inputs), run_core(inputs)
    assert first.equity_curve == second.equity_curve
    assert first.ledger.fills == second.ledger.fills and len(first.ledger.fills) == 5
    assert first.ledger is not second.ledger and first.feeds[0] is not second.feeds[0]


def test_the_engine_and_a_core_from_build_inputs_agree():
    candles = bars([100, 102, 101, 104, 103])
    result = BacktestEngine(Flip(), initial_capital=1_000.0, fee_rate=0.0005,
                            fill_model=ClosePriceFill()).run(candles)
    core = run_core(build_inputs(candles, fill_model=ClosePriceFill(), capital=1_000.0,
                                 terms_for=lambda v: VenueTerms(v, 0.0005, 0.0005)))
    assert result.equity_curve == core.equity_curve
    assert result.fills == core.ledger.fills


def test_balances_above_capital_are_refused():
    with pytest.raises(ValueError, match=r"balances add up to 3000, more than initial_capital"):
        build_inputs(bars([10]), fill_model=ClosePriceFill(), terms_for=terms, capital=2_000.0,
                     balances={"a": 1_000.0, "b": 2_000.0})


def test_transfers_need_a_route():
    inputs = build_inputs(bars([10, 10]), fill_model=ClosePriceFill(), terms_for=terms,
                          capital=2_000.0, balances={"a": 1_000.0, "b": 1_000.0},
                          transfer_routes={("a", "b"): (60.0, 1.0)})
    core = BacktestCore(inputs)
    assert core.transfer("b", "a", 10.0) is False  # no default route was given
    assert core.transfer("a", "b", 10.0) is True


def test_place_takes_its_options_by_keyword():
    core = BacktestCore(build_inputs(bars([100, 101]), fill_model=ClosePriceFill(),
                                     terms_for=terms, capital=1_000.0))
    core.feeds[0].advance(0)
    with pytest.raises(TypeError):
        core.place(MARKET, "SOL", 1, 1.0, 0.0)  # type: ignore[misc]
    oid = core.place(MARKET, "SOL", 1, 1.0, tag="entry")
    (order,) = [t.order for t in core.queue.open_tickets()]
    assert (order.order_id, order.tag, order.venue, order.side) == (
        oid, "entry", DEFAULT_VENUE, Side.LONG)


# Candle lists: checked and converted without building every column


def corrupt(candle, field, value):
    values = {f: getattr(candle, f) for f in ("ts", "open", "high", "low", "close", "volume")}
    values[field] = value
    return Candle(**values, market=candle.market, resolution_s=H, venue=candle.venue)


@settings(max_examples=60, deadline=None)
@given(
    closes=st.lists(st.floats(2.0, 1e4), min_size=2, max_size=30),
    field=st.sampled_from(["ts", "open", "high", "low", "close", "volume"]),
    bad=st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0]),
    at=st.integers(0, 29),
    second=st.sampled_from(["open", "close", "volume"]),
)
def test_a_candle_list_is_refused_exactly_like_its_columns(closes, field, bad, at, second):
    candles = bars(closes)
    at %= len(candles)
    if field == "ts":
        candles[at] = corrupt(candles[at], "ts", 0 if at else H)  # out of order
    else:
        candles[at] = corrupt(candles[at], field, bad)
    if len(candles) > 2:  # a second problem elsewhere: the same one must be named first
        other = (at + 1) % len(candles)
        candles[other] = corrupt(candles[other], second, math.nan)
    columns = CandleSeries.from_candles(candles)
    eager = CandleSeries(columns.timestamps.copy(), columns.opens.copy(), columns.highs.copy(),
                         columns.lows.copy(), columns.closes.copy(), columns.volumes.copy(),
                         "SOL", H, "binance")
    problems = []
    for given_as in (candles, eager):
        try:
            build_inputs(given_as, fill_model=ClosePriceFill(), terms_for=terms, capital=1.0)
            problems.append(None)
        except ValueError as exc:
            problems.append(str(exc))
    from_list, from_columns = problems
    assert from_list == from_columns
    broken = field != "volume" or not math.isfinite(bad) or len(candles) > 2
    assert (from_list is not None) == broken


@given(st.lists(st.tuples(st.floats(1.0, 1e4), st.integers(1, 3)), min_size=1, max_size=40),
       st.integers(1, 5))
def test_a_series_from_candles_reads_like_one_from_columns(closes_and_gaps, step):
    stamps = np.cumsum([gap * H for _, gap in closes_and_gaps]).tolist()  # gaps or not
    candles = [dataclasses.replace(c, ts=ts) for c, ts in
               zip(bars([close for close, _ in closes_and_gaps]), stamps, strict=True)]
    series = CandleSeries.from_candles(candles)
    columns = np.array([[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in candles])
    eager = CandleSeries(columns[:, 0].astype(np.int64), *columns[:, 1:].T, "SOL", H, "binance")
    assert series == eager and repr(series) == repr(eager)
    assert series[::step] == eager[::step] and series[1:] == eager[1:]
    assert list(series.window(0, len(candles))) == list(eager)
    assert series.closes.tolist() == eager.closes.tolist()
    assert not series.closes.flags.writeable


def test_a_series_from_a_list_hands_out_those_candles_and_ignores_later_changes():
    candles = bars([100, 101, 102])
    series = CandleSeries.from_candles(candles)
    assert series[1] is candles[1] and series[-1] is candles[2]
    candles.append(bars([1, 2, 3, 4])[3])
    candles[0] = candles[3]
    assert len(series) == 3 and series.closes.tolist() == [100, 101, 102]


# One name for the default venue, one helper for "venue:market" keys


@given(st.text(min_size=1).filter(lambda v: ":" not in v), st.text(min_size=1))
def test_market_keys_round_trip(venue, market):
    assert split_key(market_key(venue, market)) == (venue, market)
    if ":" not in market:
        assert split_key(market) == (None, market)


@pytest.mark.parametrize("key", ["", ":SOL", "binance:"])
def test_bad_market_keys_are_refused(key):
    with pytest.raises(ValueError, match="market key"):
        split_key(key)


def test_the_default_venue_has_one_name_everywhere():
    assert DEFAULT_VENUE == "default"
    assert CONTEXT_DEFAULT is DEFAULT_VENUE
    assert venues.DEFAULT_VENUE.name == DEFAULT_VENUE
    assert Candle(0, 1, 1, 1, 1, 0).venue == DEFAULT_VENUE
    assert Fill("SOL", Side.LONG, 1, 1, 0, 0).venue == DEFAULT_VENUE
    assert PositionInfo("SOL", Side.LONG, 1, 1).venue == DEFAULT_VENUE
    assert Order("SOL", Side.LONG, OrderType.MARKET, 1).venue == DEFAULT_VENUE
    assert CandleSeries([], [], [], [], [], []).venue == DEFAULT_VENUE
    defined = re.compile(r'^\s*DEFAULT_VENUE\s*(:[^=]*)?=\s*["\']', re.MULTILINE)
    roots = [Path(flint.__file__).parent, Path(flint_core.__file__).parent]
    holders = sorted(str(p.relative_to(p.parents[1])) for root in roots
                     for p in root.rglob("*.py") if defined.search(p.read_text()))
    assert holders == ["flint_core/markets.py"]


def test_a_warm_up_starts_every_market_after_it_with_the_bars_before_as_history():
    four_hourly = [Candle(i * 4 * H, 50.0, 51.0, 49.0, 50.0, 1.0, "ETH", 4 * H, "binance")
                   for i in range(3)]
    inputs = build_inputs(bars([100, 101, 102, 103, 104, 105, 106, 107, 108]),
                          extra_markets={"binance:ETH": four_hourly}, warmup=4,
                          fill_model=ClosePriceFill(), terms_for=terms, capital=1_000.0)
    primary, extra = inputs.markets
    assert (primary.lead_in, len(primary.series), primary.candles[0].ts) == (4, 5, 4 * H)
    assert (extra.lead_in, len(extra.series)) == (1, 2)  # the first 4 h bar closed at 4 h
    seen = []

    class Record(Flip):
        def on_candle(self, candle, history, ctx):
            seen.append((candle.ts, len(history)))
            return super().on_candle(candle, history, ctx)

    core = BacktestCore(inputs)
    strategy = Record()
    strategy.reset()
    core.run(strategy, BacktestContext(core), True)
    assert seen[0] == (4 * H, 4) and len(seen) == 5  # the warm-up bars are history only
    assert len(core.equity_curve) == 5 and core.ledger.fills[0].ts == 4 * H


@pytest.mark.parametrize("warmup", [-1, 9, 12])
def test_a_warm_up_must_leave_bars_to_trade(warmup):
    with pytest.raises(ValueError, match=r"warmup must leave bars to trade: 0 <= warmup < 9"):
        build_inputs(bars(range(100, 109)), warmup=warmup, fill_model=ClosePriceFill(),
                     terms_for=terms, capital=1_000.0)
