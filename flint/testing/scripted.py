"""Scripted backtests: candles written out as rows, and a strategy that runs a given
action on a given bar, to test what the engine does with each order call."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flint.backtest.engine import BacktestEngine
from flint.backtest.result import BacktestResult
from flint.execution.fill_models import ClosePriceFill, FillModel
from flint.models import Candle, Signal
from flint.strategy.base import Strategy

#: ``action(ctx, candle)``: what the strategy does on its bar; the return value is kept.
Action = Callable[[Any, Candle], Any]


def candles_from_rows(rows: Iterable[Sequence[float]], res: int = 3600, market: str = "SOL",
                      venue: str = "default") -> list[Candle]:
    """Candles from ``(open, high, low, close[, volume])`` rows, one per ``res`` from ts=0."""
    out = []
    for i, row in enumerate(rows):
        o, h, lo, c, *v = row
        out.append(Candle(i * res, o, h, lo, c, v[0] if v else 0.0, market, res, venue))
    return out


class ScriptedStrategy(Strategy):
    """Calls ``actions[bar](ctx, candle)`` on the bars named and keeps, in ``out`` by bar,
    what each call returned."""

    name = "script"

    def __init__(self, actions: dict[int, Action]) -> None:
        self.actions = actions
        self.out: dict[int, Any] = {}
        self.bar = -1

    def reset(self) -> None:
        self.out = {}
        self.bar = -1

    def on_candle(self, candle: Candle, history: Any, ctx: Any = None) -> Signal:
        self.bar += 1
        action = self.actions.get(self.bar)
        if action:
            self.out[self.bar] = action(ctx, candle)
        return Signal.HOLD


def run_script(actions: dict[int, Action], candles: list[Candle],
               model: FillModel | None = None, fee_rate: float = 0.001,
               **engine_options: Any) -> tuple[ScriptedStrategy, BacktestResult]:
    """Backtest ``actions`` over ``candles`` (close-price fills unless ``model`` is given);
    the strategy, with what its actions returned, and the result."""
    strategy = ScriptedStrategy(actions)
    engine = BacktestEngine(strategy, fee_rate=fee_rate, fill_model=model or ClosePriceFill(),
                            **engine_options)
    return strategy, engine.run(candles)
