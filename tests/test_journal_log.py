"""The live journal's write-ahead file (flint.store.journal_log): an acknowledged append
survives kill -9 before its copy into DuckDB, is copied once, a torn tail is dropped,
a fill's trade id is refused across the copy, and any interleaving of appends, copies,
reopens and crashes reads back as the acknowledged sequence."""

import gc
import logging
import shutil
import subprocess
import sys
import tempfile
import textwrap
import weakref
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.live.adapter import VenueFill
from flint.live.journal import Event, Kind, OrderJournal
from flint.models import Side
from flint.store import FlintStore, StoreClosedError

ACCOUNT = "acct"


def fill(trade: str, cid: str = "c1") -> VenueFill:
    return VenueFill(trade, cid, "SOL-PERP", Side.LONG, 100.0, 1.0, 0.01, 1.0)


def state(cid: str, n: int = 0) -> Event:
    return Event(Kind.STATE, cid, "confirmed", {"n": n})


def table_rows(db: Path, table: str) -> list[tuple]:
    """What DuckDB itself holds (no pending batch merged in)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()


def summary(store: FlintStore) -> tuple[list, list]:
    events = [(e["kind"], e["client_id"], e["state"], e["detail"])
              for e in OrderJournal(store, ACCOUNT).events()]
    fills = [f["trade_id"] for f in store.live_fills(ACCOUNT)]
    return events, fills


_KILLED_AFTER_APPEND = textwrap.dedent("""
    import os, signal, sys
    from flint.live.adapter import VenueFill
    from flint.live.journal import Event, Kind, OrderJournal
    from flint.models import Side
    from flint.store import FlintStore, StoreClosedError

    store = FlintStore(sys.argv[1], durable_journal=sys.argv[2] == "durable")
    journal = OrderJournal(store, "acct")
    journal.append([Event(Kind.INTENT, "c1", "pending", {"size": 1.0})])
    assert journal.append(
        [Event(Kind.STATE, "c1", "filled", {})],
        VenueFill("T1", "c1", "SOL-PERP", Side.LONG, 100.0, 1.0, 0.01, 1.0))
    os.kill(os.getpid(), signal.SIGKILL)  # acknowledged; the mirror waits 50 ms first
