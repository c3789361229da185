"""vectorbt: S1 as Portfolio.from_signals over vectorbt's own moving averages.

Rules: entries where fast > slow and exits where it is not, both only on bars
50 .. n-2, plus an exit on the last bar; orders fill at that bar's close
(``price=close``) with ``fees=0.0005`` of the notional; the default size (all
cash, ``size=inf``) buys cash / (close * (1 + fees)) units, fee-inclusive and
continuous. SMAs come from ``vbt.MA.run`` (a running-sum rolling mean in numba);
ties go flat. S0 is from_signals with no signal at all (no order is placed).
The timed run includes the indicators, the portfolio simulation, the final value
and the trade count; the first call's numba compilation happens in the warm-up.
"""

from importlib import metadata

import numpy as np
import pandas as pd
import vectorbt as vbt

RULES = {"sizing": "fee_inclusive", "lot": 0.0, "final": "last"}
FIRST_DECISION = 50


def prepare(bars: dict[str, np.ndarray]) -> pd.Series:
    return pd.Series(bars["close"], index=pd.to_datetime(bars["ts"], unit="s"), name="close")


def run(close: pd.Series, strategy: str, variant: str) -> tuple[float, int]:
    n = len(close)
    if strategy == "S1":
        fast = vbt.MA.run(close, 20).ma.to_numpy()
        slow = vbt.MA.run(close, 50).ma.to_numpy()
        decide = np.zeros(n, dtype=bool)
        decide[FIRST_DECISION : n - 1] = True
        want = fast > slow
        entries = want & decide
        exits = ~want & decide
        exits[n - 1] = True
    else:
        entries = exits = np.zeros(n, dtype=bool)
    pf = vbt.Portfolio.from_signals(close, entries, exits, price=close, fees=0.0005,
                                    init_cash=10_000.0, freq="1h")
    return float(pf.final_value()), int(pf.trades.count())


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("vectorbt", "numba", "pandas", "numpy")}
