"""A study shared on PostgreSQL as an Optuna journal: one row per operation.

Optuna's RDB storage maps a trial onto many tables through SQLAlchemy's ORM: about
30 statements per trial, each costing more Python than the statement itself. A
journal storage keeps the study in memory in every process and only writes what
changes; :class:`PgJournal` is its backend on PostgreSQL (psycopg, no ORM):

- ``flint_study_logs (study, seq, log)``: the operations of each study, numbered
  0, 1, 2, ... without gaps. An append is one statement: it bumps the study's row
  in ``flint_study_heads`` (a row lock, held until the append commits) and inserts
  its logs under the numbers it took. Appends therefore commit in the order of
  their numbers, and a reader that sees row ``n`` sees every row before it: reading
  the rows from the last one read on never skips a row committed late. Optuna reads
  after every write; when the next logs to read are the ones this process just
  appended (nobody appended between), that read costs no statement.
- ``flint_trial_beats (study, trial_id, beat)``: the heartbeat of each running
  trial, written by the server's clock (:meth:`PgJournal.alive`).
- The study's *claim lock* is a session-level advisory lock of the journal's
  connection (:meth:`PgJournal.claim`): it dies with the connection, so with the
  process holding it.

Each study is a journal of its own (Optuna's study and trial ids count within it),
so a process replays only the study it joins.
"""

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from optuna.storages.journal import BaseJournalBackend

#: Serialises the tables' creation by processes starting together on a new database.
SCHEMA_LOCK = int.from_bytes(hashlib.sha256(b"flint-study-schema").digest()[:8], "big",
                             signed=True)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS flint_study_heads "
    "(study text PRIMARY KEY, logs bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS flint_study_logs (study text NOT NULL, seq bigint NOT NULL, "
    "log text NOT NULL, PRIMARY KEY (study, seq))",
    "CREATE TABLE IF NOT EXISTS flint_trial_beats (study text NOT NULL, trial_id bigint "
    "NOT NULL, beat timestamptz NOT NULL, PRIMARY KEY (study, trial_id))",
)
APPEND = (
    "WITH head AS (UPDATE flint_study_heads SET logs = logs + %(n)s WHERE study = %(study)s "
    "RETURNING logs - %(n)s AS first) "
    "INSERT INTO flint_study_logs (study, seq, log) "
    "SELECT %(study)s, head.first + x.i - 1, x.log "
    "FROM head, unnest(%(logs)s::text[]) WITH ORDINALITY AS x(log, i) RETURNING seq"
)
READ = "SELECT log FROM flint_study_logs WHERE study = %s AND seq >= %s ORDER BY seq"
BEAT = ("INSERT INTO flint_trial_beats (study, trial_id, beat) VALUES (%s, %s, now()) "
        "ON CONFLICT (study, trial_id) DO UPDATE SET beat = now()")
ALIVE = ("SELECT trial_id FROM flint_trial_beats "
         "WHERE study = %s AND beat > now() - make_interval(secs => %s)")


def claim_key(study: str) -> int:
    """The advisory lock key of a study's claim lock."""
    digest = hashlib.sha256(f"flint-study:{study}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def connect(conninfo: str) -> Any:
    """An autocommit psycopg connection (each statement is its own transaction)."""
    import psycopg

    return psycopg.connect(conninfo, autocommit=True)


def create_schema(connection: Any) -> None:
    """The journal's tables, created once whoever comes first."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in SCHEMA:
            connection.execute(statement)


class PgJournal(BaseJournalBackend):
    """The journal of study ``study`` in the database of ``connection`` (an
    Optuna journal backend), with the study's claim lock and heartbeats."""

    def __init__(self, connection: Any, conninfo: str, study: str) -> None:
        self.connection = connection
        self.conninfo = conninfo
        self.study = study
        self._appended: tuple[int, list[dict[str, Any]]] | None = None  # (first, logs)
        connection.execute("INSERT INTO flint_study_heads (study) VALUES (%s) "
                           "ON CONFLICT DO NOTHING", (study,))

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        """The logs from number ``log_number_from`` on; only those this process just
        appended when they are next (the ones after them come with the next read)."""
        appended, self._appended = self._appended, None
        if appended is not None and appended[0] == log_number_from:
            found = appended[1]
        else:
            rows = self.connection.execute(READ, (self.study, log_number_from)).fetchall()
            found = [json.loads(row[0]) for row in rows]
        return found

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        texts = [json.dumps(log) for log in logs]
        numbers = self.connection.execute(
            APPEND, {"study": self.study, "n": len(logs), "logs": texts}).fetchall()
        if len(numbers) != len(logs):
            raise RuntimeError(f"the journal of study '{self.study}' was deleted meanwhile")
        # kept as other processes will read them (JSON makes tuples lists, enums ints)
        self._appended = (min(int(row[0]) for row in numbers), [json.loads(t) for t in texts])

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """Hold the study's claim lock."""
        key = claim_key(self.study)
        self.connection.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            self.connection.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def beat(self, trial_id: int) -> None:
        """Record that ``trial_id`` runs, now."""
        self.connection.execute(BEAT, (self.study, trial_id))

    def alive(self, grace_s: float) -> set[int]:
        """Trials whose last heartbeat is at most ``grace_s`` seconds old."""
        rows = self.connection.execute(ALIVE, (self.study, grace_s)).fetchall()
        return {int(row[0]) for row in rows}


class Beats:
    """Heartbeats of study ``study``'s trials on a connection of their own, made when
    first needed and again after it broke."""

    def __init__(self, conninfo: str, study: str) -> None:
        self.conninfo = conninfo
        self.study = study
        self.connection: Any = None

    def beat(self, trial_id: int) -> None:
        """Record that ``trial_id`` runs, now."""
        if self.connection is None or self.connection.closed:
            self.connection = connect(self.conninfo)
        self.connection.execute(BEAT, (self.study, trial_id))

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def delete(connection: Any, study: str) -> None:
    """Remove a study's journal and heartbeats."""
    with connection.transaction():
        for table in ("flint_study_logs", "flint_trial_beats", "flint_study_heads"):
            connection.execute(f"DELETE FROM {table} WHERE study = %s", (study,))


def logs(connection: Any, study: str) -> int:
    """How many logs study ``study``'s journal holds (0: none, or no journal)."""
    row = connection.execute("SELECT logs FROM flint_study_heads WHERE study = %s",
                             (study,)).fetchone()
    return int(row[0]) if row else 0
