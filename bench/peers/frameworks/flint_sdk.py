"""flint (this repository, the installed flint-sdk wheel): S1 on flint's BacktestEngine.

Variants: ``close`` uses ``ClosePriceFill`` (the market order placed on bar i fills
at bar i's close); ``pipeline`` uses the engine's default ``FillPipeline`` (latency,
impact, partial fills: a realism cost, not expected to match the reference). The
build (pure or mypyc) is the environment's; the runner reports which one it got.
Rules: a v1 signal strategy; flint sees only the EARLIER bars in ``history`` (a
CandleSeries window), so the SMAs that end at bar i are asked for with that bar:
``flint.indicators.sma(history, 20, candle=candle)`` is the mean of the last 19
closes of history and the candle's close, read from the indicator cache (each SMA
computed once per run as the sum of its window's closes, oldest first, over the
period). It returns BUY while fast > slow and SELL otherwise on bars 50 .. n-2
(ties: SELL), SELL on the last bar; the engine opens cash / (close * (1 + fee))
units on BUY when flat (notional + fee = cash, like the peers) and closes on SELL.
The bar index is counted by the strategy, since ``history`` is a bounded window.
Input: one CandleSeries over the prebuilt arrays; each run puts a new root over
them, so the indicator cache starts empty and every run computes its SMAs.
"""

from importlib import metadata

import numpy as np

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill, FillPipeline
from flint.indicators import sma
from flint.models import Signal
from flint.strategy.base import Strategy
from flint_core.compiled import is_compiled
from flint_core.series import CandleSeries

RULES = {"sizing": "fee_inclusive", "lot": 0.0, "final": "last"}
FIRST_DECISION = 50


class NoOp(Strategy):
    @property
    def name(self) -> str:
        return "S0"

    def reset(self) -> None:
        pass

    def on_candle(self, candle, history, ctx=None):  # type: ignore[no-untyped-def]
        return Signal.HOLD


class SmaRegime(Strategy):
    def __init__(self, n_bars: int) -> None:
        self.last = n_bars - 1
        self.i = -1

    @property
    def name(self) -> str:
        return "S1"

    def reset(self) -> None:
        self.i = -1

    def on_candle(self, candle, history, ctx=None):  # type: ignore[no-untyped-def]
        self.i += 1
        if self.i < FIRST_DECISION:
            return Signal.HOLD
        if self.i == self.last:
            return Signal.SELL
        if sma(history, 20, candle=candle) > sma(history, 50, candle=candle):
            return Signal.BUY
        return Signal.SELL


def check_origin() -> None:
    import flint

    files = metadata.distribution("flint-sdk").files or []
    if not any(str(f).startswith("flint/") for f in files) or "site-packages" not in flint.__file__:
        raise RuntimeError(f"flint imported from {flint.__file__}, not an installed flint-sdk")


def prepare(bars: dict[str, np.ndarray]) -> CandleSeries:
    check_origin()
    return CandleSeries(bars["ts"], bars["open"], bars["high"], bars["low"], bars["close"],
                        bars["volume"], market="SOL-PERP", resolution_s=3600)


def run(series: CandleSeries, strategy: str, variant: str) -> tuple[float, int]:
    fills = {"close": ClosePriceFill, "pipeline": FillPipeline}
    if variant not in fills:
        raise ValueError(f"flint variant must be one of {sorted(fills)}, got {variant!r}")
    # a new root over the same columns: every run computes its indicators afresh
    series = CandleSeries(series.timestamps, series.opens, series.highs, series.lows,
                          series.closes, series.volumes, series.market, series.resolution_s,
                          series.venue)
    strat = SmaRegime(len(series)) if strategy == "S1" else NoOp()
    engine = BacktestEngine(strat, initial_capital=10_000.0, fee_rate=0.0005,
                            fill_model=fills[variant]())
    result = engine.run(series)
    return 10_000.0 + float(result.total_pnl), int(result.total_trades)


def versions() -> dict[str, str]:
    return {"flint-sdk": metadata.version("flint-sdk"), "compiled": str(is_compiled()),
            "numpy": metadata.version("numpy")}
