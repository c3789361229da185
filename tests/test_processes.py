"""Worker processes die with their parent, SIGKILL included, and leave nothing behind."""

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.processes import ORPHANED, die_with_parent
from flint.testing.processes import all_gone, child_pids, is_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find the processes")

FAMILY = textwrap.dedent('''
    """A parent that forks a worker which dies with it; both wait to be killed."""
    import os, sys, time
    from flint.processes import die_with_parent

    parent = os.getpid()
    child = os.fork()
    if child == 0:
        die_with_parent(parent, kernel=sys.argv[1] == "kernel")
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
    time.sleep(120)
''')


@pytest.mark.parametrize("how", ["kernel", "thread"])
def test_a_worker_dies_when_its_parent_is_killed(tmp_path, how):
    script = tmp_path / "family.py"
    script.write_text(FAMILY)
    parent = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE,
                              text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.3)
    assert is_alive(child)
    parent.kill()  # SIGKILL: the parent runs no cleanup at all
    parent.wait()
    assert all_gone([child]), f"worker {child} outlived its parent ({how})"


def _orphan():
    die_with_parent(os.getppid() + 1_000_000)  # not our parent: it "died" before the call
    time.sleep(30)


def test_a_worker_whose_parent_died_before_the_watch_exits_at_once():
    worker = multiprocessing.get_context("fork").Process(target=_orphan)
    worker.start()
    worker.join(10)
    assert worker.exitcode == ORPHANED


def _scratch_files(pids):
    """What the processes hold open in RAM or temporary folders (their study files)."""
    places = ("/dev/shm/", tempfile.gettempdir() + "/")
    found = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(places):
                found.add(target)
    return found


@pytest.mark.parametrize("command", [
    ["optimize", "--trials", "400", "--sampler", "random"],
    ["walk-forward", "--windows", "2", "--trials", "400", "--sampler", "random"],
])
def test_killing_the_command_kills_its_workers_and_leaves_no_study_files(tmp_path, command,
                                                                        crossing_code):
    db = tmp_path / "sample.duckdb"
    (tmp_path / "crossing.py").write_text(crossing_code)
    done = CliRunner().invoke(cli, ["data", "sample", "--db", str(db), "--days", "120"])
    assert done.exit_code == 0, done.output
    run = subprocess.Popen(
        [sys.executable, "-m", "flint", command[0], "crossing.py", "--db", str(db),
         "--jobs", "2", "--no-journal", *command[1:]],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(child_pids(run.pid)) < 2:
        assert run.poll() is None, run.stderr.read()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    workers = child_pids(run.pid)
    time.sleep(1.0)  # mid-run
    held = _scratch_files([run.pid, *workers])
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert all_gone(workers), "the workers outlived the killed command"
    # the private study's journal and locks: open, but without a name that could be left
    assert held and all(path.endswith(" (deleted)") for path in held), held
