"""Trend strategies trade where their idea says, on bars built to show it."""

import itertools

import numpy as np
import pytest

from flint.models import Candle, CandleSeries, Side, Signal
from flint.strategy import (
    ATRBreakoutStrategy,
    BreakoutMomentumStrategy,
    DualTimeframeStrategy,
    EMACrossoverStrategy,
    MACDDivergenceStrategy,
    MACrossoverStrategy,
    MomentumBreakoutStrategy,
    MomentumStrategy,
)


def signals(strategy, candles, ctx=None, history_type=CandleSeries):
    """Drive ``strategy`` bar by bar like the engine (history = the earlier bars)."""
    strategy.reset()
    out = []
    for i in range(len(candles)):
        history = candles[:i] if history_type is CandleSeries else list(candles)[:i]
        out.append(strategy.on_candle(candles[i], history, ctx))
    return out


def flat(n, price=100.0):
    return [price] * n


@pytest.mark.parametrize("history_type", [list, CandleSeries])
def test_ma_crossover_signals_the_bar_after_each_cross(bars, history_type):
    closes = [14, 13, 12, 11, 10, 9, 8, 9, 11, 13, 13, 12, 9, 7, 7]
    got = signals(MACrossoverStrategy(2, 4), bars(closes), history_type=history_type)
    # fast SMA(2) - slow SMA(4) of the closes up to bar i-1: first > 0 with bars up to 8
    # ((9+11)/2 = 10 > 9.25), first < 0 again with bars up to 12 (10.5 < 11.75)
    expected = [Signal.HOLD] * len(closes)
    expected[9], expected[13] = Signal.BUY, Signal.SELL
    assert got == expected


def test_ma_crossover_agrees_with_numpy_moving_averages(bars):
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    got = signals(MACrossoverStrategy(5, 20), bars(closes))
    fast = np.convolve(closes, np.ones(5) / 5, "valid")[15:]
    slow = np.convolve(closes, np.ones(20) / 20, "valid")
    diff = fast - slow  # diff[k] covers bars up to k + 19, so it decides bar k + 20
    expected = [Signal.HOLD] * 21 + [
        Signal.BUY if a <= 0 < b else Signal.SELL if a >= 0 > b else Signal.HOLD
        for a, b in itertools.pairwise(diff[:-1])
    ]
    assert got == expected
    assert Signal.BUY in got and Signal.SELL in got


def test_crossovers_reject_a_fast_period_not_below_the_slow_one():
    with pytest.raises(ValueError, match="fast_period < slow_period"):
        MACrossoverStrategy(30, 30)
    with pytest.raises(ValueError, match="fast < slow"):
        EMACrossoverStrategy(26, 12)


def test_ema_crossover_buys_the_turn_up_and_sells_the_turn_down(bars, backtest, bar_of):
    closes = np.concatenate([np.linspace(120, 80, 60), np.linspace(80, 130, 60),
                             np.linspace(130, 90, 60)])
    result = backtest(EMACrossoverStrategy(5, 20), bars(closes))
    buys = [bar_of(f) for f in result.fills if f.side == Side.LONG]
    sells = [bar_of(f) for f in result.fills if f.side == Side.SHORT]
    assert len(buys) == len(sells) == 1
    assert 60 < buys[0] < 75 and 120 < sells[0] < 135


def test_momentum_buys_a_rally_and_sells_a_drop(bars):
    closes = [*flat(30), 103.0, 106.0, 106.0, *flat(30, 106.0), 101.0, 99.0]
    got = signals(MomentumStrategy(lookback=24, threshold_pct=5.0), bars(closes))
    assert got.index(Signal.BUY) == 31  # +6 % on the 24 bars before
    assert got.index(Signal.SELL) == 64  # 99 is 6.6 % below 106
    assert got[:31] == [Signal.HOLD] * 31


def test_breakout_momentum_needs_the_volume_to_confirm(bars):
    closes = [100.0 + (i % 3) for i in range(30)] + [105.0]
    quiet = bars(closes, volumes=[100.0] * 31)
    loud = bars(closes, volumes=[100.0] * 30 + [200.0])
    strategy = BreakoutMomentumStrategy(lookback=20, volume_mult=1.5)
    assert signals(strategy, loud)[-1] is Signal.BUY
    assert signals(strategy, quiet)[-1] is Signal.HOLD


def test_breakout_momentum_sells_a_fall_of_atr_multiples_below_the_high(bars):
    closes = [100.0 + (i % 3) for i in range(30)]  # high 102, true range about 2
    # ATR(20) = 4/3 (true ranges 1, 1, 2), so the line is 102 - 2 * 4/3 = 99.33
    assert signals(BreakoutMomentumStrategy(), bars([*closes, 99.5]))[-1] is Signal.HOLD
    assert signals(BreakoutMomentumStrategy(), bars([*closes, 99.2]))[-1] is Signal.SELL


class OracleContext:
    """Just what momentum_breakout asks a context for."""

    def __init__(self, price, ts):
        self.quote = (price, ts)

    def get_oracle_price(self, market=None):
        return self.quote


