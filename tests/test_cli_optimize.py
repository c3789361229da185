"""`flint optimize`, `flint walk-forward` and `flint report` end to end on the sample store."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.store import FlintStore
from flint.testing.strategy_files import crossing_strategy

STRATEGY = crossing_strategy({"fast": {"type": "int", "low": 2, "high": 10, "step": 2},
                              "slow": {"type": "int", "low": 10, "high": 40, "step": 10}},
                             ordered=True)

# the seed's own example (python-sdk.md): with fast > slow, sma() raises IndexError
GOLDEN = '''\
from flint.strategy.base import Strategy
from flint.models import Candle, Signal
from flint.indicators import sma
from typing import List, Optional


class GoldenCross(Strategy):
    def __init__(self, fast=20, slow=50):
        self.fast, self.slow = fast, slow

    @property
    def name(self): return "golden-cross"

    def on_candle(self, candle: Candle, history: List[Candle], ctx=None) -> Signal:
        if len(history) < self.slow:
            return Signal.HOLD
        fast, slow = sma(history, self.fast), sma(history, self.slow)
        if fast > slow: return Signal.BUY
        if fast < slow: return Signal.SELL
        return Signal.HOLD

    def reset(self): pass

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 5,  "high": 50,  "default": 20},
            "slow": {"type": "int", "low": 20, "high": 200, "default": 50},
        }
'''


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-optimize")
    db = root / "sample.duckdb"
    done = CliRunner().invoke(cli, ["data", "sample", "--db", str(db), "--days", "45"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    (root / "crossing.py").write_text(STRATEGY)
    (root / "golden.py").write_text(GOLDEN)
    return root


@pytest.fixture
def flint(workspace, monkeypatch):
    monkeypatch.chdir(workspace)  # no stray flint.yaml / .env; relative paths land here

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def _ids(output):
    return dict(re.findall(r"(optimization|backtest of the best parameters|walk_forward) "
                           r"([0-9a-f]{32})", output))


def test_optimize_a_strategy_file_journal_and_report_it(flint, workspace, screenshot):
    done = flint("optimize", "crossing.py", "--db", "sample.duckdb", "--market", "SOL-PERP",
                 "--venue", "hyperliquid", "--start", "2024-01-03", "--end", "2024-02-10",
                 "--trials", 8, "--jobs", 2, "--sampler", "random", "--seed", 3,
                 "--metric", "total_pnl", "--param-space", '{"slow": {"high": 30}}',
                 "--out", "opt-report")
    assert done.exit_code == 0, done.output
    assert "top 5 of 8 trials in study 'flint-Crossing-total_pnl' (total_pnl, maximize)" \
        in done.output
    ids = _ids(done.output)
    with FlintStore(workspace / "sample.duckdb", read_only=True) as store:
        study = store.get_backtest_run(ids["optimization"])
        best = store.get_backtest_run(ids["backtest of the best parameters"])
    assert study["kind"] == "optimization" and best["kind"] == "backtest"
    assert study["best_run_id"] == best["run_id"] and best["params"] == study["best_params"]
    assert study["strategy"] == best["strategy"] == "crossing"
    assert study["strategy_code"] == STRATEGY and study["strategy_class"] == "Crossing"
    assert (study["venue"], study["market"], study["resolution_s"]) == (
        "hyperliquid", "SOL-PERP", 3600)
    assert (study["start_ts"], study["end_ts"]) == (1_704_240_000, 1_707_523_200 + 23 * 3600)
    assert study["param_space"]["slow"] == {"type": "int", "low": 10, "high": 30, "step": 10}
    assert len(study["trials"]) == 8 and all(t["params"]["slow"] <= 30 for t in study["trials"])
    assert best["total_pnl"] == pytest.approx(study["best_value"])  # same data, same run
    assert best["funding_paid"] != 0  # hyperliquid's hourly funding was applied
    for name in ("report.html", "optimization_history.png", "param_importance.png"):
        assert (workspace / "opt-report" / name).is_file()

    report = flint("report", best["run_id"], "--db", "sample.duckdb", "--out", "best-report")
    assert report.exit_code == 0, report.output
    folder = workspace / "best-report"
    for name in ("equity.png", "rolling_sharpe.png", "monthly_returns.png", "monte_carlo.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG" and name in report.output
    text = (folder / "report.html").read_text()
    assert "crossing (fast=" in text and "hyperliquid/SOL-PERP" in text
    assert f"Trades ({int(best['total_trades'])})" in text
    pixels = screenshot(folder / "report.html", 3600)
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x6F, 0xEB]) / 255) < 0.08, axis=2)
    red = (pixels[:, :, 0] > 0.8) & (pixels[:, :, 1] < 0.6) & (pixels[:, :, 2] < 0.6)
    assert blue.sum() > 500 and red.sum() > 500, "the charts of the journaled run are blank"

    again = flint("report", study["run_id"], "--db", "sample.duckdb", "--out", "study-report")
    assert again.exit_code == 0 and "optimization_history.png" in again.output


def test_walk_forward_journals_windows_and_reports_the_stitched_curve(flint, workspace):
    done = flint("walk-forward", "crossing.py", "--db", "sample.duckdb", "--windows", 2,
                 "--train-pct", 0.6, "--anchored", "--trials", 4, "--sampler", "grid",
                 "--param-space", '{"fast": {"high": 4}, "slow": 20}')
    assert done.exit_code == 0, done.output
    assert "overfitting ratio (OOS / IS)" in done.output
    run_id = _ids(done.output)["walk_forward"]
    with FlintStore(workspace / "sample.duckdb", read_only=True) as store:
        record = store.get_backtest_run(run_id)
        listed = {r["run_id"]: r for r in store.list_backtest_runs(limit=50)}
    assert record["kind"] == "walk_forward" and record["anchored"] is True
    assert [w["train_start_ts"] for w in record["windows"]] == [record["start_ts"]] * 2
    assert {w["best_params"]["slow"] for w in record["windows"]} == {20}
    assert len(record["oos_equity_curve"]) == len(record["oos_timestamps"]) == 432
    assert listed[run_id]["overfitting_ratio"] == record["overfitting_ratio"]
    # the stitched OOS run holds the trades, fees and funding of its windows
    stitched, windows = record["oos_run"], record["windows"]
    trades = sum(w["out_of_sample_trades"] for w in windows)
    assert stitched["total_trades"] == trades > 0
    assert stitched["total_fees"] == pytest.approx(sum(w["out_of_sample_fees"] for w in windows))
    assert stitched["funding_paid"] == pytest.approx(
        sum(w["out_of_sample_funding"] for w in windows))
    assert stitched["total_fees"] > 0 and stitched["funding_paid"] != 0
    assert f", {trades} trades, fees " in done.output
    report = flint("report", run_id, "--db", "sample.duckdb", "--out", "wf-report")
    assert report.exit_code == 0, report.output
    text = (workspace / "wf-report" / "report.html").read_text()
    assert "Walk-forward, stitched out-of-sample equity" in text and "Windows" in text
    assert f"Trades ({trades})" in text
    fees = stitched["total_fees"]
    shown = f"{fees:,.4f}" if fees < 100 else f"{fees:,.2f}"  # as the report rounds
    assert f"<tr><th>total_fees</th><td>{shown}</td></tr>" in text


def test_bad_input_is_explained(flint, workspace, tmp_path):
    missing = flint("optimize", "crossing.py", "--db", tmp_path / "none.duckdb")
    assert missing.exit_code == 1 and "flint data sample" in missing.output
    empty = flint("optimize", "crossing.py", "--db", "sample.duckdb", "--market", "DOGE-PERP")
    assert empty.exit_code == 1
    assert "no DOGE-PERP candles at 3600 s: at 3600 s the store holds binance: " \
        in empty.output
    assert "`flint data status --db sample.duckdb` lists everything stored" in empty.output
    unknown = flint("optimize", "no_such_strategy", "--db", "sample.duckdb")
    assert unknown.exit_code == 1
    assert "'no_such_strategy' is neither a strategy file nor a built-in strategy: unknown " \
        "strategy 'no_such_strategy'; registered: " in unknown.output
    (workspace / "evil.py").write_text("import os\n" + STRATEGY)
    evil = flint("optimize", "evil.py", "--db", "sample.duckdb")
    assert evil.exit_code == 1 and "import of 'os' is not allowed" in evil.output
    space = flint("optimize", "crossing.py", "--db", "sample.duckdb", "--param-space",
                  json.dumps({"speed": 3}))
    assert space.exit_code == 1 and "unknown parameter 'speed'" in space.output
    not_json = flint("optimize", "crossing.py", "--db", "sample.duckdb", "--param-space", "{")
    assert not_json.exit_code == 2 and "--param-space must be JSON" in not_json.output
    bad_date = flint("walk-forward", "crossing.py", "--db", "sample.duckdb", "--start", "May")
    assert bad_date.exit_code == 2 and "is not a date (YYYY-MM-DD)" in bad_date.output
    report = flint("report", "0" * 32, "--db", "sample.duckdb")
    assert report.exit_code == 1 and f"no run {'0' * 32} in sample.duckdb" in report.output


def test_the_optimisation_docs_use_real_commands_and_options(repo_root):
    text = (repo_root / "docs" / "optimization.md").read_text()
    commands = re.findall(r"^(flint (?:optimize|walk-forward|report|calibrate)\b(?:.*\\\n)*.*)$",
                          text, flags=re.M)
    assert len(commands) >= 5
    for command in commands:
        name = command.split()[1]
        known = {o for p in cli.commands[name].params for o in getattr(p, "opts", [])}
        for option in re.findall(r"\s(--[a-z-]+)", command):
            assert option in known, f"docs/optimization.md: {name} has no option {option}"


def test_a_built_in_strategy_is_found_by_its_registered_name(workspace, fake_dists):
    import subprocess
    import sys

    registration = ('\n\nfrom flint import hookimpl\n\n\n@hookimpl\n'
                    'def flint_register_strategies(register):\n'
                    '    register("demo_crossing", Crossing, category="trend")\n')
    fake_dists.add("flint-demo-strategies", "demo_strategies", STRATEGY + registration)
    done = subprocess.run(
        [sys.executable, "-m", "flint", "optimize", "demo_crossing", "--db", "sample.duckdb",
         "--trials", "3", "--sampler", "random", "--jobs", "2"],
        check=False, cwd=workspace, env=fake_dists.env(), capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "top 5 of 3 trials in study 'flint-Crossing-sharpe_ratio'" in done.stdout
    assert "demo_crossing" not in done.stderr


def test_the_seeds_golden_cross_fails_some_trials_and_the_study_goes_on(flint, workspace):
    done = flint("optimize", "golden.py", "--db", "sample.duckdb", "--trials", 16, "--jobs", 2,
                 "--sampler", "random", "--seed", 4, "--param-space", '{"slow": {"high": 60}}')
    assert done.exit_code == 0, done.output
    found = re.search(r"^(\d+) of 16 trials failed; most common error: IndexError in (\d+) "
                      r"trial\(s\), e\.g\. golden\.py: line \d+: IndexError: sma\(period=\d+\) "
                      r"needs at least \d+ bars of "
                      r"history, got \d+$", done.output, flags=re.M)
    assert found and found[1] == found[2], done.output
    with FlintStore(workspace / "sample.duckdb", read_only=True) as store:
        study = store.get_backtest_run(_ids(done.output)["optimization"])
    failed = [t for t in study["trials"] if t["state"] == "FAIL"]
    assert study["failed_trials"] == len(failed) == int(found[1]) > 0
    assert all(t["params"]["fast"] > t["params"]["slow"] and t["error_type"] == "IndexError"
               for t in failed)
    assert study["most_common_error"]["trials"] == len(failed)
    assert len(study["trials"]) == 16


def test_a_declared_constraint_keeps_every_trial_runnable(flint, workspace):
    done = flint("optimize", "golden.py", "--db", "sample.duckdb", "--trials", 16, "--jobs", 2,
                 "--sampler", "random", "--seed", 4, "--study", "constrained", "--param-space",
                 '{"slow": {"high": 60, "greater_than": "fast"}}')
    assert done.exit_code == 0, done.output
    assert "failed" not in done.output
    with FlintStore(workspace / "sample.duckdb", read_only=True) as store:
        study = store.get_backtest_run(_ids(done.output)["optimization"])
    assert study["failed_trials"] == 0 and study["most_common_error"] is None
    assert all(t["params"]["slow"] > t["params"]["fast"] for t in study["trials"])


def _one_error_line(output):
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "Error" in line]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_trial_failing_exits_1_with_one_line(flint, jobs):
    done = flint("optimize", "golden.py", "--db", "sample.duckdb", "--trials", 3,
                 "--jobs", jobs, "--study", f"all-fail-{jobs}",
                 "--param-space", '{"fast": {"low": 40}, "slow": {"high": 30}}')
    assert done.exit_code == 1
    assert _one_error_line(done.output).startswith(
        "Error: no trial of GoldenCross completed: 3 of 3 failed; most common error: "
        "IndexError in 3 trial(s), e.g. golden.py: line 17: IndexError: sma(period=")
    walk = flint("walk-forward", "golden.py", "--db", "sample.duckdb", "--windows", 2,
                 "--trials", 2, "--jobs", jobs,
                 "--param-space", '{"fast": {"low": 40}, "slow": {"high": 30}}')
    assert walk.exit_code == 1
    assert _one_error_line(walk.output).startswith(
        "Error: no trial completed in any of the 2 windows (window 1: no trial of GoldenCross "
        "completed: 2 of 2 failed; most common error: IndexError in 2 trial(s)")


def test_the_constraint_is_in_the_help(flint):
    for command in ("optimize", "walk-forward"):
        text = " ".join(flint(command, "--help").output.split())
        assert ('{"slow": {"greater_than": "fast"}} makes the sampler draw slow above the fast '
                'it drew') in text


@pytest.mark.parametrize(("strategy", "options"), [
    ("ma_crossover", ("--venue", "hyperliquid", "--period", "20d", "--fee", "0.001",
                      "--fill-model", "close")),
    ("funding_arb", ("--venue", "binance", "--venue", "hyperliquid", "--start", "2024-01-10",
                     "--capital", "5000")),
])
def test_backtest_and_optimize_read_the_same_options_alike(flint, workspace, strategy, options):
    """One strategy with one set of options: the same run in `backtest` and in the best
    run of a one-point `optimize` (same candles, funding, fees, fill model, capital)."""
    pytest.importorskip("flint_strategies", reason="the built-ins come with flint-strategies")
    from flint.plugins import get_strategy

    defaults = {k: v["default"] for k, v in get_strategy(strategy).parameters().items()}
    common = ("--db", "sample.duckdb", "--market", "SOL-PERP", *options)
    ran = flint("backtest", strategy, *common)
    assert ran.exit_code == 0, ran.output
    [direct_id] = re.findall(r"as run ([0-9a-f]{32})", ran.output)
    studied = flint("optimize", strategy, *common, "--trials", 1, "--sampler", "grid",
                    "--param-space", json.dumps(defaults))
    assert studied.exit_code == 0, studied.output
    best_id = _ids(studied.output)["backtest of the best parameters"]
    with FlintStore(workspace / "sample.duckdb", read_only=True) as store:
        direct, best = store.get_backtest_run(direct_id), store.get_backtest_run(best_id)
    assert direct["total_trades"] > 0
    for key in ("total_pnl", "total_fees", "funding_paid", "total_trades", "venue",
                "fill_model", "fee_rate", "initial_capital", "start_ts", "end_ts"):
        assert direct[key] == best[key], key
