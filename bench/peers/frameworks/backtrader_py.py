"""backtrader: S1 with cheat-on-close, 5 bps commission and an all-in fee-inclusive size.

Rules: ``broker.set_coc(True)`` fills a market order placed in ``next()`` on bar i at
bar i's close (the broker executes it when bar i+1 arrives, before the strategy sees
it); ``setcommission(commission=0.0005)`` charges 5 bps of each fill's notional; the
size is cash / (close * (1 + 0.0005)) units (fractional), so notional + fee fits the
cash, less a 1e-12 haircut: without it the broker's cash check rejects about half
of the exactly-all-in orders (float rounding leaves the cash at -1e-13) and the
entry slips to a later bar. SMAs are backtrader's own
SimpleMovingAverage lines; ties go flat. backtrader has no end-of-data close: an
order placed on the last bar is never executed, so a position still open at the
end is only marked at the last close (no exit fee, the round trip not counted).
"""

from importlib import metadata

import backtrader as bt
import numpy as np
import pandas as pd

RULES = {"sizing": "fee_inclusive", "lot": 0.0, "final": "mark"}
FEE = 0.0005
FIRST_DECISION = 50
HAIRCUT = 1 - 1e-12


class NoOp(bt.Strategy):
    def next(self) -> None:
        pass


class SmaRegime(bt.Strategy):
    def __init__(self) -> None:
        self.fast = bt.indicators.SimpleMovingAverage(self.data.close, period=20)
        self.slow = bt.indicators.SimpleMovingAverage(self.data.close, period=50)
        self.last = self.data.buflen() - 1

    def next(self) -> None:
        i = len(self) - 1
        if i < FIRST_DECISION or i >= self.last:
            return
        if self.fast[0] > self.slow[0]:
            if not self.position:
                cash = self.broker.getcash()
                self.buy(size=HAIRCUT * cash / (self.data.close[0] * (1 + FEE)))
        elif self.position:
            self.close()


def prepare(bars: dict[str, np.ndarray]) -> pd.DataFrame:
    index = pd.to_datetime(bars["ts"], unit="s")
    return pd.DataFrame({"open": bars["open"], "high": bars["high"], "low": bars["low"],
                         "close": bars["close"], "volume": bars["volume"]}, index=index)


def run(frame: pd.DataFrame, strategy: str, variant: str) -> tuple[float, int]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
    cerebro.addstrategy(SmaRegime if strategy == "S1" else NoOp)
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=FEE)
    cerebro.broker.set_coc(True)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    (result,) = cerebro.run()
    closed = result.analyzers.trades.get_analysis().get("total", {}).get("closed", 0)
    return float(cerebro.broker.getvalue()), int(closed)


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("backtrader", "pandas", "numpy")}
