"""A job's child process (``python -m flint.server.worker``) and its journal phase:
a real child, a real store; the test plays the server's part of the protocol."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from flint.server.models import OptimizeRequest
from flint.store import FlintStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGTERM")


class Child:
    """A worker running an optimisation of two trials; ``messages`` reads what it reports."""

    def __init__(self, store: Path, folder: Path, code: str) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flint.server.worker", str(write_fd)],
            stdin=subprocess.PIPE, pass_fds=(write_fd,),
        )
        os.close(write_fd)
        self.messages = os.fdopen(read_fd, "r", encoding="utf-8")
        request = OptimizeRequest(code=code, trials=2, seed=1).model_dump()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({
            "kind": "optimize", "request": request, "store": str(store),
            "strategies": str(folder), "trust": False, "parent": os.getpid(),
        }).encode() + b"\n")
        self.proc.stdin.flush()

    def until(self, wanted: str) -> object:
        """The payload of the next message of kind ``wanted`` (None at the end)."""
        for line in self.messages:
            kind, payload = json.loads(line)
            if kind == wanted:
                return payload
            assert kind == "progress", (kind, payload)
        return None

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(60)
        self.messages.close()
        return code


def _runs(store: Path) -> set[str]:
    with FlintStore(store, read_only=True) as reader:
        return {r["run_id"] for r in reader.list_backtest_runs(1000)}


def test_in_its_journal_phase_a_job_ignores_sigterm_and_writes_every_run(
        db: Path, tmp_path: Path, crossing_code: str) -> None:
    child = Child(db, tmp_path, crossing_code)
    run_ids = child.until("journal")
    assert isinstance(run_ids, list) and len(run_ids) == 2  # the study and its best
    child.proc.send_signal(signal.SIGTERM)  # a cancel that lands now changes nothing
    child.proc.send_signal(signal.SIGINT)
    assert child.proc.stdin is not None
    child.proc.stdin.write(b"go\n")
    child.proc.stdin.flush()
    assert child.until("done") == {"run_ids": run_ids, "saved": True}
    assert child.close() == 0
    assert _runs(db) == set(run_ids)


def test_a_job_stopped_before_the_server_lets_it_journal_writes_nothing(
        db: Path, tmp_path: Path, crossing_code: str) -> None:
    child = Child(db, tmp_path, crossing_code)
    assert child.until("journal")
    child.proc.send_signal(signal.SIGTERM)  # the cancel that made the server say no
    assert child.close() == 0  # no "go": it leaves without writing
    assert _runs(db) == set()
