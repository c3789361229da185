"""Parity of a live session on the simulated venue: what it refuses to replay (a resumed
session, one that started holding a position) and an end state the backtest cannot
reach (trades made at the venue outside flint).

The session's venue is named ``default`` (the backtest's generic venue: 5 bps taker,
0 maker, as the simulated venue charges), trading through the simulated venue's adapter.
"""

import pytest

from flint.backtest.parity import compare_live_session
from flint.execution.live_base import LiveExecutionContext
from flint.live.session import LiveConfig, LiveSession, read_recording
from flint.paper.session import SessionError
from flint.store import FlintStore
from flint.testing.sim_harness import SimHarness
from flint_core.enums import Side, Signal
from flint_core.records import Candle

H = 3600
START = 1_700_000_000 // H * H
WARMUP = 5
MARKET = "SOL-PERP"


def bar(number: int) -> Candle:
    """Bar ``number`` (0 is the first warm-up bar): closes rising by 1 from 100."""
    close = 100.0 + number
    return Candle(START + number * H, close - 0.5, close + 1.0, close - 1.0, close, 10.0,
                  MARKET, H, "default")


class BuyThenSell:
    """Buys one SOL on the bar opening at ``buy_ts`` and sells it on ``sell_ts``."""

    def __init__(self, buy_ts: int, sell_ts: int | None = None) -> None:
        self.buy_ts, self.sell_ts = buy_ts, sell_ts

    def reset(self) -> None:
        pass

    def on_candle(self, candle, history, ctx):
        if candle.ts == self.buy_ts:
            ctx.market_order(MARKET, Side.LONG, 1.0)
        elif candle.ts == self.sell_ts:
            ctx.market_order(MARKET, Side.SHORT, 1.0, reduce_only=True)
        return Signal.HOLD


@pytest.fixture
def harness():
    venue = SimHarness()
    yield venue
    venue.close()


@pytest.fixture
def store(tmp_path):
    with FlintStore(tmp_path / "live.duckdb") as opened:
        opened.upsert_candles([bar(n) for n in range(WARMUP)])
        yield opened


def run(store, harness, session, strategy, bars, *, before_end=None, poll_interval_s=0.05):
    """``strategy`` live for ``bars`` (numbers), each bar's close the venue's mark when
    it runs; ``before_end(harness)`` then runs, and the session ends."""
    config = LiveConfig("buy_then_sell", ["default"], MARKET, H, warmup_bars=WARMUP)
    ctx = LiveExecutionContext(harness.adapter(), store, reconcile_interval_s=3600,
                               poll_interval_s=poll_interval_s)
    live = LiveSession.open(store, config, strategy, ctx, session=session)
    live.start()
    try:
        for number in bars:
            harness.set_mark(MARKET, bar(number).close)
            live.step(bar(number))
        if before_end is not None:
            before_end(harness)
        live.end()
    finally:
        live.close()


def test_an_uninterrupted_session_replays_exactly_and_a_resumed_one_is_refused(
        store, harness, bounded):
    bounded(60)
    strategy = BuyThenSell(bar(WARMUP + 1).ts, bar(WARMUP + 3).ts)
    run(store, harness, "s", strategy, range(WARMUP, WARMUP + 5))
    report = compare_live_session(store, "s", BuyThenSell(strategy.buy_ts, strategy.sell_ts))
    assert report.exact, report.summary()
    assert sum(map(len, report.paper_fills.values())) == 2

    run(store, harness, "s", strategy, range(WARMUP + 5, WARMUP + 7))  # resumed
    assert read_recording(store, "s").segments == 2
    with pytest.raises(SessionError, match=r"'s' was resumed \(2 segments\)"):
        compare_live_session(store, "s", BuyThenSell(strategy.buy_ts, strategy.sell_ts))


def test_a_session_that_started_with_a_position_is_refused(store, harness, bounded):
    bounded(60)
    holder = BuyThenSell(bar(WARMUP).ts)  # buys and never sells
    run(store, harness, "first", holder, range(WARMUP, WARMUP + 2))
    assert harness.venue_position(MARKET) == 1.0
    run(store, harness, "second", BuyThenSell(0), range(WARMUP + 2, WARMUP + 4))
    assert read_recording(store, "second").start["default"]["positions"] == {MARKET: 1.0}
    with pytest.raises(SessionError, match=r"'second' started with positions .*SOL-PERP"):
        compare_live_session(store, "second", BuyThenSell(0))


def sell_by_hand(venue):
    """The position (1 SOL bought at 105) sold at 150 on the venue's website."""
    venue.set_mark(MARKET, 150.0)
    venue.close_by_hand(MARKET)


def round_trip_by_hand(venue):
    """1 SOL more bought at 150 and sold at 160 on the venue's website (the venue
    realises the sale against the average entry: (105 + 150) / 2)."""
    venue.set_mark(MARKET, 150.0)
    venue.sim.place_external(MARKET, "buy", 1.0, "market")
    venue.set_mark(MARKET, 160.0)
    venue.sim.place_external(MARKET, "sell", 1.0, "market")


@pytest.mark.parametrize(("by_hand", "divergence", "gained"), [
    (sell_by_hand, "default position: session 0.0 vs backtest 1.0", 45.0 - 150.0 * 0.0005),
    (round_trip_by_hand, "cash: session ", 160.0 - 127.5 - 310.0 * 0.0005),
])
def test_trades_at_the_venue_outside_flint_are_an_end_divergence(store, harness, bounded,
                                                                   by_hand, divergence, gained):
    bounded(60)
    strategy = BuyThenSell(bar(WARMUP).ts)
    # the context polls for events too rarely to hear of the trades by hand: the end
    # state is the venue's all the same
    run(store, harness, "s", strategy, range(WARMUP, WARMUP + 3), before_end=by_hand,
        poll_interval_s=3600)
    report = compare_live_session(store, "s", BuyThenSell(strategy.buy_ts))
    assert report.first_divergence is None  # bar by bar, the replay is the session
    assert not report.exact and not report.passed
    assert report.end_divergence.startswith(divergence)
    assert report.summary().startswith(f"parity broken at the end: {divergence}")
    # the venue's cash at the end less the backtest's: the trades by hand
    assert report.paper_equity - report.backtest_equity == pytest.approx(gained)


def test_a_killed_session_records_the_venues_flat_end(store, harness, bounded):
    """The kill switch's closes are at the venue when the end state is recorded: the
    recording holds the venue's positions after them, not the context's before."""
    bounded(60)
    config = LiveConfig("buy_then_sell", ["default"], MARKET, H, warmup_bars=WARMUP)
    ctx = LiveExecutionContext(harness.adapter(), store, reconcile_interval_s=3600,
                               poll_interval_s=3600)  # the context hears of nothing itself
    live = LiveSession.open(store, config, BuyThenSell(bar(WARMUP).ts), ctx, session="k")
    live.start()
    try:
        for number in range(WARMUP, WARMUP + 2):
            harness.set_mark(MARKET, bar(number).close)
            live.step(bar(number))
        assert harness.venue_position(MARKET) == 1.0
        live.kill()
    finally:
        live.close()
    assert harness.venue_position(MARKET) == 0.0
    recording = read_recording(store, "k")
    assert recording.status == "killed"
    assert recording.end["default"]["positions"] == {}