def test_momentum_breakout_needs_a_fresh_oracle_to_confirm(bars):
    candles = bars([100.0 + (i % 3) for i in range(30)] + [104.0])
    last = candles[-1]
    strategy = MomentumBreakoutStrategy(breakout_lookback=20)
    assert signals(strategy, candles)[-1] is Signal.BUY  # no context: unconfirmed
    assert signals(strategy, candles, OracleContext(103.0, last.ts))[-1] is Signal.BUY
    # the index did not break the 102 high: the perp's move alone is premium
    assert signals(strategy, candles, OracleContext(101.5, last.ts))[-1] is Signal.HOLD
    stale = OracleContext(101.5, last.ts - 2 * 3600)
    assert signals(strategy, candles, stale)[-1] is Signal.BUY
    unconfirmed = MomentumBreakoutStrategy(breakout_lookback=20, oracle_confirmation=False)
    assert signals(unconfirmed, candles, OracleContext(101.5, last.ts))[-1] is Signal.BUY


def test_momentum_breakout_sells_the_low_break_and_on_its_trailing_stop(
    bars, backtest, bar_of
):
    rise = [100.0 + (i % 3) for i in range(30)] + [104.0, 108.0, 110.0]
    result = backtest(MomentumBreakoutStrategy(20, trailing_stop_pct=0.02),
                      bars([*rise, 107.5, 107.0]))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 30), (Side.SHORT, 33)]
    # without the stop it holds until the close breaks the 20-bar low
    fall = rise + [107.5, 107.0] + [100.0] * 5 + [99.0]
    result = backtest(MomentumBreakoutStrategy(20, trailing_stop_pct=0.0), bars(fall))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 30), (Side.SHORT, 40)]


def test_dual_timeframe_buys_strength_in_an_uptrend_only(bars):
    up = list(np.linspace(90, 100, 60))
    got = signals(DualTimeframeStrategy(50, 10, 0.02), bars([*up, 103.0]))
    assert got[-1] is Signal.BUY and Signal.SELL not in got
    down = list(np.linspace(110, 100, 60))
    got = signals(DualTimeframeStrategy(50, 10, 0.02), bars([*down, 103.0]))
    assert got[-1] is Signal.HOLD  # a jump against the trend is not an entry
    got = signals(DualTimeframeStrategy(50, 10, 0.02), bars([*down, 96.0]))
    assert got[-1] is Signal.SELL


def test_macd_divergence_stops_and_reverses_on_each_cross(bars, backtest, bar_of):
    closes = 100 + 10 * np.sin(np.arange(400) * 2 * np.pi / 80)
    result = backtest(MACDDivergenceStrategy(), bars(closes))
    fills = [(bar_of(f), f.side) for f in result.fills]
    # a first long, then on every later cross: close the position and open the other way
    assert fills[0][1] == Side.LONG and len(fills) >= 9
    for (bar_a, side_a), (bar_b, side_b) in zip(fills[1::2], fills[2::2], strict=False):
        assert bar_a == bar_b and side_a == side_b
    sides = [side for _, side in fills[1::2]]
    assert sides[:4] == [Side.SHORT, Side.LONG, Side.SHORT, Side.LONG]
    assert len(result.open_positions) == 1


def test_atr_breakout_protects_an_entry_with_a_stop_and_exits_inside_the_channel(
    bars, backtest, bar_of
):
    calm = [100.0 + (i % 2) for i in range(40)]
    # channel 100.5 +/- 2 x ATR 1 when 103 breaks out; stop at 103 - 2 = 101; the next
    # close, 102, is back inside the (slightly wider) channel and above the stop
    result = backtest(ATRBreakoutStrategy(), bars([*calm, 103.0, 102.0]))
    assert [(f.side, bar_of(f), f.price) for f in result.fills] == [
        (Side.LONG, 40, 103.0), (Side.SHORT, 41, 102.0),
    ]
    # a crash through the stop after the breakout: the stop closes the long at its price
    result = backtest(ATRBreakoutStrategy(), bars([*calm, 106.0, 90.0]))
    stop = result.fills[1]
    assert stop.side == Side.SHORT and bar_of(stop) == 41
    assert 90.0 < stop.price < 106.0  # at its trigger, not at the close
    # flat again, the strategy sees 90 below the channel: a short
    assert [(f.side, bar_of(f), f.price) for f in result.fills[2:]] == [(Side.SHORT, 41, 90.0)]
    # a break below the channel opens a short
    result = backtest(ATRBreakoutStrategy(), bars([*calm, 94.0]))
    assert [f.side for f in result.fills] == [Side.SHORT]


def test_v2_strategies_hold_without_a_context(bars):
    closes = list(100 + 10 * np.sin(np.arange(200) / 7))
    for strategy in (MACDDivergenceStrategy(), ATRBreakoutStrategy()):
        assert set(signals(strategy, bars(closes))) == {Signal.HOLD}


def test_a_plain_candle_list_works_as_history():
    candles = [Candle(3600 * i, c, c, c, c, 1.0, "X") for i, c in enumerate([5, 4, 3, 4, 6, 8])]
    got = signals(MomentumStrategy(lookback=2, threshold_pct=30.0), candles, history_type=list)
    assert got == [Signal.HOLD, Signal.HOLD, Signal.SELL, Signal.HOLD, Signal.BUY, Signal.BUY]
