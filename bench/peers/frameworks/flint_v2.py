"""flint (the installed flint-sdk wheel): S1 as a v2 strategy written naively.

What a user writes first, without knowing flint's shortcuts: the candles as a
``list[Candle]`` (converted by the engine on every run), the SMAs 20 and 50 of
``flint.indicators`` over ``history`` (the bars before ``candle``: no ``candle=``, so
its decisions come one bar after S1's), and every bar a ``ctx.position(market)``
check and a ``ctx.account`` read. Long/flat: a market order buying
cash / (close * (1 + fee)) units when fast > slow and nothing is held,
``ctx.close_position`` when fast <= slow and a position is held. Variants:
``close`` (``ClosePriceFill``: fills at the signal bar's close) and ``pipeline``
(the engine's default ``FillPipeline``). S0 is a no-op v2 strategy on the same
input. The build (pure or mypyc) is the environment's.
"""

from importlib import metadata

import numpy as np

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill, FillPipeline
from flint.indicators import sma
from flint.models import Candle, Side, Signal
from flint.strategy.base import Strategy
from flint_core.compiled import is_compiled
from frameworks.flint_sdk import check_origin

RULES = {"sizing": "fee_inclusive", "lot": 0.0, "final": "none", "decides": "next bar"}
FEE = 0.0005


class NoOp(Strategy):
    name = "S0"

    def reset(self) -> None:
        pass

    def on_candle(self, candle, history, ctx):  # type: ignore[no-untyped-def]
        return Signal.HOLD


class NaiveSma(Strategy):
    name = "naive_sma"

    def reset(self) -> None:
        pass

    def on_candle(self, candle, history, ctx):  # type: ignore[no-untyped-def]
        if len(history) < 50:
            return Signal.HOLD
        fast = sma(history, 20)
        slow = sma(history, 50)
        held = ctx.position(candle.market)
        cash = ctx.account.cash
        if fast > slow:
            if held is None:
                ctx.market_order(candle.market, Side.LONG, cash / (candle.close * (1 + FEE)))
        elif held is not None:
            ctx.close_position(candle.market)
        return Signal.HOLD


def prepare(bars: dict[str, np.ndarray]) -> list[Candle]:
    check_origin()
    columns = [bars[k].tolist() for k in ("ts", "open", "high", "low", "close", "volume")]
    return [
        Candle(int(ts), o, h, low, c, v, "SOL-PERP", 3600)
        for ts, o, h, low, c, v in zip(*columns, strict=True)
    ]


def run(candles: list[Candle], strategy: str, variant: str) -> tuple[float, int]:
    fills = {"close": ClosePriceFill, "pipeline": FillPipeline}
    if variant not in fills:
        raise ValueError(f"flint variant must be one of {sorted(fills)}, got {variant!r}")
    strat = NaiveSma() if strategy == "S1" else NoOp()
    engine = BacktestEngine(strat, initial_capital=10_000.0, fee_rate=FEE,
                            fill_model=fills[variant]())
    result = engine.run(candles)
    return 10_000.0 + float(result.total_pnl), int(result.total_trades)


def versions() -> dict[str, str]:
    return {"flint-sdk": metadata.version("flint-sdk"), "compiled": str(is_compiled()),
            "numpy": metadata.version("numpy")}
