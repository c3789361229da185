"""``BacktestEngine.run(..., warmup=N)``: the first N bars fill history and trade nothing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import CandleSeries, Signal
from flint.strategy.base import Strategy

START = 1_704_067_200


def series(n, market="SOL-PERP", step=3600, seed=0):
    close = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, n))
    t = np.arange(n)
    return CandleSeries(START + step * t, close, close + 1, close - 1, close, np.ones(n),
                        market, step)


class Watcher(Strategy):
    """Buys on its first call; records what each call sees (history and another market)."""

    name = "watcher"

    def __init__(self, other=None):
        self.other = other
        self.calls = []

    def on_candle(self, candle, history, ctx=None):
        other = None
        if self.other is not None:
            other = [c.ts for c in ctx.get_candles(self.other, lookback=1000)]
        self.calls.append((candle.ts, history.timestamps.tolist(), other))
        return Signal.BUY if len(self.calls) == 1 else Signal.HOLD

    def reset(self):
        self.calls = []


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), warmup=st.integers(1, 59), history=st.integers(1, 80))
def test_the_strategy_starts_after_the_warmup_with_the_bars_before_as_history(
        n, warmup, history):
    if warmup >= n:
        warmup = n - 1
    candles = series(n)
    strategy = Watcher()
    result = BacktestEngine(strategy, fill_model=ClosePriceFill(),
                            history_size=history).run(candles, warmup=warmup)
    ts = candles.timestamps.tolist()
    assert [c[0] for c in strategy.calls] == ts[warmup:]  # never called on warm-up bars
    for i, (_, seen, _) in enumerate(strategy.calls, start=warmup):
        assert seen == ts[max(0, i - history):i]  # what a run from bar 0 would show there
    assert result.timestamps.tolist() == ts[warmup:] and len(result.equity_curve) == n - warmup
    assert [f.ts for f in result.fills] == [ts[warmup]]  # the first trade: after the warm-up


@pytest.mark.parametrize("warmup", [10, 12])
def test_other_markets_warm_up_to_the_same_time(warmup):
    sol, eth = series(40), series(15, "ETH-PERP", step=4 * 3600, seed=1)
    strategy = Watcher(other="ETH-PERP")
    BacktestEngine(strategy, fill_model=ClosePriceFill()).run(
        {"SOL-PERP": sol, "ETH-PERP": eth}, warmup=warmup)
    plain = Watcher(other="ETH-PERP")
    BacktestEngine(plain, fill_model=ClosePriceFill()).run({"SOL-PERP": sol, "ETH-PERP": eth})
    # every call sees what the call on the same bar of a run without warm-up sees: the
    # 4-hour ETH bars closed by then, the warm-up's included, none still open
    assert strategy.calls[0][0] == START + warmup * 3600
    assert strategy.calls == plain.calls[warmup:]
    assert strategy.calls[0][2] == [START + 4 * 3600 * k for k in range((warmup + 1) // 4)]


@pytest.mark.parametrize("warmup", [-1, 5, 9])
def test_a_warmup_that_leaves_nothing_to_trade_is_refused(warmup):
    engine = BacktestEngine(Watcher(), fill_model=ClosePriceFill())
    with pytest.raises(ValueError, match="warmup must leave bars to trade"):
        engine.run(series(5) if warmup == 5 else series(9) if warmup == 9 else series(3),
                   warmup=warmup)
