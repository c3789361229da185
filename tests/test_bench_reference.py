"""The peer benchmark's numpy reference of S1 (bench/peers/reference.py) against a bar loop.

The loop below restates S1 one bar at a time, with exact fractions for the SMA
comparison, so the vectorised reference that flint and the peers are checked
against is itself checked. Loaded by path: bench/ is not an installed package.
"""

import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

PATH = Path(__file__).resolve().parents[1] / "bench" / "peers" / "reference.py"


@pytest.fixture(scope="module")
def ref():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_reference", PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bar_loop(close: list[float], sizing: str, lot: float, final: str) -> tuple[float, int]:
    """S1 bar by bar: long while fast > slow on bars 50..n-2, the rest per the rules."""
    n, fee, cash, units, entry, trades = len(close), 0.0005, 10_000.0, 0.0, 0.0, 0
    exact = [Fraction(str(c)) for c in close]
    for i in range(50, n - 1):
        want = sum(exact[i - 19 : i + 1]) / 20 > sum(exact[i - 49 : i + 1]) / 50
        if want and not units:
            entry = close[i]
            units = cash / (entry * (1 + fee)) if sizing == "fee_inclusive" else cash / entry
            if lot:
                units = math.floor(units / lot + 1e-9) * lot
            cash -= units * entry * fee
        elif not want and units:
            cash += units * (close[i] - entry) - units * close[i] * fee
            units, trades = 0.0, trades + 1
    if units:
        if final == "mark":
            return cash + units * (close[-1] - entry), trades
        out = close[-1] if final == "last" else close[-2]
        cash += units * (out - entry) - units * out * fee
        trades += 1
    return cash, trades


prices = st.lists(st.integers(90_000, 110_000), min_size=52, max_size=260).map(
    lambda ticks: [t / 10_000 for t in ticks]
)


@settings(max_examples=60, deadline=None)
@given(close=prices, sizing=st.sampled_from(["notional", "fee_inclusive"]),
       lot=st.sampled_from([0.0, 1e-8]), final=st.sampled_from(["last", "previous", "mark"]))
def test_reference_matches_a_bar_loop(ref, close, sizing, lot, final) -> None:  # type: ignore[no-untyped-def]
    outcome = ref.run_s1(np.array(close), ref.Rules(sizing=sizing, lot=lot, final=final))
    equity, trades = bar_loop(close, sizing, lot, final)
    assert outcome.trades == trades
    assert outcome.final_equity == pytest.approx(equity, rel=1e-12)


def test_an_exact_tie_is_flat(ref) -> None:  # type: ignore[no-untyped-def]
    close = np.full(120, 2.5)
    close[:60] = np.round(np.linspace(1.0, 2.5, 60), 4)  # rising (fast > slow), then flat
    want = ref.regime(close)
    assert want[55] and not want[110]  # the flat stretch ties fast == slow: not long
    assert ref.tie_report(close)["exact_ties"] > 0
    outcome = ref.run_s1(close)
    assert outcome.trades == 1 and outcome.exits[0] > outcome.entries[0] >= 50


def test_no_decision_before_bar_50_and_none_on_the_last(ref) -> None:  # type: ignore[no-untyped-def]
    close = np.round(np.linspace(1.0, 3.0, 80), 4)  # fast > slow from the start
    outcome = ref.run_s1(close)
    assert list(outcome.entries) == [50] and len(outcome.exits) == 0
    fee = 0.0005
    units = 10_000.0 / (close[50] * (1 + fee))  # fee-inclusive sizing, as flint
    expected = 10_000.0 + units * (close[-1] - close[50]) - units * (close[50] + close[-1]) * fee
    assert outcome.final_equity == pytest.approx(expected, rel=1e-12)
    assert outcome.trades == 1


def test_price_scale_is_the_finest_decimal_in_the_data(ref) -> None:  # type: ignore[no-untyped-def]
    assert ref.price_scale(np.array([9.0, 9.0001, 9.0])) == 10_000
    assert ref.price_scale(np.array([398.67193046, 0.01110519])) == 10**8
    with pytest.raises(ValueError, match="decimal grid"):
        ref.price_scale(np.array([1 / 3, 2 / 3]))
