"""The Drift adapter's send journal: every signed transaction, written before it is sent.

One SQLite file per account holds, per flint client order id, the user order id
(1-255) it was given, the signed transaction's bytes and signature and the last block
height its blockhash is valid at. So a resend is the same transaction (same
signature: the chain runs it at most once), an ambiguous send is resolved by asking
for that signature, and after a restart no user order id of an order that may still
be live is given out again.
"""

import sqlite3
import threading
from pathlib import Path
from typing import Any

import attrs

USER_ORDER_IDS = range(1, 256)


@attrs.frozen
class Sent:
    """One journaled transaction of an order (``kind``: place or cancel)."""

    client_id: str
    kind: str
    user_order_id: int
    signature: str
    tx: bytes
    last_valid_height: int


class SendLog:
    """The send journal in ``path`` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sent (client_id TEXT, kind TEXT, user_order_id INT, "
            "signature TEXT PRIMARY KEY, tx BLOB, last_valid_height INT, seq INTEGER)")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def record(self, sent: Sent) -> None:
        """Write ``sent`` durably (before its first byte goes out)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO sent VALUES (?, ?, ?, ?, ?, ?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM sent))",
                (sent.client_id, sent.kind, sent.user_order_id, sent.signature, sent.tx,
                 sent.last_valid_height))

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[Sent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT client_id, kind, user_order_id, signature, tx, last_valid_height "
                f"FROM sent WHERE {where} ORDER BY seq", args).fetchall()
        return [Sent(r[0], r[1], int(r[2]), r[3], bytes(r[4]), int(r[5])) for r in rows]

    def find(self, client_id: str, kind: str = "place") -> Sent | None:
        """The latest transaction of ``kind`` for ``client_id``, or None."""
        rows = self._rows("client_id = ? AND kind = ?", (client_id, kind))
        return rows[-1] if rows else None

    def by_signature(self, signature: str) -> Sent | None:
        rows = self._rows("signature = ?", (signature,))
        return rows[0] if rows else None

    def places(self) -> list[Sent]:
        """Every place transaction, oldest first."""
        return self._rows("kind = ?", ("place",))

    def allocate(self, busy: set[int]) -> int:
        """A user order id in 1-255 not in ``busy``: the one used longest ago."""
        last_use = {s.user_order_id: n for n, s in enumerate(self.places())}
        free = [u for u in USER_ORDER_IDS if u not in busy]
        if not free:
            raise LookupError("all 255 user order ids are taken by live orders")
        return min(free, key=lambda u: last_use.get(u, -1))
