"""SMA 20/50 crossover written naively with ``flint.indicators.sma``, over 1M hourly bars.

    python bench/bench_indicators.py [--bars 1000000] [--repeat 3]

The strategy calls ``sma(history, 20)`` and ``sma(history, 50)`` on every bar, as a
user would, and returns BUY while the fast average is above the slow one, SELL below.
Two figures:

* ``engine``: the real ``BacktestEngine.run`` on ``ClosePriceFill`` (the v1 signals
  become all-in long/flat orders; fees, equity curve and result included): what a
  user gets;
* ``strategy``: a bare loop moving one ``CandleSeries`` window the way the engine
  does and calling ``on_candle`` with one reused candle: the indicator + strategy
  part alone.

Prices: the hourly log returns of Binance BTCUSDT from the shared real data
(``$FLINT_TEST_DATA`` or ``../shared/data``), repeated to the requested length;
a seeded random walk when that file is absent. Each run starts with an empty
indicator cache, so computing the cached series is part of the time. Best of
``--repeat``, in CPU time of the process (the machine is shared).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.indicators import sma
from flint.models import CandleSeries, Signal
from flint.strategy.base import Strategy
from flint_core.compiled import is_compiled

DATA = Path(os.environ.get("FLINT_TEST_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
WINDOW = 500  # bars in history, as BacktestEngine(history_size=500)


class SmaCross(Strategy):
    """Long while SMA(fast) is above SMA(slow), short while below."""

    def __init__(self, fast: int = 20, slow: int = 50) -> None:
        self.fast, self.slow = fast, slow

    @property
    def name(self) -> str:
        return "sma-cross"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.slow:
            return Signal.HOLD
        fast, slow = sma(history, self.fast), sma(history, self.slow)
        if fast > slow:
            return Signal.BUY
        if fast < slow:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass


def hourly_bars(n: int) -> CandleSeries:
    """``n`` hourly bars whose returns are real BTCUSDT hourly returns, repeated."""
    source = DATA / "binance-BTCUSDT-3600.csv"
    if source.is_file():
        table = np.loadtxt(source, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5))
        opens, highs, lows, closes, volumes = table.T
        reps = -(-n // len(closes))
        steps = np.tile(np.diff(np.log(closes), prepend=np.log(closes[0])), reps)[:n]
        close = closes[0] * np.exp(np.cumsum(steps))
        scale = close / np.tile(closes, reps)[:n]
        return CandleSeries(
            np.arange(n, dtype=np.int64) * 3600, np.tile(opens, reps)[:n] * scale,
            np.tile(highs, reps)[:n] * scale, np.tile(lows, reps)[:n] * scale, close,
            np.tile(volumes, reps)[:n], "BTCUSDT", 3600, "binance",
        )
    rng = np.random.default_rng(7)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0.0, 0.006, n)))
    return CandleSeries(np.arange(n, dtype=np.int64) * 3600, close, close * 1.002,
                        close * 0.998, close, rng.uniform(1, 100, n), "SYNTH", 3600, "bench")


def drive(strategy: Strategy, bars: CandleSeries) -> tuple[float, int]:
    """Run ``strategy`` over ``bars`` like the engine: (CPU seconds, BUY signals)."""
    bars.cache.clear()
    strategy.reset()
    history = bars.window(0, 0)
    candle = bars.candle(0)
    buys = 0
    start = time.process_time()
    for i in range(len(bars)):
        history.move_to(max(0, i - WINDOW), i)
        if strategy.on_candle(candle, history) is Signal.BUY:
            buys += 1
    return time.process_time() - start, buys


def backtest(strategy: Strategy, bars: CandleSeries) -> tuple[float, int]:
    """``BacktestEngine.run`` on ``ClosePriceFill``: (CPU seconds, fills)."""
    bars.cache.clear()
    engine = BacktestEngine(strategy, fill_model=ClosePriceFill(), max_runtime_s=0)
    start = time.process_time()
    result = engine.run(bars)
    return time.process_time() - start, len(result.fills)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bars = hourly_bars(args.bars)
    result: dict[str, object] = {"bars": args.bars, "compiled": is_compiled()}
    best, fills = min(backtest(SmaCross(), bars) for _ in range(args.repeat))
    result["engine_bars_per_s"] = round(args.bars / best)
    result["engine_fills"] = fills
    best, buys = min(drive(SmaCross(), bars) for _ in range(args.repeat))
    result["strategy_bars_per_s"] = round(args.bars / best)
    result["buy_signals"] = buys
    print(json.dumps(result))


if __name__ == "__main__":
    main()
