"""The PostgreSQL journal of a shared study: appends in one total order, read incrementally.

Against the real server (``postgres_url`` in conftest.py says when these skip).
"""

import threading
import time
import uuid

import optuna
import pytest

from flint.optimization import pg_journal
from flint.optimization.storage import (
    Heartbeat,
    SharedJournal,
    StorageError,
    delete_shared,
    open_shared,
    orphans,
)

WRITERS = 4
APPENDS = 60


@pytest.fixture
def study(postgres_url):
    name = f"journal-{uuid.uuid4().hex}"
    yield name
    with pg_journal.connect(postgres_url) as connection:
        pg_journal.delete(connection, name)


def _journal(url, name):
    """The bare journal (its logs here are not Optuna's)."""
    connection = pg_journal.connect(url)
    pg_journal.create_schema(connection)
    return pg_journal.PgJournal(connection, url, name)


def test_a_reader_following_concurrent_appends_never_skips_a_row(postgres_url, study):
    """Writers on their own connections append batches of 1-3 logs, each reading after
    every append as Optuna does, while a reader only reads, from where it stopped: what
    each gathered is the journal, in its order, each writer's logs in the order it wrote
    them."""
    writers = [_journal(postgres_url, study) for _ in range(WRITERS)]
    reader = _journal(postgres_url, study)
    done = threading.Event()
    seen: list[dict] = []
    views: list[list[dict]] = [[] for _ in range(WRITERS)]

    def write(who: int) -> None:
        for k in range(APPENDS):
            writers[who].append_logs([{"who": who, "k": k, "part": p} for p in range(k % 3 + 1)])
            views[who].extend(writers[who].read_logs(len(views[who])))

    def read() -> None:
        while not done.is_set():
            seen.extend(reader.read_logs(len(seen)))
        seen.extend(reader.read_logs(len(seen)))

    threads = [threading.Thread(target=write, args=(who,)) for who in range(WRITERS)]
    follower = threading.Thread(target=read)
    follower.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    follower.join()

    everything = _journal(postgres_url, study).read_logs(0)
    assert seen == everything
    for who, view in enumerate(views):
        assert view + writers[who].read_logs(len(view)) == everything
    assert len(everything) == WRITERS * sum(k % 3 + 1 for k in range(APPENDS))
    assert pg_journal.logs(reader.connection, study) == len(everything)
    for who in range(WRITERS):
        mine = [(log["k"], log["part"]) for log in everything if log["who"] == who]
        assert mine == [(k, p) for k in range(APPENDS) for p in range(k % 3 + 1)]


def test_studies_are_journals_of_their_own(postgres_url, study):
    one = optuna.create_study(storage=open_shared(postgres_url, study, 1), study_name=study)
    one.enqueue_trial({"x": 1.0})
    other = f"{study}-other"
    try:
        optuna.create_study(storage=open_shared(postgres_url, other, 1), study_name=other)
        again = open_shared(postgres_url, study, 1)
        assert isinstance(again, SharedJournal)
        assert [s.study_name for s in again.get_all_studies()] == [study]
        assert len(optuna.load_study(study_name=study, storage=again).trials) == 1
    finally:
        delete_shared(postgres_url, other)
    with pg_journal.connect(postgres_url) as connection:  # gone, and nothing left behind
        assert pg_journal.logs(connection, other) == 0


def test_a_study_of_optunas_rdb_storage_opens_there(postgres_url, study):
    """A study made by Optuna's RDB storage (flint before the journal) stays where it is."""
    optuna.create_study(storage=postgres_url, study_name=study)
    store = open_shared(postgres_url, study, 1)
    assert isinstance(store, optuna.storages.RDBStorage)
    assert [s.study_name for s in store.get_all_studies() if s.study_name == study] == [study]


def test_a_bad_connection_string_is_one_line(postgres_url):
    with pytest.raises(StorageError, match=r"^cannot open the study storage .*:5432/nope: .*"
                                           r"database \"nope\" does not exist"):
        open_shared(postgres_url.rsplit("/", 1)[0] + "/nope", "x", 1)


def _wait(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_running_trial_beats_until_its_heartbeat_stops_then_is_an_orphan(postgres_url, study):
    store = open_shared(postgres_url, study, 1)
    optuna.create_study(storage=store, study_name=study)
    study_id = store.get_study_id_from_name(study)
    trial_id = store.create_new_trial(study_id)
    assert orphans(store, study_id) == [trial_id]  # no heartbeat yet: nobody runs it

    def last_beat():
        return store.journal.connection.execute(
            "SELECT beat FROM flint_trial_beats WHERE study = %s AND trial_id = %s",
            (study, trial_id)).fetchone()[0]

    heartbeat = Heartbeat(store)
    try:
        heartbeat.beat(trial_id)
        first = last_beat()
        assert orphans(store, study_id) == []
        _wait(lambda: last_beat() > first, 30, "the heartbeat thread never beat")
    finally:
        heartbeat.stop()
    _wait(lambda: orphans(store, study_id) == [trial_id], 60, "a silent trial is no orphan")
