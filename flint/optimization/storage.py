"""Where a study lives, and how processes sharing it count its trials.

- A **shared** study lives in a database (a URL, opened by :func:`open_shared`):
  on PostgreSQL (across machines) as an Optuna journal of its own
  (:mod:`flint.optimization.pg_journal`, a :class:`SharedJournal`), on SQLite (one
  machine) in Optuna's RDB storage (:func:`open_rdb`, heartbeats on). A study made
  on PostgreSQL by Optuna's RDB storage (flint before the journal) is opened there
  still. What goes wrong (a bogus scheme, a missing driver, an unreachable server,
  a refused login) is one :class:`StorageError` line.
- A **private** study of several worker processes lives in a journal file that
  has no name (:func:`private_files`, Linux): it vanishes with the last process
  holding it, even when they are all killed, so no temporary folder is left behind.

Every process that starts a trial first takes the study's *claim lock*
(:func:`claim_lock`: a PostgreSQL advisory lock, else an ``flock``), counts the
study's trials (:func:`counts`) and creates a trial only while the count is below
the study's total, so the total is never exceeded and, since every process waits
for the last trials, never short. The lock dies with the process holding it.

A worker records a heartbeat for its running trial (:class:`Heartbeat`); a RUNNING
trial whose heartbeat stopped (its process was killed, its machine lost) is an
*orphan* (:func:`orphans`): the next claimer puts it back in the queue and runs it
again with the same parameters, so the study still holds exactly its total.
"""

import contextlib
import functools
import os
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import optuna

from flint.backtest.journal import redact
from flint.optimization import pg_journal
from flint.optimization.defaults import GRACE_BEATS

#: Attempts at opening an RDB storage whose tables another process is creating.
RDB_ATTEMPTS = 5
#: Dialects whose claim lock flint provides.
DIALECTS = ("postgresql", "sqlite")
#: What to install for a dialect's driver.
DRIVERS = {"postgresql": "pip install 'flint-sdk[postgres]' (psycopg)"}


class StorageError(ValueError):
    """The study storage cannot be opened or used; the message is one line."""


class SharedJournal(optuna.storages.JournalStorage):
    """A study on PostgreSQL: Optuna's journal storage over ``journal``, whose running
    trials beat every ``heartbeat_s`` seconds."""

    def __init__(self, journal: pg_journal.PgJournal, heartbeat_s: int) -> None:
        self.journal = journal
        self.heartbeat_s = heartbeat_s
        super().__init__(journal)


def _first_line(exc: BaseException) -> str:
    found = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(found).splitlines() if line.strip()]
    return lines[0] if lines else type(found).__name__


def _dialect(url: str) -> str:
    """The database kind of a study storage URL (one flint shares studies on)."""
    import sqlalchemy.exc

    label = redact(url)
    try:
        dialect = sqlalchemy.engine.make_url(url).get_backend_name()
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(
            f"the study storage {label!r} is not a database URL (e.g. "
            f"postgresql://user:pass@host/db or sqlite:///studies.db)"
        ) from None
    if dialect not in DIALECTS:
        raise StorageError(
            f"the study storage {label}: flint shares studies on PostgreSQL (postgresql://...) or "
            f"SQLite (sqlite:///FILE), not {dialect}"
        )
    return dialect


def open_shared(url: str, study_name: str, heartbeat_s: int) -> Any:
    """The storage of study ``study_name`` at ``url``: its journal on PostgreSQL (or
    Optuna's RDB storage for a study made there by it), Optuna's RDB storage on SQLite."""
    if _dialect(url) != "postgresql":
        return open_rdb(url, heartbeat_s)
    import sqlalchemy

    conninfo = sqlalchemy.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    try:
        import psycopg
    except ImportError:
        raise StorageError(f"the study storage {redact(url)} needs the postgresql driver: "
                           f"{DRIVERS['postgresql']}") from None
    connection = None
    try:
        connection = pg_journal.connect(conninfo)
        pg_journal.create_schema(connection)
        if pg_journal.logs(connection, study_name) == 0 and _in_rdb(connection, study_name):
            connection.close()
            return open_rdb(url, heartbeat_s)
        return SharedJournal(pg_journal.PgJournal(connection, conninfo, study_name),
                             heartbeat_s)
    except psycopg.Error as exc:
        if connection is not None:
            connection.close()
        raise StorageError(f"cannot open the study storage {redact(url)}: "
                           f"{_first_line(exc)}") from None


