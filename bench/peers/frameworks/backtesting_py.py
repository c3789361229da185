"""backtesting.py: S1 with trade_on_close, exclusive orders and an all-in fractional size.

Rules: orders placed in ``next()`` on bar i fill at bar i's close (trade_on_close);
``commission=0.0005`` is charged on each fill's notional, and a relative size buys
floor(equity / (close * (1 + commission))) units, so notional + fee fits the cash
(fee-inclusive). FractionalBacktest trades in whole satoshis (1e-8 units): the
sizes are floored to that lot. SMAs are pandas rolling means; ties (fast == slow)
go flat, as in the reference. At the end ``finalize_trades=True`` closes the open
trade, but with trade_on_close its fill uses the close of the bar BEFORE the last
(the library re-runs its broker on the last bar and takes the previous close).
"""

import warnings
from importlib import metadata

import numpy as np
import pandas as pd
from backtesting import Strategy
from backtesting.lib import FractionalBacktest

RULES = {"sizing": "fee_inclusive", "lot": 1e-8, "final": "previous"}
ALL_IN = 1 - 2**-50  # backtesting.py reads sizes in (0, 1) as a fraction of equity
FIRST_DECISION = 50


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class NoOp(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        pass


class SmaRegime(Strategy):
    def init(self) -> None:
        self.fast = self.I(_sma, self.data.Close, 20)
        self.slow = self.I(_sma, self.data.Close, 50)
        self.last = len(self.data.df) - 1

    def next(self) -> None:
        i = len(self.data) - 1
        if i < FIRST_DECISION or i == self.last:
            return
        if self.fast[-1] > self.slow[-1]:
            if not self.position:
                self.buy(size=ALL_IN)
        elif self.position:
            self.position.close()


def prepare(bars: dict[str, np.ndarray]) -> pd.DataFrame:
    index = pd.to_datetime(bars["ts"], unit="s")
    return pd.DataFrame({"Open": bars["open"], "High": bars["high"], "Low": bars["low"],
                         "Close": bars["close"], "Volume": bars["volume"]}, index=index)


def run(frame: pd.DataFrame, strategy: str, variant: str) -> tuple[float, int]:
    cls = SmaRegime if strategy == "S1" else NoOp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(frame, cls, cash=10_000.0, commission=0.0005,
                                trade_on_close=True, exclusive_orders=True,
                                finalize_trades=True)
        stats = bt.run()
    return float(stats["Equity Final [$]"]), int(stats["# Trades"])


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("backtesting", "pandas", "numpy")}
