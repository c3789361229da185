"""The store across processes: a killed writer, a second writer, readers during writes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.store import FlintStore, StoreLockedError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from flint.store import FlintStore

    path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = FlintStore(path)
    rng = np.random.default_rng(1)

    def batch(market, n):
        close = 100 + rng.random(n)
        return dict(ts=np.arange(n, dtype=np.int64) * 60, open=close, high=close + 1,
                    low=close - 1, close=close, volume=rng.random(n))

    if mode == "big":
        cols = batch("BIG-PERP", n)
        print("ready", flush=True)
        store.upsert_candles(cols, market="BIG-PERP", resolution_s=60, venue="x")
        print("committed", flush=True)
    elif mode == "runs":  # a job's journal phase: n large records
        from rich.console import Console
        from flint.cli.journal import save_records

        store.close()
        runs = [{"run_id": f"run{i}", "blob": "x" * 100_000} for i in range(n)]
        print("ready", flush=True)
        save_records(runs, path, 0, Console(quiet=True))
        print("committed", flush=True)
    elif mode == "hold":
        print("ready", flush=True)
        time.sleep(60)
    else:  # "loop": keep writing batches until killed
        i = 0
        while True:
            store.upsert_candles(batch("M", n), market=f"M{i % 5}-PERP", resolution_s=60,
                                 venue="x")
            if i == 0:
                print("ready", flush=True)
            i += 1
""")


def _start(tmp_path, path, mode, n=0):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), mode, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        pytest.fail(f"writer did not start: {line!r} {proc.stderr.read()}")
    return proc


def _stop(proc):
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def test_a_writer_killed_mid_upsert_leaves_the_store_as_before_that_batch(tmp_path):
    path = tmp_path / "crash.duckdb"
    before = dict(ts=np.arange(1000, dtype=np.int64) * 60, open=np.full(1000, 50.0),
                  high=np.full(1000, 51.0), low=np.full(1000, 49.0), close=np.full(1000, 50.5),
                  volume=np.ones(1000))
    with FlintStore(path) as store:
        store.upsert_candles(before, market="BIG-PERP", resolution_s=60, venue="x")
        expected = store.query_candles("BIG-PERP", 60)
    size = path.stat().st_size
    # 3M random candles: the batch replaces the first 1000 rows and adds the rest.
    proc = _start(tmp_path, path, "big", 3_000_000)
    deadline = time.monotonic() + 60
    while path.stat().st_size == size and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)  # the file grows once the batch is being written
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    output = proc.stdout.read()
    _stop(proc)
    assert path.stat().st_size > size, "the writer never started writing the batch"
    assert "committed" not in output, "the batch finished before the kill: make it larger"

    with FlintStore(path, read_only=True) as reader:
        assert reader.query_candles("BIG-PERP", 60) == expected
    with FlintStore(path) as store:  # usable: the lock died with the writer
        assert store.query_candles("BIG-PERP", 60) == expected
        more = {k: v[:10] for k, v in before.items()}
        more["ts"] = more["ts"] + 1000 * 60
        assert store.upsert_candles(more, market="BIG-PERP", resolution_s=60, venue="x") == 10
        assert store.count_candles("BIG-PERP", 60) == 1010


def test_a_writer_killed_mid_journal_leaves_all_of_its_runs_or_none(tmp_path):
    path = tmp_path / "runs.duckdb"
    FlintStore(path).close()
    wal = tmp_path / "runs.duckdb.wal"
    proc = _start(tmp_path, path, "runs", 100)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size:  # the runs are being committed
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _stop(proc)
    assert time.monotonic() < deadline, "the writer never committed"

    with FlintStore(path) as store:  # usable: the lock died with the writer
        assert store.count_backtest_runs() in (0, 100)
        store.save_backtest_run({"run_id": "after"})


def test_a_second_writer_in_another_process_gets_a_clear_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    proc = _start(tmp_path, path, "hold")
    try:
        message = rf"already open for writing \(process {proc.pid}\)"
        with pytest.raises(StoreLockedError, match=message):
            FlintStore(path)
        with FlintStore(path, read_only=True) as reader:
            assert reader.summary() == []
    finally:
        _stop(proc)


def test_readers_and_flint_data_status_work_while_another_process_writes(tmp_path):
    path = tmp_path / "busy.duckdb"
    proc = _start(tmp_path, path, "loop", 200_000)
    try:
        runner = CliRunner()
        seen = set()
        for _ in range(3):
            done = runner.invoke(cli, ["data", "status", "--db", str(path)])
            assert done.exit_code == 0, done.output
            assert "M0-PERP" in done.output
            with FlintStore(path, read_only=True) as reader:
                for s in reader.summary():
                    assert s.rows == 200_000  # each batch is there whole or not at all
                    seen.add(s.market)
        assert proc.poll() is None, "the writer stopped"
    finally:
        _stop(proc)
    assert "M0-PERP" in seen
    assert os.path.exists(path)
