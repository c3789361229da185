"""``flint new``: the scaffold validates, loads, runs, and never clobbers a file."""

import csv
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.cli.new import names_for
from flint.models import Candle, CandleSeries, Signal
from flint.strategy.loader import load_user_strategy, validate_strategy_code
from flint.strategy.sandbox import signals


@pytest.fixture(scope="module")
def real_bars(flint_test_data):
    with open(flint_test_data / "hyperliquid-ETH-3600.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:2000]
    return CandleSeries.from_candles(
        Candle(int(r["ts"]), float(r["open"]), float(r["high"]), float(r["low"]),
               float(r["close"]), float(r["volume"]), "ETH", 3600, "hyperliquid")
        for r in rows
    )


def test_names_follow_python_conventions():
    assert names_for("my-momentum") == ("my_momentum", "MyMomentumStrategy", "my-momentum")
    assert names_for("FundingCarry") == ("funding_carry", "FundingCarryStrategy", "funding-carry")
    assert names_for("rsi2_Strategy") == ("rsi2_strategy", "Rsi2Strategy", "rsi2-strategy")


def test_v1_scaffold_validates_loads_and_trades(tmp_path, real_bars):
    done = CliRunner().invoke(cli, ["new", "trend-rider", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    path = tmp_path / "trend_rider.py"
    assert f"Created {path}" in done.output
    code = path.read_text()
    assert validate_strategy_code(code) == (True, None)
    strategy = load_user_strategy(code, filename=str(path))
    assert type(strategy).__name__ == "TrendRiderStrategy" and strategy.name == "trend-rider"
    counts = signals(strategy, real_bars)
    assert counts["buy"] > 0 and counts["sell"] > 0, counts


def test_v2_scaffold_places_orders_through_the_context(tmp_path, real_bars, recording_context):
    done = CliRunner().invoke(cli, ["new", "dip_buyer", "--v2", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    code = (tmp_path / "dip_buyer.py").read_text()
    assert validate_strategy_code(code) == (True, None)
    strategy = load_user_strategy(code, {"oversold": 35.0})
    ctx = recording_context()
    history = real_bars.window(0, 0)
    for i in range(len(real_bars)):
        history.move_to(max(0, i - 500), i)
        assert strategy.on_candle(real_bars.candle(i), history, ctx) is Signal.HOLD
    kinds = {order[0] for order in ctx.orders}
    assert {"market", "stop", "take_profit", "close"} <= kinds, kinds


def test_an_existing_file_is_never_overwritten(tmp_path):
    target = tmp_path / "keep_me.py"
    target.write_text("# my work\n")
    done = CliRunner().invoke(cli, ["new", "keep-me", "--dir", str(tmp_path)])
    assert done.exit_code == 1
    assert f"{target} already exists" in done.output
    assert target.read_text() == "# my work\n"


def test_bad_names_and_folders_are_explained(tmp_path):
    done = CliRunner().invoke(cli, ["new", "9lives", "--dir", str(tmp_path)])
    assert done.exit_code == 2
    assert "use 1-64 letters, digits, '-' or '_', starting with a letter" in done.output
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = CliRunner().invoke(cli, ["new", "ok", "--dir", str(blocker)])
    assert done.exit_code == 1 and "exists and is not a folder" in done.output


def test_the_installed_command_writes_into_strategies_user_by_default(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "flint")
    done = subprocess.run([script, "new", "first.py"], cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "strategies" / "user" / "first.py").is_file()