def _in_rdb(connection: Any, study_name: str) -> bool:
    """Whether Optuna's RDB tables in this database hold study ``study_name``."""
    if not connection.execute("SELECT to_regclass('studies') IS NOT NULL").fetchone()[0]:
        return False
    found = connection.execute("SELECT 1 FROM studies WHERE study_name = %s", (study_name,))
    return found.fetchone() is not None


def delete_shared(url: str, study_name: str) -> None:
    """Remove study ``study_name`` from the storage at ``url``."""
    store = open_shared(url, study_name, 1)
    if isinstance(store, SharedJournal):
        pg_journal.delete(store.journal.connection, study_name)
        store.journal.connection.close()
    else:
        optuna.delete_study(study_name=study_name, storage=store)


def open_rdb(url: str, heartbeat_s: int) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at ``url``, with a heartbeat every ``heartbeat_s`` seconds.

    Processes that start together on a new database race to create its tables: the
    loser's attempt fails once the winner's are there, and a retry finds them made.
    SQLite files are written by one process at a time: wait for the lock, not fail.
    """
    import sqlalchemy.exc

    label = redact(url)
    dialect = _dialect(url)
    options = {"connect_args": {"timeout": 60}} if dialect == "sqlite" else {}
    attempt = 0
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=options, heartbeat_interval=heartbeat_s,
                    grace_period=GRACE_BEATS * heartbeat_s,
                )
        except ImportError:  # Optuna's word for a missing driver
            hint = DRIVERS.get(dialect, "install its Python driver")
            raise StorageError(f"the study storage {label} needs the {dialect} driver: "
                               f"{hint}") from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            attempt += 1  # another process may be creating the tables: look again
            if attempt == RDB_ATTEMPTS:
                raise StorageError(f"cannot open the study storage {label}: "
                                   f"{_first_line(exc)}") from None
            time.sleep(0.1 * attempt)
        except ValueError as exc:  # Optuna refuses the URL or the schema version
            raise StorageError(f"cannot use the study storage {label}: {exc}") from None


@contextlib.contextmanager
def private_files() -> Iterator[tuple[str, str, str]]:
    """Paths of a private study's journal, the journal's write lock and the claim lock.

    On Linux they are files without a name (in RAM where ``/dev/shm`` is writable),
    reached through ``/proc/self/fd``: forked workers inherit them, and they are gone
    once the last process holding them ends, however it ends. Elsewhere they live in
    a temporary folder removed when the study is done.
    """
    scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd"):
        with contextlib.ExitStack() as stack:
            files = [stack.enter_context(tempfile.TemporaryFile(dir=scratch)) for _ in range(3)]
            journal, write_lock, claims = (f"/proc/self/fd/{f.fileno()}" for f in files)
            yield journal, write_lock, claims
        return
    with tempfile.TemporaryDirectory(prefix="flint-study-", dir=scratch) as tmp:
        yield (os.path.join(tmp, "study.journal"), os.path.join(tmp, "journal.lock"),
               os.path.join(tmp, "claims.lock"))


class FileLock:
    """An exclusive ``flock`` on a file, waited for in the kernel (also a context manager).

    Optuna's default journal lock polls with a back-off of up to a second, so under
    contention a worker sleeps long after the lock is free; this one wakes at once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        assert self.fd is not None
        os.close(self.fd)  # closing the file releases the lock
        self.fd = None

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def open_journal(path: str, write_lock: str) -> optuna.storages.JournalStorage:
    """The private study's journal storage."""
    from optuna.storages.journal import JournalFileBackend

    lock = FileLock(write_lock) if os.name == "posix" else None
    return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=lock))


@contextlib.contextmanager
def _advisory_lock(storage: optuna.storages.RDBStorage, key: int) -> Iterator[Any]:
    """Hold PostgreSQL's transaction-level advisory lock ``key``; yields the connection
    holding it, whose writes commit as the lock goes (and vanish with it on an error)."""
    import sqlalchemy

    with storage.engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        yield connection
        connection.commit()  # ends the transaction, and the lock with it


@contextlib.contextmanager
def _held(lock: Any) -> Iterator[None]:
    with lock:
        yield None


def claim_lock(storage: Any, study_name: str,
               claims: str | None) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """What makes the lock under which a process counts the study's trials and starts
    one (``with claim_lock(...)() as connection:``); ``connection`` is the database
    connection holding the lock (PostgreSQL), else None.

    ``claims`` is the lock file of a private journal (None for one in memory).
    """
    if isinstance(storage, SharedJournal):
        return storage.journal.claim
    if isinstance(storage, optuna.storages.RDBStorage):
        if storage.engine.dialect.name == "postgresql":
            return functools.partial(_advisory_lock, storage, pg_journal.claim_key(study_name))
        database = storage.engine.url.database
        claims = f"{database}-flint.lock" if database and database != ":memory:" else None
    lock = FileLock(claims) if claims is not None else contextlib.nullcontext()
    return functools.partial(_held, lock)


