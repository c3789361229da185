"""Backtests, optimisations and walk-forwards as jobs of the HTTP API.

Each job runs :mod:`flint.server.worker` in a child process of its own (so a
cancel stops it at once and reads stay fast while it computes); a thread of the
server follows its messages; the child saves its records to the store's journal
(:func:`flint.cli.journal.save_records`) before it reports them done. At most
``limit`` jobs run at a time: one more is refused with :class:`JobsFull`.

A job is stopped (cancelled, or interrupted by the server stopping) only before its
journal phase: once the child has announced its run ids and been told to go on, it
writes them whole and the job completes with them (a stopping server waits up to
:data:`JOURNAL_GRACE_S` for it, then kills it: its one transaction leaves the store as
it was). So a job's runs are in the journal exactly when they are in its ``run_ids``.

Each job's state is a JSON file in the jobs folder, rewritten on every change, so
the list survives a restart; a job that was queued or running when the server
stopped is marked ``interrupted`` at the next start, never silently lost (``complete``
if the runs it was journaling are in the store). Its results are in the journal
(``run_ids``).
"""

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

import attrs

from flint.server import worker

log = logging.getLogger("flint.server.jobs")

ACTIVE = ("queued", "running")
TERMINAL = ("complete", "failed", "cancelled", "interrupted")
#: Seconds a cancelled child gets to stop before it is killed.
STOP_GRACE_S = 5.0
#: Seconds a stopping server waits for jobs in their journal phase before it kills them.
JOURNAL_GRACE_S = 15.0
#: Jobs remembered across restarts (older finished ones are forgotten at start).
KEEP = 1000
#: Seconds between two looks at a child that is silent.
POLL_S = 1.0


class JobsFull(Exception):
    """As many jobs as allowed are running already."""


