"""A plain numpy reference of strategy S1, with every rule spelled out.

S1 is the long/flat regime of an SMA 20/50 crossover:

* fast(i) = mean(close[i-19..i]), slow(i) = mean(close[i-49..i]): both windows END at
  bar i inclusive, because the order fills at bar i's close;
* decisions on bars 50 .. n-2 (0-based; bar 50 is the first with 50 earlier bars):
  be long exactly while fast > slow, flat otherwise, so an exact tie (fast == slow)
  means flat;
* a change of regime is filled at that bar's close, 5 bps of the fill's notional per
  fill, starting from 10,000; no decision on the last bar, where an open position is
  closed (at its close, by default).

The comparison fast > slow is made in exact integer arithmetic (prices are scaled to
integers on their decimal grid: 5 * sum20 > 2 * sum50), so the reference has no
rounding-dependent ties. :func:`tie_report` counts the bars where float arithmetic
could decide differently.

Frameworks differ in sizing and in what happens at the end of the data; the
:class:`Rules` a framework follows are declared in its runner and reproduced here:

* ``sizing="fee_inclusive"``: units = cash / (close * (1 + fee)), so notional + fee
  equals the cash (flint, backtesting.py, backtrader's all-in sizer, vectorbt,
  NautilusTrader);
* ``sizing="notional"``: units = cash / close, the fee is paid on top (flint-trading,
  the upstream project: the fill's notional equals the whole cash);
* ``lot``: units are floored to a multiple of ``lot`` (0 = continuous);
* ``final``: "last" closes at the last close, "previous" at the close before it
  (backtesting.py's finalize hack under trade_on_close), "mark" leaves it open and
  marks it at the last close without an exit fee (the round trip is not counted).
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

FAST, SLOW = 20, 50
FIRST_DECISION = 50
FEE = 0.0005
CAPITAL = 10_000.0


@dataclass(frozen=True)
class Rules:
    sizing: Literal["notional", "fee_inclusive"] = "fee_inclusive"
    lot: float = 0.0
    final: Literal["last", "previous", "mark"] = "last"


# How each rule moves the result: flint's rules, then one peer rule after another.
RULE_STEPS = (
    Rules(),
    Rules(sizing="notional"),
    Rules(lot=1e-8),
    Rules(lot=1e-8, final="previous"),
    Rules(final="mark"),
)


@dataclass(frozen=True)
class Outcome:
    final_equity: float
    trades: int
    entries: np.ndarray
    exits: np.ndarray


def price_scale(close: np.ndarray, max_decimals: int = 8) -> int:
    """The smallest 10**k (k <= max_decimals) putting every price on an integer grid."""
    for k in range(max_decimals + 1):
        scaled = close * 10**k
        if np.allclose(np.round(scaled), scaled, rtol=1e-12, atol=0):  # float noise only
            return 10**k
    raise ValueError(f"prices are not on a decimal grid of at most {max_decimals} decimals")


def _exact_margin(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bars i >= SLOW-1 and SLOW*sum_fast(i) - FAST*sum_slow(i), exactly, in price units."""
    ints = np.round(close * price_scale(close)).astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(ints)))
    i = np.arange(SLOW - 1, len(close))
    margin = SLOW * (csum[i + 1] - csum[i + 1 - FAST]) - FAST * (csum[i + 1] - csum[i + 1 - SLOW])
    return i, margin


def regime(close: np.ndarray) -> np.ndarray:
    """want_long[i]: fast(i) > slow(i) in exact arithmetic (False before bar SLOW-1)."""
    want = np.zeros(len(close), dtype=bool)
    i, margin = _exact_margin(close)
    want[i] = margin > 0
    return want


def transitions(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit bar indices of S1 before the end-of-data rule."""
    n = len(close)
    want = regime(close)
    if n <= FIRST_DECISION + 1:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    state = want[FIRST_DECISION : n - 1].astype(np.int8)
    prev = np.concatenate(([0], state[:-1]))
    change = np.flatnonzero(state != prev) + FIRST_DECISION
    return change[::2], change[1::2]


def run_s1(close: np.ndarray, rules: Rules = Rules(), fee: float = FEE,
           capital: float = CAPITAL) -> Outcome:
    """Final equity and closed round trips of S1 under ``rules``."""
    entries, exits = transitions(close)
    n = len(close)
    cash = capital
    trades = 0
    for k, i in enumerate(entries):
        price = close[i]
        units = cash / (price * (1 + fee)) if rules.sizing == "fee_inclusive" else cash / price
        if rules.lot:
            units = math.floor(units / rules.lot + 1e-9) * rules.lot
        entry_fee = units * price * fee
        if k < len(exits):
            exit_price = close[exits[k]]
        elif rules.final == "mark":
            cash += units * (close[n - 1] - price) - entry_fee
            break
        else:
            exit_price = close[n - 1 if rules.final == "last" else n - 2]
        cash += units * (exit_price - price) - entry_fee - units * exit_price * fee
        trades += 1
    return Outcome(cash, trades, entries, exits)


def tie_report(close: np.ndarray) -> dict[str, int]:
    """Exact ties, and bars where float SMAs (mean of each window) decide differently."""
    i, margin = _exact_margin(close)
    keep = (i >= FIRST_DECISION) & (i < len(close) - 1)
    i, margin = i[keep], margin[keep]
    windows = np.lib.stride_tricks.sliding_window_view(close, SLOW)[i - SLOW + 1]
    float_want = windows[:, SLOW - FAST :].mean(axis=1) > windows.mean(axis=1)
    return {
        "decision_bars": len(i),
        "exact_ties": int(np.count_nonzero(margin == 0)),
        "float_mean_disagreements": int(np.count_nonzero(float_want != (margin > 0))),
    }