""")


@pytest.mark.parametrize("durable", ["durable", "written"])
def test_kill_9_right_after_append_returns_loses_nothing_and_copies_once(tmp_path, durable):
    db = tmp_path / "live.duckdb"
    done = subprocess.run([sys.executable, "-c", _KILLED_AFTER_APPEND, str(db), durable],
                          check=False, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr
    assert Path(str(db) + ".journal").stat().st_size > 0
    assert table_rows(db, "live_events") == []  # killed before the copy into DuckDB
    with FlintStore(db, read_only=True) as reader:  # a reader merges the file
        assert summary(reader) == ([("intent", "c1", "pending", {"size": 1.0}),
                                    ("state", "c1", "filled", {})], ["T1"])
    for _ in range(2):  # replayed on open, idempotently
        with FlintStore(db) as store:
            assert summary(store)[1] == ["T1"]
            assert len(summary(store)[0]) == 2
            assert not OrderJournal(store, ACCOUNT).append([], fill("T1"))
        assert len(table_rows(db, "live_events")) == 2
        assert len(table_rows(db, "live_fills")) == 1
    assert not Path(str(db) + ".journal").exists()


def test_a_batch_found_again_after_its_copy_is_not_written_twice(tmp_path):
    db = tmp_path / "live.duckdb"
    wal = Path(str(db) + ".journal")
    with FlintStore(db) as store:
        OrderJournal(store, ACCOUNT).append([state("c1"), state("c2")], fill("T1"))
        left = wal.read_bytes()  # as if killed after the copy, before the file was emptied
        store.flush_live_journal()
    wal.write_bytes(left)
    with FlintStore(db) as store:
        assert summary(store) == ([("state", "c1", "confirmed", {"n": 0}),
                                   ("state", "c2", "confirmed", {"n": 0})], ["T1"])
        OrderJournal(store, ACCOUNT).append([state("c3")])
    assert [row[4] for row in table_rows(db, "live_events")] == ["c1", "c2", "c3"]


def test_a_torn_tail_is_dropped_with_a_warning(tmp_path, caplog):
    db = tmp_path / "live.duckdb"
    wal = Path(str(db) + ".journal")
    with FlintStore(db) as store:
        OrderJournal(store, ACCOUNT).append([state("c1")])
        whole = wal.read_bytes()
        store.flush_live_journal()
    wal.write_bytes(whole + whole[:20])  # a second batch cut short mid-write
    with (caplog.at_level(logging.WARNING, logger="flint.store.journal_log"),
          FlintStore(db) as store):
        assert summary(store)[0] == [("state", "c1", "confirmed", {"n": 0})]
        OrderJournal(store, ACCOUNT).append([state("c2")])
        assert [e[1] for e in summary(store)[0]] == ["c1", "c2"]
    assert "dropped 20 bytes of a torn or damaged journal write" in caplog.text


def test_a_damaged_checksum_drops_the_line(tmp_path, caplog):
    db = tmp_path / "live.duckdb"
    wal = Path(str(db) + ".journal")
    with FlintStore(db) as store:
        OrderJournal(store, ACCOUNT).append([state("c1")])
        line = wal.read_bytes()
        store.flush_live_journal()
    wal.write_bytes(line + line.replace(b'"c1"', b'"c9"'))
    with (caplog.at_level(logging.WARNING, logger="flint.store.journal_log"),
          FlintStore(db) as store):
        assert [e[1] for e in summary(store)[0]] == ["c1"]
    assert "torn or damaged" in caplog.text


def test_a_fill_is_refused_again_across_the_copy_and_a_reopen(tmp_path):
    db = tmp_path / "live.duckdb"
    with FlintStore(db) as store:
        journal = OrderJournal(store, ACCOUNT)
        assert journal.append([state("c1")], fill("T1"))
        assert not journal.append([state("c1", 1)], fill("T1"))  # still pending
        store.flush_live_journal()
        assert not journal.append([state("c1", 2)], fill("T1"))  # copied
        assert journal.append([], fill("T2"))
    with FlintStore(db) as store:
        journal = OrderJournal(store, ACCOUNT)
        assert not journal.append([], fill("T2"))
        assert not journal.append([], fill("T1"))
        assert OrderJournal(store, "other").append([], fill("T1"))  # per account
        assert summary(store) == ([("state", "c1", "confirmed", {"n": 0})], ["T1", "T2"])


def test_accounts_list_pending_ones_in_order_of_their_first_event(tmp_path):
    with FlintStore(tmp_path / "live.duckdb") as store:
        OrderJournal(store, "paper:b").append([state("c1")])
        store.flush_live_journal()
        OrderJournal(store, "paper:a").append([state("c2")])
        OrderJournal(store, "live:x").append([state("c3")])
        assert store.live_accounts("paper:") == ["paper:b", "paper:a"]
        assert store.live_accounts() == ["paper:b", "paper:a", "live:x"]


def crash_copy(store: FlintStore, into: Path) -> Path:
    """The store's files as a kill -9 at this moment would leave them (no operation is
    half-done: the store's and the journal's locks are held while copying)."""
    with store._lock, store._journal._lock:  # type: ignore[union-attr]
        for suffix in ("", ".wal", ".journal"):
            source = Path(store.path + suffix)
            if source.exists():
                shutil.copyfile(source, str(into) + suffix)
    return into


step = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 3), st.none() | st.sampled_from("ABCD")),
    st.tuples(st.just("flush"), st.none(), st.none()),
    st.tuples(st.just("reopen"), st.none(), st.none()),
    st.tuples(st.just("crash"), st.none(), st.none()),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(step, max_size=12))
def test_any_interleaving_reads_back_the_acknowledged_sequence(steps):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j0.duckdb"
        store = FlintStore(db)
        events: list[tuple] = []
        fills: list[str] = []
        try:
            for number, (op, count, trade) in enumerate(steps):
                if op == "append":
                    batch = [state(f"c{number}", i) for i in range(count or 0)]
                    booked = OrderJournal(store, ACCOUNT).append(
                        batch, fill(f"T{trade}") if trade else None)
                    assert booked == (trade is None or f"T{trade}" not in fills)
                    if booked:
                        events += [(e.kind.value, e.client_id, e.state, dict(e.detail))
                                   for e in batch]
                        fills += [f"T{trade}"] if trade else []
                elif op == "flush":
                    store.flush_live_journal()
                elif op == "reopen":
                    store.close()
                    store = FlintStore(db)
                else:  # kill -9 now: carry on with what the files hold
                    copy = crash_copy(store, Path(tmp) / f"j{number + 1}.duckdb")
                    store.close()
                    db, store = copy, FlintStore(copy)
                assert summary(store) == (events, fills)
        finally:
            store.close()
        with FlintStore(db) as reopened:
            assert summary(reopened) == (events, fills)


def test_a_closed_store_refuses_an_append_and_leaves_no_file(tmp_path):
    db = tmp_path / "live.duckdb"
    store = FlintStore(db)
    journal = OrderJournal(store, ACCOUNT)
    journal.append([state("c1")])
    store.close()
    assert not Path(str(db) + ".journal").exists()  # copied, then removed
    with pytest.raises(StoreClosedError):
        journal.append([state("c2")])
    with FlintStore(db, read_only=True) as reader:
        assert [e[1] for e in summary(reader)[0]] == ["c1"]


def test_a_store_dropped_unclosed_is_not_kept_alive_and_its_batches_survive(tmp_path):
    db = tmp_path / "live.duckdb"
    store = FlintStore(db)
    OrderJournal(store, ACCOUNT).append([state("c1")])
    gone = weakref.ref(store)
    del store
    gc.collect()
    assert gone() is None  # the mirror thread holds no reference to it
    with FlintStore(db) as reopened:  # the writer lock went with it
        assert [e[1] for e in summary(reopened)[0]] == ["c1"]
