"""The 20 built-in strategies, as user files: each validates, loads in the sandbox and trades.

Run in the sandbox's confined child, they and every file of ``tests/user_strategies``
give exactly the record an in-process run gives.

The flint-strategies plugin writes every strategy as a self-contained module that
imports only what the sandbox allows, so its sources are the user files: they are
read from the checkout (the plugin need not be installed). Where it is installed, the
sandboxed copy must trade exactly like the plugin's class.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from flint.backtest.engine import BacktestEngine
from flint.backtest.result import ARRAY_FIELDS
from flint.backtest.runs import SANDBOX_JOB, RunSettings, run_backtest, sandbox_options
from flint.execution.fill_models import ClosePriceFill
from flint.store.store import journal_json
from flint.strategy.base import Strategy, check_parameters
from flint.strategy.isolation import REQUIRED, host_support
from flint.strategy.loader import load_user_strategy, validate_strategy_code
from flint.strategy.sandbox import run_in_sandbox
from flint.testing import sample_bars, sample_funding, sample_venue_configs

SOURCES = Path(__file__).resolve().parents[1] / "plugins" / "flint-strategies" / "src" / (
    "flint_strategies")
FILES = sorted(p for p in SOURCES.glob("*.py") if p.stem not in ("__init__", "plugin"))
TWO_VENUES = {"funding_arb", "basis_trade", "mev_arb_monitor"}
#: Parameters that make a strategy active on 60 days of sample data.
ACTIVE = {"basis_trade": {"entry_basis_bps": 10.0}}


def backtest(strategy):
    name = strategy.name
    venues = ("binance", "hyperliquid") if name in TWO_VENUES else ("binance",)
    candles = {f"{v}:SOL-PERP": sample_bars("SOL-PERP", v, 60) for v in venues}
    engine = BacktestEngine(strategy, fill_model=ClosePriceFill(), max_runtime_s=0,
                            funding_rates=sample_funding("SOL-PERP", days=60),
                            venues=sample_venue_configs())
    return engine.run(candles if len(candles) > 1 else candles["binance:SOL-PERP"])


def test_all_twenty_are_here():
    assert len(FILES) == 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_builtin_as_user_file_validates_loads_and_trades(path):
    code = path.read_text()
    assert validate_strategy_code(code) == (True, None)
    strategy = load_user_strategy(code, ACTIVE.get(path.stem), filename=str(path))
    assert isinstance(strategy, Strategy) and strategy.name == path.stem
    assert check_parameters(type(strategy).parameters()) == []
    result = backtest(strategy)
    if path.stem == "mev_arb_monitor":
        assert any(line.startswith("[") for line in result.logs) and not result.fills
    else:
        assert result.total_trades > 0 or result.open_positions, path.stem


@pytest.mark.skipif(importlib.util.find_spec("flint_strategies") is None,
                    reason="flint-strategies is not installed")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_sandboxed_copy_trades_exactly_like_the_plugin(path, flint_host):
    params = ACTIVE.get(path.stem, {})
    sandboxed = backtest(load_user_strategy(path.read_text(), params, filename=str(path)))
    plugin = backtest(flint_host.registry("strategies").get(path.stem)(**params))
    assert sandboxed.fills == plugin.fills
    assert sandboxed.equity_curve == plugin.equity_curve


USER_FILES = sorted((Path(__file__).parent / "user_strategies").glob("*.py"))


@pytest.mark.skipif(not all(s.available for s in host_support() if s.name in REQUIRED),
                    reason="this host lacks Landlock or seccomp: untrusted code is refused here")
@pytest.mark.parametrize("path", FILES + USER_FILES, ids=[p.stem for p in FILES + USER_FILES])
def test_backtests_in_the_sandbox_equal_the_in_process_run(path):
    """Every built-in and every user file: the sandboxed record is the in-process record."""
    params = ACTIVE.get(path.stem, {})
    venues = ("binance", "hyperliquid") if path.stem in TWO_VENUES else ("binance",)
    if len(venues) > 1 and not all(importlib.util.find_spec(f"flint_{v}") for v in venues):
        pytest.skip("the venue plugins are not installed (a child loads installed plugins)")
    candles = {f"{v}:SOL-PERP": sample_bars("SOL-PERP", v, 60) for v in venues}
    funding = sample_funding("SOL-PERP", days=60)
    settings = RunSettings(strategy=str(path), market="SOL-PERP", venues=venues,
                           fill_model="close", params=params, max_runtime_s=0)
    code = path.read_text()
    first, *others = candles
    remote = run_in_sandbox(code, candles[first], params, job=SANDBOX_JOB, filename=str(path),
                            options=sandbox_options({k: candles[k] for k in others}, funding,
                                                    settings))
    data = candles[first] if len(candles) == 1 else candles
    local = run_backtest(load_user_strategy(code, params, filename=str(path)), data, funding,
                         settings)
    assert journaled(local) == journaled(remote)
    for key in ARRAY_FIELDS:  # the bulk comes back as the arrays it was
        there, here = remote["result"][key], local["result"][key]
        assert type(there) is type(here) and there.dtype == here.dtype


def journaled(record):
    """The record as the journal stores it (arrays as lists, records as objects), less
    the engine's "ran N bars in X s" log line (wall-clock time)."""
    record = json.loads(journal_json({**record, "run_id": "r", "created_at": 1}))
    logs = [line for line in record["result"]["logs"] if not re.match(r"ran \d+ bars in ", line)]
    return {**record, "result": {**record["result"], "logs": logs}}
