"""Opening a store file: the single-writer lock and DuckDB connections that wait their turn.

DuckDB lets one process open a file for writing, or any number of processes open
it read-only, never both at once. So that readers (``flint data status``, optimiser
workers) can work while a writer is alive, a store does not keep DuckDB's file
lock for its lifetime: it opens a connection per operation and closes it after.
Two locks are involved:

- the *writer lock*, an exclusive OS lock on ``<db>.lock`` held by the one writing
  :class:`~flint.store.FlintStore` from open to close; a second writer (any
  process) fails at once with :class:`StoreLockedError`;
- DuckDB's own *file lock*, held only while an operation runs; whoever finds it
  taken retries with a short backoff for up to ``timeout_s`` before giving up.
"""

import os
import sys
import time
from pathlib import Path
from typing import IO

import duckdb

from flint.store.errors import StoreError, StoreLockedError

_BUSY_MARKERS = ("Could not set lock", "Conflicting lock", "different configuration")


def _lock_nonblocking(handle: IO[str]) -> bool:
    """Take an exclusive lock on ``handle``; False if someone else holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class WriterLock:
    """The exclusive lock on ``<db>.lock`` that makes a store the file's only writer.

    The lock is released by the OS when its holder exits, even on SIGKILL, so a
    crashed writer never leaves the store locked. The file itself stays (it only
    records the holder's PID for error messages).
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.path = db_path.with_name(db_path.name + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self, wait_s: float = 0.0) -> None:
        """Become the writer, waiting up to ``wait_s`` for the current one to close, or
        raise :class:`StoreLockedError` naming the holder."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        deadline = time.monotonic() + wait_s
        delay = 0.01
        while not _lock_nonblocking(handle):
            if time.monotonic() >= deadline:
                handle.close()
                waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
                raise StoreLockedError(
                    f"the store {self.db_path} is already open for writing "
                    f"(process {self.holder()}){waited}; close that store first, or open "
                    f"this one with read_only=True to read while it writes"
                )
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.25)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def holder(self) -> str:
        """The PID recorded by the current writer (``"unknown"`` if none is recorded)."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def connect(path: str, *, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path``, waiting up to ``timeout_s`` for DuckDB's file lock."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:  # a busy, missing, foreign or damaged file
            message = str(exc)
            if not any(marker in message for marker in _BUSY_MARKERS):
                raise StoreError(f"cannot open the store {path}: {message}") from None
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"the store {path} stayed busy for {timeout_s:g} s (another process "
                    f"holds it: {message.split(': ', 1)[-1]})"
                ) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
