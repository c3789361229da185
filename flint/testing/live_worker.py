"""A live context in its own process, for the crash tests (``kill -9`` at chosen points).

    python -m flint.testing.live_worker CONFIG.json

``CONFIG.json``: ``db`` (store path), ``account``, ``adapter`` (``factory``:
``"module:callable"`` and JSON ``kwargs``; keys come from the environment),
``status`` (a file the worker appends JSON lines to), ``adopt_positions`` and
``script``, a list of steps run after :meth:`LiveExecutionContext.start`:

- ``{"op": "market"|"limit", "side", "size", "price"?, "market"}``: place an order;
- ``{"op": "pause_before_send"}``: the next order blocks after its intent is
  journaled and before a byte is sent (status ``paused``), until the process dies;
- ``{"op": "announce_send"}``: the next order reports ``sending`` first, then is sent;
- every venue command and reconciliation read is reported as ``call`` (``method``);
- ``{"op": "idle"}``: report ``idle`` and wait to be killed;
- ``{"op": "settle", "timeout_s"}``: sync until no order's outcome is unknown;
- ``{"op": "reconcile"}``: reconcile again and report the journal's size before and after.

The worker reports ``started`` (with its reconciliation) and ``done``, then stops cleanly.
"""

import importlib
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flint.execution.live_base import LiveExecutionContext
from flint.live.adapter import (
    OrderRequest,
    UserEvents,
    VenueAdapter,
    VenueBalance,
    VenueFill,
    VenueOrder,
    VenuePosition,
)
from flint.store import FlintStore
from flint_core.enums import Side


class _Status:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: str, **data: Any) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"event": event, **data}) + "\n")
            out.flush()


class StagedAdapter(VenueAdapter):
    """Passes every call to ``inner``, reporting each command and reconciliation read
    (status ``call`` with its ``method``); the next ``place`` may first block."""

    def __init__(self, inner: VenueAdapter, status: _Status) -> None:
        self.inner, self.status = inner, status
        self.venue, self.quote_asset = inner.venue, inner.quote_asset
        self.ambiguity_window_s = inner.ambiguity_window_s
        self.stage = ""

    def new_client_id(self, session: str, number: int) -> str:
        return self.inner.new_client_id(session, number)

    def connect(self) -> None:
        self.inner.connect()

    def close(self) -> None:
        self.inner.close()

    def place(self, request: OrderRequest) -> VenueOrder:
        self.status("call", method="place", client_id=request.client_id)
        stage, self.stage = self.stage, ""
        if stage == "pause":
            self.status("paused", client_id=request.client_id)
            threading.Event().wait()  # until SIGKILL
        if stage == "announce":
            self.status("sending", client_id=request.client_id)
        return self.inner.place(request)

    def check_order(self, request: OrderRequest) -> None:
        self.inner.check_order(request)

    def cancel(self, client_id: str) -> VenueOrder:
        self.status("call", method="cancel", client_id=client_id)
        return self.inner.cancel(client_id)

    def amend(self, client_id: str, size: float | None = None,
              price: float | None = None) -> VenueOrder:
        return self.inner.amend(client_id, size, price)

    def open_orders(self) -> Sequence[VenueOrder]:
        self.status("call", method="open_orders")
        return self.inner.open_orders()

    def order_status(self, client_id: str) -> VenueOrder | None:
        return self.inner.order_status(client_id)

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        self.status("call", method="fills_since")
        return self.inner.fills_since(ts)

    def positions(self) -> Sequence[VenuePosition]:
        self.status("call", method="positions")
        return self.inner.positions()

    def balances(self) -> Sequence[VenueBalance]:
        self.status("call", method="balances")
        return self.inner.balances()

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        return self.inner.events(cursor, timeout_s)


def build_adapter(spec: dict[str, Any]) -> VenueAdapter:
    """The adapter ``spec`` names: ``{"factory": "module:callable", "kwargs": {...}}``."""
    module, _, name = spec["factory"].partition(":")
    factory = getattr(importlib.import_module(module), name)
    adapter: VenueAdapter = factory(**spec.get("kwargs", {}))
    return adapter


def run(config: dict[str, Any]) -> None:
    """Start a context as ``config`` says and run its script."""
    status = _Status(Path(config["status"]))
    adapter = StagedAdapter(build_adapter(config["adapter"]), status)
    store = FlintStore(config["db"], writer_wait_s=10.0)
    ctx = LiveExecutionContext(adapter, store, account=config["account"],
                               adopt_venue_positions=bool(config.get("adopt_positions")),
                               poll_interval_s=0.2)
    report = ctx.start(background=False)
    status("started", mismatches=list(report.mismatches), adopted=list(report.adopted_orders))
    for step in config["script"]:
        op = step["op"]
        if op in ("market", "limit"):
            side = Side(step["side"])
            if op == "market":
                oid = ctx.market_order(step["market"], side, float(step["size"]))
            else:
                oid = ctx.limit_order(step["market"], side, float(step["size"]),
                                      float(step["price"]))
            order = ctx.order(oid)
            status("placed", client_id=oid, state=order.state.value if order else "")
        elif op == "pause_before_send":
            adapter.stage = "pause"
        elif op == "announce_send":
            adapter.stage = "announce"
        elif op == "idle":
            status("idle")
            threading.Event().wait()
        elif op == "settle":
            deadline = time.monotonic() + float(step.get("timeout_s", 10.0))
            while any(not o.acked or o.state.value == "unknown"
                      for o in ctx.tracker.open_orders()) and time.monotonic() < deadline:
                time.sleep(0.1)
                ctx.sync()
        elif op == "reconcile":
            before = len(ctx.journal_events())
            ctx.reconcile()
            status("reconciled", before=before, after=len(ctx.journal_events()))
    ctx.stop()
    store.close()
    status("done")


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
