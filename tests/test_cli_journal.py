"""A computed result is never thrown away: a busy store is waited for, or the run is kept
in a file that ``flint journal import`` adds later; ``--no-journal`` skips saving."""

import json
import subprocess
import sys
import textwrap

import pytest

from flint.plugins import get_host
from flint.store import FlintStore
from flint.testing.commands import flint_main

pytestmark = pytest.mark.skipif(
    "ma_crossover" not in get_host().registry("strategies"),
    reason="the built-in strategies (flint-strategies) are not installed",
)

HOLD_WRITER = textwrap.dedent("""
    import sys, time
    from flint.store import FlintStore
    store = FlintStore(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    store.close()
""")


def hold_writer(db, seconds):
    """Another process that holds the store open for writing for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, str(db), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def runs(db):
    with FlintStore(db, read_only=True) as store:
        return store.list_backtest_runs()


def test_a_busy_store_keeps_the_result_in_a_file_that_imports_later(db, capsys):
    holder = hold_writer(db, 60)
    try:
        code, out = flint_main(capsys, "backtest", "ma_crossover", "--db", str(db),
                               "--journal-wait", "0.3")
    finally:
        holder.kill()
        holder.wait()
    assert code == 0, out
    assert "Sharpe" in out and f"process {holder.pid} is writing" in out
    assert "not saved to the journal" in out
    [kept] = (db.parent / "unsaved-runs").glob("*.json")
    record = json.loads(kept.read_text())
    assert record["strategy"] == "ma_crossover" and record["metrics"]["total_trades"] > 0
    assert runs(db) == []
    code, out = flint_main(capsys, "journal", "import", str(kept.parent), "--db", str(db))
    assert code == 0, out
    [run] = runs(db)
    assert run["run_id"] == record["run_id"] and not kept.exists()


def test_the_command_waits_for_a_writer_that_finishes(db, capsys):
    holder = hold_writer(db, 1.0)
    code, out = flint_main(capsys, "backtest", "ma_crossover", "--db", str(db))
    holder.wait()
    assert code == 0, out
    [run] = runs(db)
    assert f"as run {run['run_id']}" in out
    assert not (db.parent / "unsaved-runs").exists()


def test_no_journal_saves_nothing(db, capsys):
    code, out = flint_main(capsys, "backtest", "ma_crossover", "--db", str(db), "--no-journal")
    assert code == 0, out
    assert "Sharpe" in out and "--no-journal" in out
    assert runs(db) == []


def test_a_run_without_trades_has_no_win_rate(db, capsys, tmp_path):
    idle = tmp_path / "idle.py"
    idle.write_text(textwrap.dedent("""
        from flint.models import Signal
        from flint.strategy.base import Strategy

        class Idle(Strategy):
            @property
            def name(self):
                return "idle"

            def on_candle(self, candle, history, ctx=None):
                return Signal.HOLD

            def reset(self):
                pass
    """))
    code, out = flint_main(capsys, "backtest", str(idle), "--db", str(db), "--no-journal")
    assert code == 0, out
    assert "n/a (no trades)" in out and "0.0 %" not in out


def test_import_refuses_a_file_that_is_not_a_record(db, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, out = flint_main(capsys, "journal", "import", str(bad), "--db", str(db))
    assert code == 1 and "not a journal record" in out
    assert bad.exists()


def test_an_optimisation_on_a_busy_store_keeps_its_records_in_files(db, capsys):
    holder = hold_writer(db, 60)
    try:
        code, out = flint_main(capsys, "optimize", "ma_crossover", "--db", str(db), "--trials", "3",
                               "--journal-wait", "0.2")
    finally:
        holder.kill()
        holder.wait()
    assert code == 0, out
    assert "best sharpe_ratio" in out and "not saved to the journal" in out
    kept = sorted((db.parent / "unsaved-runs").glob("*.json"))
    kinds = sorted(json.loads(k.read_text()).get("kind") for k in kept)
    assert kinds == ["backtest", "optimization"]
    code, out = flint_main(capsys, "journal", "import", str(db.parent / "unsaved-runs"),
                           "--db", str(db))
    assert code == 0 and len(runs(db)) == 2
