"""``flint backtest`` and ``flint strategies`` on a generated store."""

import json
from pathlib import Path

import pytest

from flint.backtest.runs import RunSettings, run_backtest
from flint.cli.backtest import sparkline
from flint.cli.inputs import parse_period, parse_time, time_range
from flint.plugins import get_host
from flint.store import FlintStore
from flint.strategy.loader import load_user_strategy
from flint.testing import sample_bars, sample_funding
from flint.testing.commands import flint_main

REPO = Path(__file__).resolve().parents[1]
GOLDEN_CROSS = REPO / "tests" / "user_strategies" / "golden_cross.py"
BUILTIN_FILES = REPO / "plugins" / "flint-strategies" / "src" / "flint_strategies"
HAS_BUILTINS = "ma_crossover" in get_host().registry("strategies")
needs_builtins = pytest.mark.skipif(not HAS_BUILTINS, reason="flint-strategies not installed")


def journal(db):
    with FlintStore(db, read_only=True) as store:
        return [store.get_backtest_run(r["run_id"]) for r in store.list_backtest_runs()]


def test_a_strategy_file_runs_in_the_sandbox_and_is_journaled(capsys, db):
    code, out = flint_main(capsys, "backtest", str(GOLDEN_CROSS), "--db", str(db), "--venue",
                           "binance", "--fill-model", "close", "--param", "fast=5",
                           "--param", "slow=30")
    assert code == 0, out
    for row in ("PnL", "return", "Sharpe", "Sortino", "max drawdown", "trades", "win rate",
                "fees", "funding (paid > 0)"):
        assert row in out
    assert "equity 10,000 " in out and any(ch in out for ch in "▁▂▃▄▅▆▇█")
    [run] = journal(db)
    assert f"as run {run['run_id']}" in out
    assert run["strategy"] == str(GOLDEN_CROSS) and run["params"] == {"fast": 5, "slow": 30}
    assert (run["market"], run["venue"], run["fill_model"]) == ("SOL-PERP", "binance", "close")
    # the same backtest in this process gives the same numbers
    here = run_backtest(
        load_user_strategy(GOLDEN_CROSS.read_text(), {"fast": 5, "slow": 30}),
        sample_bars("SOL-PERP", "binance", 30), sample_funding("SOL-PERP", days=30),
        RunSettings(str(GOLDEN_CROSS), "SOL-PERP", ("binance",), fill_model="close",
                    params={"fast": 5, "slow": 30}),
    )
    assert run["metrics"] == here["metrics"] and run["total_trades"] > 0
    assert f"{run['total_pnl']:,.2f}" in out


def test_a_multi_venue_file_gets_each_venues_candles(capsys, db):
    monitor = BUILTIN_FILES / "mev_arb_monitor.py"
    code, out = flint_main(capsys, "backtest", str(monitor), "--db", str(db), "--venue", "binance",
                           "--venue", "hyperliquid", "--param", "min_profit_bps=5")
    assert code == 0, out
    [run] = journal(db)
    assert run["venue"] == "binance+hyperliquid" and run["total_trades"] == 0
    assert any("buy on" in line for line in run["result"]["logs"])


def test_refused_code_and_failing_strategies_are_user_errors(capsys, db, tmp_path):
    evil = tmp_path / "evil.py"
    evil.write_text("import os\n" + GOLDEN_CROSS.read_text())
    code, out = flint_main(capsys, "backtest", str(evil), "--db", str(db))
    assert code == 1 and "line 1: import of 'os' is not allowed" in out
    broken = tmp_path / "broken.py"
    broken.write_text(GOLDEN_CROSS.read_text().replace("return Signal.BUY", "return 1 / 0"))
    code, out = flint_main(capsys, "backtest", str(broken), "--db", str(db), "--param", "fast=3",
                           "--param", "slow=5")
    assert code == 1 and "ZeroDivisionError" in out and "broken.py: line" in out
    assert journal(db) == []


@needs_builtins
def test_a_builtin_runs_by_name_with_typed_parameters(capsys, db):
    code, out = flint_main(capsys, "backtest", "ma_crossover", "--db", str(db), "--market",
                           "SOL-PERP", "--venue", "hyperliquid", "--param", "fast_period=5",
                           "--param", "slow_period=40", "--capital", "5000", "--fee", "0.001",
                           "--fill-model", "next_open", "--period", "10d")
    assert code == 0, out
    [run] = journal(db)
    assert run["params"] == {"fast_period": 5, "slow_period": 40}
    assert (run["initial_capital"], run["fee_rate"], run["fill_model"]) == (5000, 0.001,
                                                                             "next_open")
    assert run["bars"] == 241 and run["venue"] == "hyperliquid"  # 10 days and the last bar