def counts(storage: Any, study_id: int, connection: Any = None) -> Counter[str]:
    """Trials of the study by state name (``COMPLETE``, ``RUNNING``, ...), read on
    ``connection`` when given (an RDB storage's connection)."""
    if isinstance(storage, optuna.storages.RDBStorage):
        import sqlalchemy

        query = sqlalchemy.text(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state"
        )
        with contextlib.ExitStack() as stack:
            if connection is None:
                connection = stack.enter_context(storage.engine.connect())
            rows = connection.execute(query, {"study": study_id}).all()
        return Counter({str(getattr(state, "name", state)): int(n) for state, n in rows})
    trials = storage.get_all_trials(study_id, deepcopy=False)
    return Counter(t.state.name for t in trials)


def orphans(storage: Any, study_id: int) -> list[int]:
    """RUNNING trials nobody runs any more: their heartbeat stopped, or never started
    (the claimer died between creating the trial and its first heartbeat, which it
    records before releasing the claim lock). Only shared storages keep heartbeats."""
    if isinstance(storage, SharedJournal):
        running = storage.get_all_trials(study_id, deepcopy=False,
                                         states=(optuna.trial.TrialState.RUNNING,))
        alive = storage.journal.alive(GRACE_BEATS * storage.heartbeat_s)
        return sorted(t._trial_id for t in running if t._trial_id not in alive)
    if not isinstance(storage, optuna.storages.RDBStorage):
        return []
    import sqlalchemy

    silent = sqlalchemy.text(
        "SELECT t.trial_id FROM trials t WHERE t.study_id = :study AND t.state = 'RUNNING' "
        "AND NOT EXISTS (SELECT 1 FROM trial_heartbeats h WHERE h.trial_id = t.trial_id)"
    )
    with storage.engine.connect() as connection:
        found = [int(row[0]) for row in connection.execute(silent, {"study": study_id})]
    return sorted(set(found) | set(storage._get_stale_trial_ids(study_id)))


def requeue(storage: Any, trial_ids: list[int]) -> None:
    """Put orphaned trials back in the queue: the next ``ask()`` runs them again."""
    for trial_id in trial_ids:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            storage.set_trial_state_values(trial_id, optuna.trial.TrialState.WAITING)


class Heartbeat:
    """A daemon thread recording the heartbeat of the trial its process runs, in a
    shared storage (:class:`SharedJournal` or RDB)."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.trial_id: int | None = None
        if isinstance(storage, SharedJournal):
            self.interval = float(storage.heartbeat_s)
        else:
            self.interval = float(storage.get_heartbeat_interval() or 1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flint-heartbeat", daemon=True)
        self._thread.start()

    def beat(self, trial_id: int | None, connection: Any = None) -> None:
        """Follow ``trial_id`` (None: no trial), recording its first heartbeat now: on
        ``connection`` (an RDB claim lock's) when given, so it commits with the claim."""
        self.trial_id = trial_id
        if trial_id is None:
            return
        if isinstance(self.storage, SharedJournal):
            self.storage.journal.beat(trial_id)
        elif connection is None:
            self.storage.record_heartbeat(trial_id)
        else:
            import sqlalchemy

            connection.execute(sqlalchemy.text(  # a trial run again has its old heartbeat
                "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (:trial, now()) "
                "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = now()"
            ), {"trial": trial_id})

    def _run(self) -> None:
        """Beat until stopped; a journal's beats go through a connection of this
        thread's own (the process's is busy with trials)."""
        import sqlalchemy.exc

        own = None
        if isinstance(self.storage, SharedJournal):
            import psycopg

            own = pg_journal.Beats(self.storage.journal.conninfo, self.storage.journal.study)
            record, lost = own.beat, psycopg.Error
        else:
            record, lost = self.storage.record_heartbeat, sqlalchemy.exc.SQLAlchemyError
        try:
            while not self._stop.wait(self.interval):
                trial_id = self.trial_id
                if trial_id is not None:
                    with contextlib.suppress(lost):  # a lost beat: the next one may pass
                        record(trial_id)
        finally:
            if own is not None:
                own.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
