"""The append-only order journal of one venue account, in the store.

Every order intent (written *before* the order is sent), state change, cancel
request, fill, refused overfill, adopted position, risk denial and trading-state
change is one row; nothing is ever updated or deleted, so the journal replays into
the exact state the live context had (see
:class:`~flint.execution.order_tracker.OrderTracker`). Fills are keyed by the venue's
trade id: the store refuses a trade id it already holds, so a fill is booked once.

Writes are fast and crash-safe without waiting for DuckDB: :meth:`OrderJournal.append`
returns once its batch is one checksummed line, flushed to disk (``fdatasync``; only
written, kill -9 safe but not power-loss safe, for a store opened with
``durable_journal=False``, as ``flint paper`` does), in the store's write-ahead file
``<db>.journal`` (about 0.1-0.2 ms, against 2 ms for a DuckDB commit);
a background thread copies the batches into the ``live_events`` / ``live_fills``
tables, one transaction per round. ``kill -9`` at any point loses nothing that
``append`` acknowledged: the next writer replays the file into the tables before
anything reads them, idempotently (rows keyed by sequence number, fills by trade id),
and drops a torn last line with a warning. Reads merge what is not copied yet, so they
always see every acknowledged row (see :mod:`flint.store.journal_log`).
"""

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any

import attrs

from flint.live.adapter import VenueFill
from flint.store import FlintStore

_encode = json.JSONEncoder(sort_keys=True).encode  # json.dumps(..., sort_keys=True)
#: One append's rows (sequence numbers as offsets) and fill row, as the store takes them.
_Append = tuple[list[tuple[Any, ...]], tuple[Any, ...] | None]


class Kind(StrEnum):
    """What a journal event records."""

    INTENT = "intent"  # an order: flint's (before sending) or an adopted external one
    STATE = "state"  # an order's state, fill progress or venue id changed
    CANCEL = "cancel"  # a cancel request (before sending)
    AMEND = "amend"  # an amend request (before sending)
    RISK = "risk"  # an order refused before sending, with its reason code
    OVERFILL = "overfill"  # a fill refused: it would fill an order beyond its size
    POSITION = "position"  # the venue's position adopted by the user's choice
    TRADING = "trading"  # trading state change (ACTIVE / REDUCING / HALTED)
    RISK_MEMORY = "risk_memory"  # what the risk guards remember, saved for a restart
    LEG_GROUP = "leg_group"  # orders on several venues sent together, and their outcome
    SESSION = "session"  # a paper session's configuration and status changes
    INPUT = "input"  # what a paper session consumed: warm-up bars, a bar and its funding
    VENUE = "venue"  # what a change changed at the paper venue (flint.paper.venue)


@attrs.frozen
class Event:
    """One journal row to write: ``detail`` is JSON-able."""

    kind: Kind
    client_id: str | None = None
    state: str | None = None
    detail: Mapping[str, Any] = attrs.field(factory=dict)


class OrderJournal:
    """Writes and reads the journal rows of ``account`` in ``store``."""

    def __init__(
        self, store: FlintStore, account: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.account = account
        self.clock = clock
        self._lock = threading.Lock()
        #: The time stamped on the latest rows written.
        self.last_ts = 0.0
        self._held: list[_Append] | None = None  # appends batched() holds
        self._held_trades: set[str] = set()

    def append(self, events: Sequence[Event], fill: VenueFill | None = None) -> bool:
        """Write ``events`` (and ``fill`` first) in one transaction; False, and nothing
        written, when ``fill`` is journaled already."""
        with self._lock:  # the store numbers the rows: seq below are offsets
            now = self.last_ts = self.clock()
            row = None
            if fill is not None:
                row = (
                    self.account, fill.trade_id, 0, fill.client_id, fill.market,
                    fill.side.value, float(fill.price), float(fill.size), float(fill.fee),
                    float(fill.ts), bool(fill.is_maker),
                )
            rows = []
            for number, event in enumerate(events):
                rows.append((
                    number, self.account, now, event.kind.value, event.client_id,
                    event.state, _encode(dict(event.detail)),
                ))
            held = self._held
            if held is None:
                return self.store.append_live_events(rows, row)
            if fill is not None:
                if fill.trade_id in self._held_trades or self.store.has_live_fill(
                        self.account, fill.trade_id):
                    return False
                self._held_trades.add(fill.trade_id)
            held.append((rows, row))
            return True

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Appends made inside are acknowledged at once and written together when it
        ends (one write to the store's journal: a ``kill -9`` keeps all or none of
        them); reads inside do not see them yet. For a paper bar, whose venue is in
        this process: its changes are lost with it, so they need not be on disk before
        it goes on."""
        if self._held is not None:
            raise RuntimeError("journal appends are batched already")
        self._held = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held, None
                self._held_trades.clear()
                self.store.append_live_batches(_joined(held))

    def events(self) -> list[dict[str, Any]]:
        """Every event of the account, oldest first, with ``detail`` decoded."""
        out = self.store.live_events(self.account)
        for row in out:
            row["detail"] = json.loads(row["detail"])
        return out

    def fills(self) -> list[dict[str, Any]]:
        """Every journaled fill of the account, oldest first."""
        return self.store.live_fills(self.account)


def _joined(appends: Sequence[_Append]) -> list[_Append]:
    """Consecutive ``(events, fill)`` appends joined into as few batches as hold one
    fill each (their rows numbered on, so the store numbers them as it would apart)."""
    joined: list[_Append] = []
    rows: list[tuple[Any, ...]] = []
    fill: tuple[Any, ...] | None = None
    for events, booked in appends:
        if booked is not None and fill is not None:
            joined.append((rows, fill))
            rows, fill = [], None
        base = len(rows)
        if booked is not None:
            fill = (*booked[:2], base, *booked[3:])
        rows.extend((base + row[0], *row[1:]) for row in events)
    if rows or fill is not None:
        joined.append((rows, fill))
    return joined
