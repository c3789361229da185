"""Loading user strategies: realistic files load and trade; mistakes get clear messages."""

import csv
from pathlib import Path

import pytest

from flint.models import Candle, CandleSeries, Signal
from flint.strategy.base import Strategy, check_parameters
from flint.strategy.loader import (
    StrategyLoadError,
    check_strategy_code,
    load_strategy_class,
    load_user_strategy,
    validate_strategy_code,
)
from flint.strategy.sandbox import signals

USER_STRATEGIES = sorted((Path(__file__).parent / "user_strategies").glob("*.py"))


def real_series(data_dir, first=20_000, count=3_000):
    with open(data_dir / "binance-BTCUSDT-3600.csv", newline="") as f:
        rows = list(csv.DictReader(f))[first : first + count]
    return CandleSeries.from_candles(
        Candle(int(r["ts"]), float(r["open"]), float(r["high"]), float(r["low"]),
               float(r["close"]), float(r["volume"]), "BTCUSDT", 3600, "binance")
        for r in rows
    )


@pytest.mark.parametrize("path", USER_STRATEGIES, ids=[p.stem for p in USER_STRATEGIES])
def test_realistic_user_strategies_validate_load_and_trade_on_real_candles(
    path, flint_test_data, recording_context
):
    code = path.read_text()
    assert validate_strategy_code(code) == (True, None)
    strategy = load_user_strategy(code, filename=str(path))
    assert isinstance(strategy, Strategy) and strategy.name
    assert check_parameters(type(strategy).parameters()) == []
    bars = real_series(flint_test_data)
    if path.stem.endswith("_v2"):
        ctx = recording_context()
        history = bars.window(0, 0)
        strategy.reset()
        for i in range(len(bars)):
            history.move_to(max(0, i - 500), i)
            assert strategy.on_candle(bars.candle(i), history, ctx) is Signal.HOLD
        assert any(order[0] == "market" for order in ctx.orders)
        assert any(order[0] in ("stop", "take_profit") for order in ctx.orders)
    else:
        counts = signals(strategy, bars)
        assert counts["buy"] > 0 and counts["sell"] > 0, counts


def test_parameters_reach_the_constructor_and_bad_ones_are_explained():
    code = (USER_STRATEGIES[0].parent / "golden_cross.py").read_text()
    assert load_user_strategy(code, {"fast": 5, "slow": 30}).slow == 30
    with pytest.raises(StrategyLoadError, match="unexpected keyword argument 'speed'"):
        load_user_strategy(code, {"speed": 5})
    with pytest.raises(StrategyLoadError, match=r"line 13: ValueError: fast \(60\) must be below"):
        load_user_strategy(code, {"fast": 60, "slow": 50})


BASE = """\
from flint.models import Signal
from flint.strategy import Strategy
"""


def test_syntax_errors_name_the_line():
    ok, error = validate_strategy_code(BASE + "def broken(:\n    pass\n")
    assert not ok and error.startswith("line 3: syntax error")


def test_a_strategy_class_is_required_with_its_members():
    assert check_strategy_code(BASE + "x = 1\n")[0].message.startswith("no strategy class")
    ok, error = validate_strategy_code(BASE + "class Half(Strategy):\n    name = 'half'\n")
    assert not ok and error == "line 3: class Half does not define on_candle, reset"


def test_validation_never_runs_the_code():
    code = BASE + "boom = 1 / 0\n" + FULL
    assert validate_strategy_code(code) == (True, None)
    with pytest.raises(StrategyLoadError, match="line 3: ZeroDivisionError"):
        load_user_strategy(code)


FULL = """
class Full(Strategy):
    name = "full"

    def on_candle(self, candle, history, ctx=None):
        return Signal.HOLD

    def reset(self):
        pass
"""


def test_the_most_derived_strategy_class_is_loaded_or_the_named_one():
    code = BASE + FULL + "\nclass Derived(Full):\n    name = 'derived'\n"
    assert load_user_strategy(code).name == "derived"
    assert load_user_strategy(code, class_name="Full").name == "full"
    twins = BASE + FULL + FULL.replace("Full", "Twin").replace('"full"', '"twin"')
    with pytest.raises(StrategyLoadError, match=r"exactly one .* \(found: Full, Twin\)"):
        load_user_strategy(twins)
    with pytest.raises(StrategyLoadError, match="no strategy class named 'Other'"):
        load_strategy_class(code, class_name="Other")


def test_own_private_state_works_everywhere_it_should():
    code = BASE + """
from dataclasses import dataclass


@dataclass(slots=True)
class Book:
    _fills: int = 0

    def add(self):
        self._fills += 1


class Private(Strategy):
    name = "private"
    _class_counter = 0

    def __init__(self):
        self._book = Book()
        self.__class_level = None if False else 1

    def on_candle(self, candle, history, ctx=None):
        self._book.add()
        type_counter = Private._class_counter
        Private._class_counter = type_counter + 1
        return Signal.HOLD

    def reset(self):
        self._book = Book()
"""
    ok, error = validate_strategy_code(code)
    assert not ok and "name-mangled attribute '.__class_level'" in error
    strategy = load_user_strategy(code.replace("self.__class_level", "self.level"))
    for _ in range(3):
        strategy.on_candle(None, [])
    assert strategy._book._fills == 3
    assert type(strategy)._class_counter == 3


def test_built_in_strategy_names_resolve_through_flint_strategy(flint_host):
    installed = [e.obj.__name__ for e in flint_host.registry("strategies").entries()]
    name = installed[0] if installed else "MomentumStrategy"
    code = BASE.replace("import Strategy", f"import {name}, Strategy") + FULL
    assert validate_strategy_code(code) == (True, None)
    if installed:
        assert load_user_strategy(code).name == "full"
    else:
        with pytest.raises(StrategyLoadError, match="`pip install flint-strategies`"):
            load_user_strategy(code)