@needs_builtins
def test_the_listing_shows_every_builtin_with_category_style_and_parameters(capsys):
    code, out = flint_main(capsys, "strategies", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and len(rows) >= 20
    assert rows["ma_crossover"]["category"] == "trend" and rows["ma_crossover"]["style"] == "v1"
    assert rows["ma_crossover"]["parameters"]["slow_period"]["default"] == 30
    assert rows["funding_arb"]["class"] == "FundingArbStrategy"
    code, out = flint_main(capsys, "strategies")
    assert code == 0 and "funding_arb" in out and "fast_period 2..25 = 10" in out


def test_without_builtins_the_listing_says_how_to_get_them(capsys):
    if HAS_BUILTINS:
        pytest.skip("flint-strategies is installed")
    code, out = flint_main(capsys, "strategies")
    assert code == 0 and "pip install flint-strategies" in out
    code, out = flint_main(capsys, "backtest", "ma_crossover")
    assert code == 1 and "install flint-strategies to get it (`pip install flint-strategies`)" \
        in out


@pytest.mark.parametrize(("args", "message"), [
    (["--venue", "drift"], "no SOL-PERP candles at 3600 s on drift: at 3600 s SOL-PERP is "
                           "stored on binance, hyperliquid"),
    (["--start", "2031-01-01"], "from 2031-01-01 00:00 UTC on: stored binance "),
    (["--market", "DOGE-PERP"], "no DOGE-PERP candles at 3600 s: at 3600 s the store holds "
                                "binance: BTC-PERP, ETH-PERP, SOL-PERP; hyperliquid: BTC-PERP"),
    (["--resolution", "60"], "no SOL-PERP candles at 60 s: it is stored at 3600 s"),
    (["--start", "2024-01-02", "--end", "2024-01-05", "--period", "1d"], "at most two of"),
    (["--period", "7x"], "'7x' is not a period"),
    (["--start", "yesterday"], "'yesterday' is not a date"),
    (["--fill-model", "magic"], "unknown fill model 'magic'; registered: close,"),
    (["--param", "fast"], "'fast' is not KEY=VALUE"),
])
def test_bad_input_is_exit_code_1_with_a_message(capsys, db, args, message):
    code, out = flint_main(capsys, "backtest", str(GOLDEN_CROSS), "--db", str(db), *args)
    assert code == 1 and message in out, out


@pytest.mark.parametrize("command", [
    ["backtest", str(GOLDEN_CROSS)],
    ["optimize", str(GOLDEN_CROSS), "--trials", "2"],
    ["walk-forward", str(GOLDEN_CROSS), "--trials", "2"],
])
@pytest.mark.parametrize(("args", "message"), [
    (["--market", "DOGE-PERP"], "at 3600 s the store holds binance: BTC-PERP, ETH-PERP, "
                                "SOL-PERP; hyperliquid: BTC-PERP, ETH-PERP, SOL-PERP"),
    (["--venue", "drift"], "at 3600 s SOL-PERP is stored on binance, hyperliquid"),
    (["--resolution", "900"], "no SOL-PERP candles at 900 s: it is stored at 3600 s"),
])
def test_missing_candles_are_one_line_naming_what_is_stored(capsys, db, command, args,
                                                            message):
    code, out = flint_main(capsys, *command, "--db", str(db), *args)
    assert code == 1 and message in out, out
    assert out.strip().count("\n") == 0 and "Traceback" not in out
    assert f"`flint data status --db {db}` lists everything stored" in out


def test_a_store_without_candles_says_how_to_get_some(capsys, tmp_path):
    empty = tmp_path / "empty.duckdb"
    FlintStore(empty).close()
    code, out = flint_main(capsys, "backtest", str(GOLDEN_CROSS), "--db", str(empty))
    assert code == 1 and "the store holds no candles" in out
    assert f"`flint data sample --db {empty}`" in out and out.strip().count("\n") == 0


def test_a_missing_store_or_file_says_what_to_do(capsys, tmp_path):
    code, out = flint_main(capsys, "backtest", str(GOLDEN_CROSS), "--db", str(tmp_path / "no.db"))
    assert code == 1 and "create one with `flint data sample` or `flint data import`" in out
    code, out = flint_main(capsys, "backtest", str(tmp_path / "missing.py"))
    assert code == 1 and "no strategy file" in out
    code, out = flint_main(capsys, "backtest", "no_such_strategy", "--db", str(tmp_path / "x"))
    assert code == 1 and "neither a strategy file nor a built-in strategy" in out


def test_time_ranges():
    day = 86_400
    jan1 = parse_time("2024-01-01")
    assert jan1 == 1_704_067_200
    assert parse_time("2024-01-01", end=True) == jan1 + day - 1
    assert parse_time("2024-01-01T06:00") == jan1 + 6 * 3600
    assert parse_period("3m") == 90 * day and parse_period("12h") == 12 * 3600
    assert time_range(None, None, None, newest=jan1) == (None, None)
    assert time_range(None, None, "2d", newest=jan1) == (jan1 - 2 * day, jan1)
    assert time_range("2024-01-01", None, "1w", newest=None) == (jan1, jan1 + 7 * day)
    assert time_range(None, "2024-01-01", "1d", newest=None) == (jan1 - 1, jan1 + day - 1)


def test_sparkline_spans_low_to_high_in_at_most_width_characters():
    line = sparkline([float(i) for i in range(1000)], width=50)
    assert len(line) <= 50 and line[0] == "▁" and line[-1] == "█"
    assert sparkline([5.0, 5.0]) == "▅▅" and sparkline([]) == ""
