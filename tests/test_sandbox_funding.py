"""Funding reaches a sandboxed child as columns and is the same funding there.

No pickled object a row: numbers travel as numpy arrays, names as codes into their
distinct values, and the child gets :class:`~flint_core.funding.FundingColumns` holding
exactly the records the parent held (no record built), refusing columns that are not
what :func:`funding_columns` makes.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flint.models import FundingRate
from flint.optimization.objective import RunSettings, backtest
from flint.strategy.isolation import REQUIRED, host_support
from flint.strategy.loader import load_strategy_class
from flint.strategy.remote import SandboxedStrategy
from flint.strategy.sandbox import funding_columns, funding_from_columns
from flint.testing import sample_bars, sample_funding
from flint_core.funding import FundingColumns

int64s = st.integers(-(2 ** 63), 2 ** 63 - 1)
floats = st.floats(allow_nan=False)
names = st.sampled_from(["SOL-PERP", "BTC-PERP", "é-PERP", ""])
records = st.builds(FundingRate, names, int64s, st.floats(allow_nan=False, allow_infinity=False),
                    floats, floats, int64s,
                    st.sampled_from(["binance", "hyperliquid", "drift"]),
                    st.integers(1, 2 ** 40))


@given(st.lists(records, max_size=40))
def test_funding_round_trips_through_columns(funding):
    columns = funding_from_columns(funding_columns(funding))
    assert isinstance(columns, FundingColumns) and columns.to_records() == funding
    assert funding_from_columns(funding_columns(columns)).to_records() == funding


def test_the_numbers_are_arrays_and_the_names_codes():
    columns = funding_columns(sample_funding("SOL-PERP", days=5))
    assert columns["ts"].dtype == np.int64 and columns["rate"].dtype == np.float64
    values, codes = columns["source"]
    assert codes.dtype == np.int32 and len(values) == len(set(values)) <= 3


def _broken(change):
    columns = {name: value.copy() if isinstance(value, np.ndarray) else value
               for name, value in funding_columns(sample_funding("SOL-PERP", days=2)).items()}
    change(columns)
    return columns


@pytest.mark.parametrize("change", [
    lambda c: c.pop("slot"),
    lambda c: c.update(extra=np.zeros(1)),
    lambda c: c.update(ts=c["ts"].tolist()),
    lambda c: c.update(rate=c["rate"].astype(np.float32)),
    lambda c: c.update(mark_price=c["mark_price"][:-1]),
    lambda c: c.update(market=(c["market"][0], c["market"][1] + 5)),
    lambda c: c.update(market=(c["market"][0], c["market"][1] - 1)),
    lambda c: c.update(source=([b"binance"], c["source"][1])),
    lambda c: c.update(source=(c["source"][0], c["source"][1].astype(np.int64))),
    lambda c: c["rate"].__setitem__(3, np.inf),
    lambda c: c["interval_s"].__setitem__(0, 0),
], ids=["missing", "extra", "list", "dtype", "length", "past", "negative", "bytes", "codes",
        "infinite", "interval"])
def test_columns_that_are_not_what_funding_columns_makes_are_refused(change):
    with pytest.raises(ValueError, match=r"funding (column|row)"):
        funding_from_columns(_broken(change))


@pytest.mark.skipif(
    not all(s.available for s in host_support() if s.name in REQUIRED),
    reason="this host lacks Landlock or seccomp: untrusted code is refused here",
)
def test_a_sandboxed_trial_with_funding_scores_as_in_process():
    code = (Path(__file__).parent / "user_strategies" / "golden_cross.py").read_text()
    bars = sample_bars("SOL-PERP", "binance", 30)
    settings = RunSettings(10_000.0, 0.0005,
                           {"funding_rates": sample_funding("SOL-PERP", ["binance"], days=30)})
    remote = SandboxedStrategy(code, filename="golden_cross.py")
    try:
        params = {"fast": 5, "slow": 20}
        there = backtest(remote, params, bars, settings)
        sent = dict(remote._sandbox()._sent)
        again = backtest(remote, {"fast": 6, "slow": 20}, bars, settings)
        assert remote._sandbox()._sent == sent  # candles and funding went once
        here = backtest(load_strategy_class(code), params, bars, settings)
    finally:
        remote.close()
    assert len(sent) == 2 and again.funding_payments
    assert here.funding_payments and there.funding_payments == here.funding_payments
    assert there.fills == here.fills and there.equity_curve == here.equity_curve
