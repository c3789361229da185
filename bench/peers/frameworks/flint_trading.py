"""flint-trading (PyPI, the upstream project that also imports as ``flint``): its own engine.

Runs in its own virtualenv so it never shadows this repository's ``flint``.
Rules: a v1 signal strategy on ``flint.backtest.engine.BacktestEngine`` with
``ClosePriceFill`` (the market order placed on bar i fills at bar i's close) and its
flat 5 bps fee on each fill's notional. Its v1 adapter opens a long of
cash * position_size / close units (position_size=1.0: the notional is the whole
cash and the fee is paid on top) when BUY arrives with no position, and closes it on
SELL; so the strategy returns BUY while fast > slow and SELL otherwise (ties: SELL),
on bars 50 .. n-2, and SELL on the last bar. This engine appends the current candle
to ``history`` before calling the strategy, so the windows are history[-20:] and
history[-50:]; the SMAs are numpy means of those closes, in the style of its own
MACrossoverStrategy. Realised PnL is rounded to 8 decimals by the engine.
``max_runtime_s=0`` lifts its 300 s wall-clock cap.
"""

from importlib import metadata

import numpy as np

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, Signal
from flint.strategy.base import Strategy

RULES = {"sizing": "notional", "lot": 0.0, "final": "last"}
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

    @property
    def name(self) -> str:
        return "S1"

    def reset(self) -> None:
        pass

    def on_candle(self, candle, history, ctx=None):  # type: ignore[no-untyped-def]
        i = len(history) - 1  # history ends with the current candle here
        if i < FIRST_DECISION:
            return Signal.HOLD
        if i == self.last:
            return Signal.SELL
        closes = np.array([c.close for c in history[-50:]])
        if float(np.mean(closes[-20:])) > float(np.mean(closes)):
            return Signal.BUY
        return Signal.SELL


def _check_origin() -> None:
    import flint

    files = metadata.distribution("flint-trading").files or []
    if not any(str(f).startswith("flint/") for f in files) or "site-packages" not in flint.__file__:
        raise RuntimeError(f"flint imported from {flint.__file__}, not the flint-trading package")


def prepare(bars: dict[str, np.ndarray]) -> list[Candle]:
    _check_origin()
    return [
        Candle(ts=int(t), open=float(o), high=float(h), low=float(lo), close=float(c),
               volume=float(v), market="SOL-PERP", resolution_s=3600)
        for t, o, h, lo, c, v in zip(bars["ts"], bars["open"], bars["high"], bars["low"],
                                      bars["close"], bars["volume"], strict=True)
    ]


def run(candles: list[Candle], strategy: str, variant: str) -> tuple[float, int]:
    strat = SmaRegime(len(candles)) if strategy == "S1" else NoOp()
    engine = BacktestEngine(strat, initial_capital=10_000.0, fee_rate=0.0005,
                            fill_model=ClosePriceFill(), max_runtime_s=0)
    result = engine.run(candles)
    return 10_000.0 + float(result.total_pnl), int(result.total_trades)


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("flint-trading", "numpy")}
