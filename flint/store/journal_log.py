"""The write-ahead file of the live order journal, and its mirror into DuckDB.

A DuckDB transaction costs milliseconds, too much to put in front of every order. So a
writing store appends each journal batch (its events and fill, full rows with their
sequence numbers) as one line to ``<db>.journal`` and syncs it to disk (``fdatasync``)
before the append is acknowledged; a background thread then copies the pending batches
into the ``live_events`` / ``live_fills`` tables, one transaction per round, and
empties the file once everything in it is in DuckDB.

A line is ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``. A line cut short or whose
checksum fails (a write torn by a crash: it was never acknowledged) is dropped with a
logged warning, together with anything after it. Copying is idempotent (rows are keyed
by their sequence number and fills by their trade id), so a batch copied before a
crash and found in the file again on the next open is not written twice. Readers merge
the pending batches with the tables: a writer from memory, a read-only store by reading
the file.
"""

import json
import logging
import os
import sys
import threading
import weakref
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

log = logging.getLogger(__name__)

#: How long the mirror waits after an append, so that one transaction takes a batch.
MIRROR_DELAY_S = 0.05
#: Flushes a file's data to disk (``fsync`` where ``fdatasync`` is missing: macOS, Windows).
_sync = getattr(os, "fdatasync", os.fsync)
_compact = json.JSONEncoder(separators=(",", ":")).encode


@attrs.frozen
class Batch:
    """One acknowledged append: rows of ``LIVE_EVENT_COLUMNS`` and, when a fill was
    booked, a row of ``LIVE_FILL_COLUMNS`` (sequence numbers final)."""

    events: tuple[tuple[Any, ...], ...]
    fill: tuple[Any, ...] | None = None


def encode(batch: Batch) -> bytes:
    """``batch`` as one checksummed line."""
    body = _compact([batch.events, batch.fill]).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode(data: bytes, path: Path, level: int = logging.WARNING) -> tuple[list[Batch], int]:
    """The whole batches at the start of ``data`` and how many bytes they take; a torn
    or damaged line and everything after it are dropped, logged at ``level``."""
    batches: list[Batch] = []
    good = 0
    while good < len(data):
        end = data.find(b"\n", good)
        line = data[good:end] if end >= 0 else b""
        try:
            crc, body = line.split(b" ", 1)
            if end < 0 or int(crc, 16) != zlib.crc32(body):
                raise ValueError("checksum")
            events, fill = json.loads(body)
        except ValueError:
            log.log(level, "%s: dropped %d bytes of a torn or damaged journal write at offset "
                        "%d (never acknowledged)", path, len(data) - good, good)
            break
        batches.append(Batch(tuple(tuple(e) for e in events),
                             None if fill is None else tuple(fill)))
        good = end + 1
    return batches, good


class JournalLog:
    """The pending journal batches of one writing store: appended durably to ``path``
    (``None``: in memory only), copied to DuckDB by ``mirror`` off the caller's thread.

    ``mirror(batches)``, a method of the store, must write the batches' rows in one
    transaction, skipping rows already there. It is held weakly: a store dropped
    without closing it is not kept alive by the mirror thread (its batches stay in
    the file for the next writer).
    """

    def __init__(self, path: Path | None, mirror: Callable[[Sequence[Batch]], None],
                 durable: bool = True) -> None:
        self.path = path
        #: Sync each append to disk (survives power loss); False: written to the OS
        #: only (survives the process's death, kill -9 included, not the machine's).
        self.durable = durable
        self._mirror = weakref.WeakMethod(mirror)  # type: ignore[arg-type]
        self._lock = threading.Lock()  # appends, the pending list, the file
        self._copying = threading.Lock()  # one mirror round at a time
        self._pending: list[Batch] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._size = 0  # bytes in the file

    def recover(self) -> int:
        """Copy into DuckDB the batches a previous writer left in the file (a torn tail
        dropped), then remove the file; the number of batches."""
        if self.path is None or not self.path.exists():
            return 0
        batches, _ = decode(self.path.read_bytes(), self.path)
        if batches:
            self._copy(batches)
        self.path.unlink()
        return len(batches)

    def append(self, batches: Sequence[Batch]) -> None:
        """Write ``batches`` (in one write) and wait until they are on disk; the mirror
        copies them later."""
        if not batches:
            return
        line = b"".join(encode(batch) for batch in batches)
        with self._lock:
            if self.path is not None:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    if self.durable:  # the new file's name survives power loss
                        _sync_folder(self.path.parent)
                try:
                    written = os.write(self._fd, line)
                    if written != len(line):
                        raise OSError(f"short write to {self.path} ({written} of "
                                      f"{len(line)} bytes)")
                    if self.durable:
                        _sync(self._fd)
                except OSError:  # not acknowledged: leave no part of it in the file
                    os.ftruncate(self._fd, self._size)
                    raise
                self._size += len(line)
            self._pending.extend(batches)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="flint-journal-mirror",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def pending(self) -> list[Batch]:
        """Batches acknowledged but perhaps not yet in DuckDB, oldest first."""
        with self._lock:
            return list(self._pending)

    def flush(self) -> None:
        """Copy every pending batch into DuckDB now, then empty the file."""
        with self._copying:
            batch = self.pending()
            if not batch:
                return
            self._copy(batch)
            with self._lock:
                del self._pending[:len(batch)]
                if not self._pending and self._fd is not None:
                    os.ftruncate(self._fd, 0)
                    self._size = 0

    def close(self) -> None:
        """Stop the mirror, copy what is pending and remove the (then empty) file."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self.path is not None and self.path.exists() and not self.path.stat().st_size:
                self.path.unlink()

    def _copy(self, batches: Sequence[Batch]) -> None:
        mirror = self._mirror()
        if mirror is None:
            raise RuntimeError("the store of this journal was dropped without closing it")
        mirror(batches)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(1.0):
                if self._mirror() is None:  # the store is gone
                    return
                continue
            if self._stop.wait(MIRROR_DELAY_S):
                return
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # the rows stay in the file: retried, never lost
                if self._mirror() is None:
                    return
                log.warning("journal mirror into DuckDB failed (will retry): %s", exc)
                self._wake.set()
                self._stop.wait(1.0)


def read_pending(path: Path) -> list[Batch]:
    """The batches in a writer's journal file, for a read-only store (a line the
    writer is still writing is left out quietly)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return decode(data, path, logging.DEBUG)[0]


def _sync_folder(folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - a folder cannot be opened there
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