@attrs.define
class Job:
    """One job and what is known of it."""

    id: str
    kind: str
    request: dict[str, Any]
    status: str = "queued"
    created_at: float = attrs.field(factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    progress: dict[str, Any] = attrs.field(factory=dict)
    run_ids: list[str] = attrs.field(factory=list)
    error: str | None = None
    note: str | None = None
    version: int = 0
    #: The run ids it is writing to the journal (its journal phase); empty before.
    journaling: list[str] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class JobManager:
    """The jobs of one server: start, follow, cancel, list; state kept in ``folder``
    (the newest ``keep`` jobs)."""

    def __init__(self, store: Path, folder: Path, strategies: Path, *, limit: int = 2,
                 trust: bool = False, keep: int = KEEP) -> None:
        self.store = store
        self.folder = folder
        self.strategies = strategies
        self.limit = limit
        self.trust = trust
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._procs: dict[str, Any] = {}
        self._followers: dict[str, threading.Thread] = {}
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob("*.json")):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:  # not a job file of this version
                log.warning("skipping %s: %s", path, exc)
                continue
            if job.status in ACTIVE:
                written = self._written(job)
                if written is not None:  # the server stopped as the job reported them
                    self._finish(job, {"run_ids": written, "saved": True})
                else:
                    self._interrupt(job)
            self._jobs[job.id] = job
        for job in self.listing()[keep:]:  # the oldest: their runs stay in the journal
            if job.status in TERMINAL:
                del self._jobs[job.id]
                for suffix in (".json", ".log"):
                    (folder / f"{job.id}{suffix}").unlink(missing_ok=True)

    def _save(self, job: Job) -> None:
        job.version += 1
        path = self.folder / f"{job.id}.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(job.to_dict()), encoding="utf-8")
        partial.replace(path)

    def _update(self, job: Job, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(job, key, value)
            self._save(job)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def listing(self) -> list[Job]:
        """Every job, the newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def running(self) -> int:
        return sum(1 for j in self._jobs.values() if j.status in ACTIVE)

    def submit(self, kind: str, request: dict[str, Any]) -> Job:
        """Start job ``kind`` (one of :data:`flint.server.worker.KINDS`) with ``request``;
        the job as it was queued."""
        if kind not in worker.KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        with self._lock:
            if self.running() >= self.limit:
                raise JobsFull(f"{self.limit} jobs are running already; try again later")
            job = Job(uuid.uuid4().hex, kind, request)
            self._jobs[job.id] = job
            self._save(job)
            queued = attrs.evolve(job)  # as it is now, whatever its thread does next
        follower = threading.Thread(target=self._follow, args=(job,),
                                    name=f"flint-job-{job.id[:8]}", daemon=True)
        self._followers[job.id] = follower
        follower.start()
        return queued

    def _follow(self, job: Job) -> None:
        """Run ``job`` in a child process and record what becomes of it."""
        read_fd, write_fd = os.pipe()
        with self._lock:
            if job.status != "queued":  # cancelled before it started
                os.close(read_fd)
                os.close(write_fd)
                self._followers.pop(job.id, None)
                return
            with (self.folder / f"{job.id}.log").open("wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "flint.server.worker", str(write_fd)],
                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                )
            self._procs[job.id] = proc
        os.close(write_fd)
        self._update(job, status="running", started_at=time.time())
        outcome = None
        assert proc.stdin is not None
        with os.fdopen(read_fd, "rb") as messages:
            try:
                proc.stdin.write(json.dumps({
                    "kind": job.kind, "request": job.request, "store": str(self.store),
                    "strategies": str(self.strategies), "trust": self.trust,
                    "parent": os.getpid(),
                }).encode() + b"\n")
                proc.stdin.flush()
            except OSError:  # it died at once: its exit code says more
                pass
            for kind, payload in _messages(messages, proc):
                if kind == "progress":
                    self._update(job, progress=payload)
                elif kind == "journal":
                    self._start_journal(job, proc.stdin, payload)
                else:
                    outcome = (kind, payload)
                    break
        with suppress(OSError):  # it may have died with data left to flush
            proc.stdin.close()
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with self._lock:
            self._procs.pop(job.id, None)
            self._followers.pop(job.id, None)
        done = outcome[1] if outcome is not None and outcome[0] == "done" else None
        if done is None and job.journaling:  # killed in its journal phase: did it commit?
            written = self._written(job)
            done = None if written is None else {"run_ids": written, "saved": True}
        if done is not None:  # its runs are in the journal, whatever else happened
            self._finish(job, done)
            return
        if job.status in TERMINAL:  # cancelled, or the server is stopping
            return
        if outcome is None:
            self._update(job, status="failed", finished_at=time.time(),
                         error=f"the job's process ended without a result (exit code "
                               f"{proc.returncode}; see {self.folder / (job.id + '.log')})")
        elif outcome[0] == "error":
            self._update(job, status="failed", finished_at=time.time(), error=outcome[1])
        else:
            self._finish(job, outcome[1])

    def _start_journal(self, job: Job, go: IO[bytes], run_ids: list[str]) -> None:
        """The child is about to journal ``run_ids``: let it (``go``, its standard input)
        unless the job was stopped already; from now on it is not stopped."""
        with self._lock:
            going = job.status in ACTIVE
            if going:
                job.journaling = run_ids
                job.progress = {"phase": "journal", "done": 0, "total": len(run_ids)}
                self._save(job)
        with suppress(OSError):  # it died meanwhile: nothing was written
            if going:
                go.write(b"go\n")
            go.close()  # without "go" the child writes nothing and exits

    def _written(self, job: Job) -> list[str] | None:
        """``job.journaling`` if those runs are all in the journal, else None (also when
        the store cannot be read)."""
        from flint.store import FlintStore, StoreError

        if not job.journaling:
            return None
        try:
            with FlintStore(self.store, read_only=True) as store:
                found = all(store.get_backtest_run(r) is not None for r in job.journaling)
        except (StoreError, OSError) as exc:
            log.warning("cannot tell whether job %s journaled its runs: %s", job.id, exc)
            return None
        return list(job.journaling) if found else None

    def _finish(self, job: Job, done: dict[str, Any]) -> None:
        from flint.cli.journal import unsaved_dir

        run_ids, saved = done["run_ids"], done["saved"]
        note = job.note if saved else (
            f"the store was busy: the results are kept in {unsaved_dir(self.store)}/ "
            f"(flint journal import adds them)")
        progress = {"phase": "journal", "done": len(run_ids), "total": len(run_ids)} \
            if job.journaling else job.progress
        self._update(job, status="complete", finished_at=time.time(), run_ids=run_ids,
                     progress=progress, error=None, note=note)

    def cancel(self, job_id: str) -> Job | None:
        """Stop job ``job_id`` if it is queued or running, unless it is journaling its
        results (it then completes with them; its note says so); the job (None if
        unknown)."""
        job = self._jobs.get(job_id)
        if job is None:
            return None
        with self._lock:
            if job.status not in ACTIVE:
                return job
            if job.journaling:
                job.note = "cancelled while its results were being journaled: they are kept"
                self._save(job)
                return job
            job.status, job.finished_at = "cancelled", time.time()
            self._save(job)
            proc = self._procs.get(job_id)
        if proc is not None:
            proc.terminate()
        return job

    def close(self) -> None:
        """Stop every running job (marked interrupted): the server is going away. Jobs
        journaling their results get up to :data:`JOURNAL_GRACE_S` to finish."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.status in ACTIVE]
            journaling = [j for j in active if j.journaling]
            for job in active:
                if not job.journaling:  # from now on it will not be let journal
                    self._interrupt(job)
        for job in active:
            proc = self._procs.get(job.id)
            if proc is not None and not job.journaling:
                proc.terminate()
        deadline = time.monotonic() + JOURNAL_GRACE_S
        for job in journaling:
            follower = self._followers.get(job.id)
            if follower is None:  # it has just finished
                continue
            follower.join(max(0.0, deadline - time.monotonic()))
            with self._lock:
                if job.status not in ACTIVE:
                    continue
                self._interrupt(job)
                proc = self._procs.get(job.id)
            if proc is not None:  # its one transaction leaves the store as it was
                proc.kill()
            follower.join(STOP_GRACE_S)  # it records the runs if they were committed

    def _interrupt(self, job: Job) -> None:
        job.status, job.finished_at = "interrupted", time.time()
        job.error = "the server stopped while the job ran; start it again"
        self._save(job)


def _messages(pipe: Any, proc: subprocess.Popen[bytes]) -> Iterator[tuple[str, Any]]:
    """The ``[kind, payload]`` lines a child writes to ``pipe`` until it ends.

    Stops when the child has exited and the pipe holds nothing more, even if another
    process (a fork of the server) still holds the pipe's write end."""
    buffer = b""
    fd = pipe.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], POLL_S)
        chunk = os.read(fd, 1 << 16) if ready else b""
        if ready and not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            kind, payload = json.loads(line)
            yield kind, payload
        if not ready and proc.poll() is not None:
            break
