"""Mean-reversion and multi-signal strategies trade where their idea says."""

import numpy as np

from flint.indicators import macd, rsi
from flint.models import CandleSeries, Side, Signal
from flint.strategy import (
    BollingerStrategy,
    MeanReversionStrategy,
    RSIMACDComboStrategy,
    RSIStrategy,
    VWAPReversionStrategy,
)


def signals(strategy, candles):
    strategy.reset()
    return [strategy.on_candle(candles[i], candles[:i]) for i in range(len(candles))]


def wiggle(n, price=100.0, size=1.0):
    """A flat market with a small zigzag (so deviations are defined)."""
    return [price + size * ((i % 4) - 1.5) / 1.5 for i in range(n)]


def test_rsi_buys_the_drop_into_oversold_and_sells_the_rise_into_overbought(bars):
    closes = wiggle(30) + list(np.linspace(100, 85, 10)) + list(np.linspace(85, 105, 15))
    got = signals(RSIStrategy(), bars(closes))
    assert got.count(Signal.BUY) == 1 and got.count(Signal.SELL) == 1
    buy, sell = got.index(Signal.BUY), got.index(Signal.SELL)
    assert 30 < buy < 40 < sell
    candles = bars(closes)
    assert rsi(candles[: buy - 1], 14) >= 30 > rsi(candles[:buy], 14)
    assert rsi(candles[: sell - 1], 14) <= 70 < rsi(candles[:sell], 14)


def test_bollinger_buys_the_lower_band_and_sells_the_upper(bars):
    base = wiggle(30)
    got = signals(BollingerStrategy(), bars([*base, 97.0]))
    assert got[-1] is Signal.BUY and set(got[:-1]) == {Signal.HOLD}
    assert signals(BollingerStrategy(), bars([*base, 103.0]))[-1] is Signal.SELL
    assert signals(BollingerStrategy(), bars([*base, 100.2]))[-1] is Signal.HOLD
    assert signals(BollingerStrategy(), bars([100.0] * 25))[-1] is Signal.HOLD  # no width


def test_mean_reversion_buys_a_deep_dip_and_sells_on_reversion(bars, backtest, bar_of):
    closes = [*wiggle(30), 96.0, 96.5, 99.9]
    result = backtest(MeanReversionStrategy(), bars(closes))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 30), (Side.SHORT, 32)]


def test_mean_reversion_stops_a_loss(bars, backtest, bar_of):
    closes = [*wiggle(30), 96.0, 93.0, 91.0]  # 91 is more than 5 % below 96
    result = backtest(MeanReversionStrategy(), bars(closes))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 30), (Side.SHORT, 32)]
    result = backtest(MeanReversionStrategy(stop_loss_pct=0.1), bars(closes))
    assert [f.side for f in result.fills] == [Side.LONG]


def test_vwap_reversion_fades_both_ways_and_exits_near_the_vwap(bars, backtest, bar_of):
    dip = [*wiggle(30), 97.0, 98.0, 99.8]
    result = backtest(VWAPReversionStrategy(), bars(dip))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 30), (Side.SHORT, 32)]
    spike = [*wiggle(30), 103.0, 102.0, 100.3]
    result = backtest(VWAPReversionStrategy(), bars(spike))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.SHORT, 30), (Side.LONG, 32)]


def test_vwap_reversion_holds_when_nothing_traded(bars, backtest):
    closes = [*wiggle(30), 97.0]
    result = backtest(VWAPReversionStrategy(), bars(closes, volumes=[0.0] * 31))
    assert result.fills == []


def test_rsi_macd_combo_needs_both_signals(bars, backtest, bar_of):
    # a slide that speeds up, then slows down: every change is a loss (RSI 0) while the
    # MACD histogram turns up as the fall decelerates -> long; the mirror-image rise
    # (RSI near 100, the histogram turning down as it decelerates) -> close
    steps = np.concatenate([np.linspace(0.002, 0.03, 40), np.linspace(0.03, 0.001, 40)])
    fall = 100 * np.exp(-np.cumsum(steps))
    closes = np.concatenate([fall, fall[-1] * np.exp(np.cumsum(steps))])
    result = backtest(RSIMACDComboStrategy(), bars(closes))
    assert [(f.side, bar_of(f)) for f in result.fills] == [(Side.LONG, 50), (Side.SHORT, 148)]


def test_rsi_macd_combo_enters_only_on_crosses_the_rsi_confirms(bars, backtest, bar_of):
    rng = np.random.default_rng(3)
    candles = bars(100 * np.exp(np.cumsum(rng.normal(0, 0.012, 3000))))
    crosses, confirmed = {}, {}
    for i in range(35, len(candles)):
        before, now = macd(candles[: i - 1])[2], macd(candles[:i])[2]
        if before <= 0 < now or before >= 0 > now:
            side = Side.LONG if now > 0 else Side.SHORT
            crosses[i] = side
            strength = rsi(candles[:i], 14)
            if (strength < 30) if side == Side.LONG else (strength > 70):
                confirmed[i] = side
    result = backtest(RSIMACDComboStrategy(), candles)
    # entries and exits (the opposite signal) both happen on confirmed crosses only
    trades = {bar_of(f): f.side for f in result.fills}
    assert trades
    assert all(confirmed.get(bar) == side for bar, side in trades.items())
    assert len(confirmed) < len(crosses) / 3  # most crosses are not confirmed


def test_every_strategy_here_handles_a_plain_list_history(bars):
    candles = bars([*wiggle(30), 96.0])
    as_list = list(candles)
    for strategy in (RSIStrategy(), BollingerStrategy(), MeanReversionStrategy()):
        strategy.reset()
        expected = signals(strategy, candles)
        strategy.reset()
        got = [strategy.on_candle(as_list[i], as_list[:i]) for i in range(len(as_list))]
        assert got == expected
    assert isinstance(candles, CandleSeries)
