"""A simulated perpetual-futures venue on 127.0.0.1: the test double of live trading.

``SimVenue().start()`` serves a small JSON API over real HTTP (a thread with its own
server), holds orders, fills, positions and cash, and injects faults on request. It
is what :mod:`flint.testing.sim_adapter` trades against and what the live contract
tests (:mod:`flint.testing.live_contracts`) drive; a venue plugin's own loopback fake
is held to the same tests.

Wire protocol (every request signed: headers ``X-Sim-Key``, ``X-Sim-Ts`` and
``X-Sim-Sign`` = hex HMAC-SHA256 of ``ts + method + path + body`` with the secret):

=========================  ===============================================================
``POST /v1/orders``        ``{client_id, market, side: buy|sell, type: market|limit|stop|
                           take_profit, size, price, reduce_only, expires_at}`` ->
                           ``{order, fills}``; refused once ``expires_at`` (unix s) passed
``DELETE /v1/orders/ID``   cancel by client id -> ``{order}``
``PATCH /v1/orders/ID``    ``{size?, price?}`` -> ``{order}``
``GET /v1/orders?open=1``  ``{orders}``; ``GET /v1/orders/ID`` -> ``{order}`` or 404
``GET /v1/fills?since=T``  ``{fills}`` (ts >= T, oldest first)
``GET /v1/positions``      ``{positions: [{market, size, entry_price, mark_price}]}``
``GET /v1/balances``       ``{balances: [{asset, total, available}]}``
``GET /v1/events``         ``?after=N&wait=S`` -> ``{events: [{seq, type, data}], next}``
                           (``after=-1``: no events, ``next`` = where the stream is now)
=========================  ===============================================================

Errors: ``{"code": ..., "message": ...}`` with 400 (refused), 401, 404, 409
(client id used before). Order states on the wire: ``open``, ``partial``, ``filled``,
``canceled``, ``expired``.

Test controls are Python methods (the venue runs in the test's process): marks,
fills of resting orders, orders placed "by hand" outside flint, a manual close,
position changes without a fill, and :meth:`SimVenue.inject` faults (``delay``,
``reset``, ``5xx``, ``429``, ``garbage``) before or after the venue commits a
command.
"""

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

OPEN_STATES = ("open", "partial")
FAULT_KINDS = ("delay", "reset", "5xx", "429", "garbage")
#: The commands faults can be injected on (``read`` = every GET).
FAULT_OPS = ("submit", "cancel", "amend", "read")
_FEE_RATE = 0.0005
_MARGIN = 0.1


@attrs.define
class Fault:
    """One injected failure: on the next ``count`` requests of ``op``."""

    op: str
    kind: str
    when: str = "after"
    delay_s: float = 1.0
    count: int = 1


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class SimVenue:
    """The simulated venue (see the module doc). Thread-safe; ``url`` once started."""

    def __init__(
        self,
        *,
        api_key: str = "sim-key",
        api_secret: str = "sim-secret",
        cash: float = 10_000.0,
        marks: dict[str, float] | None = None,
    ) -> None:
        self.api_key = api_key
        self._secret = api_secret.encode()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.reset(cash, marks)

    # Lifecycle

    def start(self) -> "SimVenue":
        """Serve on 127.0.0.1 (a free port) in a daemon thread."""
        venue = self

        class Handler(_Handler):
            sim = venue

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None, "start() the venue first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SimVenue":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, cash: float = 10_000.0, marks: dict[str, float] | None = None) -> None:
        """Forget every order, fill, position, fault and request."""
        with self._lock:
            self.cash = float(cash)
            self.marks: dict[str, float] = dict(marks or {"SOL-PERP": 100.0})
            self.orders: dict[str, dict[str, Any]] = {}
            self.fills: list[dict[str, Any]] = []
            self.positions: dict[str, list[float]] = {}
            self.events: list[dict[str, Any]] = []
            self.requests: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self._changed.notify_all()

    # Test controls

    def inject(self, op: str, kind: str, *, when: str = "after", delay_s: float = 1.0,
               count: int = 1) -> None:
        """Make the next ``count`` ``op`` requests fail with ``kind``, ``before`` the
        venue processes the command (it never happens, or, for ``delay``, happens
        late) or ``after`` it (it happened; the reply is lost, late or broken)."""
        if op not in FAULT_OPS or kind not in FAULT_KINDS or when not in ("before", "after"):
            raise ValueError(f"unknown fault {op}/{kind}/{when}; ops {FAULT_OPS}, "
                             f"kinds {FAULT_KINDS}, when before|after")
        with self._lock:
            self.faults.append(Fault(op, kind, when, delay_s, count))

    def set_mark(self, market: str, price: float) -> None:
        """Move ``market``'s mark; resting orders it reaches fill (or trigger)."""
        with self._lock:
            self.marks[market] = float(price)
            self._match(market)
            self._changed.notify_all()

    def fill(self, client_id: str, size: float | None = None,
             price: float | None = None) -> dict[str, Any]:
        """Fill (part of) a resting order, at its price unless ``price`` is given."""
        with self._lock:
            order = self.orders[client_id]
            if order["state"] not in OPEN_STATES:
                raise ValueError(f"order {client_id} is {order['state']}")
            qty = order["size"] - order["filled"] if size is None else float(size)
            fill = self._execute(order, qty, price or order["price"] or self.marks[
                order["market"]], maker=True)
            self._changed.notify_all()
            return fill

    def place_external(self, market: str, side: str, size: float, order_type: str = "limit",
                       price: float = 0.0, client_id: str = "") -> dict[str, Any]:
        """An order placed outside flint (on the venue's website, by another bot)."""
        with self._lock:
            cid = client_id or f"web-{next(self._ids)}"
            body = {"client_id": cid, "market": market, "side": side, "type": order_type,
                    "size": size, "price": price, "reduce_only": False}
            order = self._submit(body)
            self._changed.notify_all()
            return order

    def close_by_hand(self, market: str) -> None:
        """Close ``market``'s position with a market order placed outside flint."""
        with self._lock:
            size = self.positions.get(market, [0.0, 0.0])[0]
            if size:
                self.place_external(market, "sell" if size > 0 else "buy", abs(size), "market")

    def set_position(self, market: str, size: float, entry_price: float) -> None:
        """Change a position without a fill (a liquidation or transfer flint cannot see)."""
        with self._lock:
            self.positions[market] = [float(size), float(entry_price)]

    # What the venue holds (for assertions)

    def open_orders(self) -> list[dict[str, Any]]:
        """Open orders (copies)."""
        with self._lock:
            return [dict(o) for o in self.orders.values() if o["state"] in OPEN_STATES]

    def all_orders(self) -> dict[str, dict[str, Any]]:
        """Every order ever placed, by client id (copies)."""
        with self._lock:
            return {cid: dict(o) for cid, o in self.orders.items()}

    def request_log(self) -> list[dict[str, Any]]:
        """Every request received, in order: ``seq``, ``op``, ``method``, ``path``,
        ``client_id`` and ``origin`` (the sender's ``X-Sim-Origin`` header)."""
        with self._lock:
            return [dict(r) for r in self.requests]

    def position(self, market: str) -> float:
        """The signed position size of ``market``."""
        with self._lock:
            return self.positions.get(market, [0.0, 0.0])[0]

    def submissions(self, client_id: str | None = None) -> list[dict[str, Any]]:
        """Order submissions received (processed or not), optionally for one client id."""
        with self._lock:
            return [r for r in self.requests if r["op"] == "submit"
                    and (client_id is None or r["client_id"] == client_id)]

    # The engine

    def _submit(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = str(body.get("client_id") or "")
        if not cid:
            raise _Refused(400, "bad_request", "client_id is required")
        if cid in self.orders:
            raise _Refused(409, "duplicate_client_id", f"client id {cid} was used before")
        expires = body.get("expires_at")
        if expires is not None and time.time() > float(expires):
            raise _Refused(400, "expired", "the request arrived after expires_at")
        market, side, kind = body["market"], body["side"], body["type"]
        size, price = float(body["size"]), float(body.get("price") or 0.0)
        if side not in ("buy", "sell") or kind not in ("market", "limit", "stop",
                                                       "take_profit"):
            raise _Refused(400, "bad_request", "bad side or type")
        if not size > 0 or (kind != "market" and not price > 0):
            raise _Refused(400, "bad_request", "size and price must be positive")
        if market not in self.marks:
            raise _Refused(400, "unknown_market", f"no market {market}")
        reduce_only = bool(body.get("reduce_only"))
        if reduce_only and self._reducible(market, side) <= 0:
            raise _Refused(400, "reduce_only_rejected", "nothing to reduce")
        order = {
            "client_id": cid, "venue_order_id": f"V{next(self._ids)}", "market": market,
            "side": side, "type": kind, "size": size, "price": price,
            "reduce_only": reduce_only, "state": "open", "filled": 0.0, "avg_price": 0.0,
            "ts": time.time(),
        }
        self.orders[cid] = order
        fills = []
        mark = self.marks[market]
        if kind == "market" or (kind == "limit" and self._crosses(order, mark)):
            fill = self._execute(order, size, mark, maker=False)
            fills += [fill] if fill else []
        else:
            self._event("order", order)
        if kind == "market" and order["state"] in OPEN_STATES:  # reduce-only remainder
            order["state"] = "canceled"
            self._event("order", order)
        return {"order": dict(order), "fills": fills}

    def _reducible(self, market: str, side: str) -> float:
        size = self.positions.get(market, [0.0, 0.0])[0]
        return -size if side == "buy" and size < 0 else (
            size if side == "sell" and size > 0 else 0.0)

    @staticmethod
    def _crosses(order: dict[str, Any], mark: float) -> bool:
        buy = order["side"] == "buy"
        if order["type"] == "limit":
            return mark <= order["price"] if buy else mark >= order["price"]
        if order["type"] == "stop":
            return mark >= order["price"] if buy else mark <= order["price"]
        return mark <= order["price"] if buy else mark >= order["price"]  # take profit

    def _match(self, market: str) -> None:
        mark = self.marks[market]
        for order in list(self.orders.values()):
            if order["market"] == market and order["state"] in OPEN_STATES and (
                self._crosses(order, mark)
            ):
                limit = order["type"] == "limit"
                self._execute(order, order["size"] - order["filled"],
                              order["price"] if limit else mark, maker=limit)

    def _execute(self, order: dict[str, Any], size: float, price: float,
                 maker: bool) -> dict[str, Any]:
        market, sign = order["market"], 1.0 if order["side"] == "buy" else -1.0
        if order["reduce_only"]:
            size = min(size, self._reducible(market, order["side"]))
            if size <= 0:
                order["state"] = "canceled"
                self._event("order", order)
                return {}
        held = self.positions.setdefault(market, [0.0, 0.0])
        old, delta = held[0], sign * size
        new = old + delta
        if old and (old > 0) != (delta > 0):  # reduces (maybe flips): realise PnL
            closed = min(abs(delta), abs(old))
            self.cash += (price - held[1]) * closed * (1.0 if old > 0 else -1.0)
        if abs(new) < 1e-12:
            held[:] = [0.0, 0.0]
        elif old == 0 or (old > 0) != (new > 0):
            held[:] = [new, price]
        elif abs(new) > abs(old):
            held[:] = [new, (held[1] * abs(old) + price * size) / abs(new)]
        else:
            held[0] = new
        fee = price * size * (0.0 if maker else _FEE_RATE)
        self.cash -= fee
        total = order["filled"] + size
        order["avg_price"] = (order["avg_price"] * order["filled"] + price * size) / total
        order["filled"] = total
        order["state"] = "filled" if total >= order["size"] - 1e-12 else "partial"
        fill = {
            "trade_id": f"T{next(self._ids)}", "client_id": order["client_id"],
            "market": market, "side": order["side"], "price": price, "size": size,
            "fee": fee, "ts": time.time(), "maker": maker,
        }
        self.fills.append(fill)
        self._event("fill", fill)
        self._event("order", order)
        return fill

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append({"seq": len(self.events) + 1, "type": kind, "data": dict(data)})

    def _cancel(self, cid: str) -> dict[str, Any]:
        order = self.orders.get(cid)
        if order is None:
            raise _Refused(404, "not_found", f"no order {cid}")
        if order["state"] not in OPEN_STATES:
            raise _Refused(400, "not_open", f"order {cid} is {order['state']}")
        order["state"] = "canceled"
        self._event("order", order)
        return {"order": dict(order)}

    def _amend(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(cid)
        if order is None:
            raise _Refused(404, "not_found", f"no order {cid}")
        if order["state"] not in OPEN_STATES or order["type"] == "market":
            raise _Refused(400, "not_open", f"order {cid} is {order['state']}")
        size = float(body.get("size") or order["size"])
        if size < order["filled"] - 1e-12:
            raise _Refused(400, "bad_request", "size below the filled size")
        order["size"], order["price"] = size, float(body.get("price") or order["price"])
        if order["filled"] >= size - 1e-12:
            order["state"] = "filled"
        self._event("order", order)
        self._match(order["market"])
        return {"order": dict(order)}

    def _balances(self) -> dict[str, Any]:
        used = sum(abs(s) * self.marks.get(m, e) * _MARGIN for m, (s, e) in
                   self.positions.items())
        return {"balances": [{"asset": "USD", "total": self.cash,
                              "available": self.cash - used}]}

    def _events_after(self, after: int, wait_s: float) -> dict[str, Any]:
        if after < 0:  # where the stream is now
            with self._lock:
                return {"events": [], "next": len(self.events)}
        deadline = time.monotonic() + min(wait_s, 5.0)
        with self._changed:
            while len(self.events) <= after and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            batch = self.events[after:after + 500]
        return {"events": batch, "next": after + len(batch)}

    # Requests

    def _authorised(self, method: str, path: str, body: bytes, headers: Any) -> bool:
        key, ts, sign = (headers.get(h, "") for h in ("X-Sim-Key", "X-Sim-Ts", "X-Sim-Sign"))
        want = hmac.new(self._secret, f"{ts}{method}{path}".encode() + body,
                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(key, self.api_key) and hmac.compare_digest(sign, want)

    def _fault(self, op: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.op == op and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, Any]:
        """Run one request: ``(status, JSON-able reply)``."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        with self._lock:
            try:
                data = json.loads(body) if body else {}
                reply = self._route(method, parts, query, data)
            except _Refused as refused:
                return refused.status, {"code": refused.code, "message": str(refused)}
            except (KeyError, TypeError, ValueError) as exc:
                return 400, {"code": "bad_request", "message": str(exc)}
            finally:
                self._changed.notify_all()
        return 200, reply

    def _route(self, method: str, parts: list[str], query: dict[str, str],
               data: dict[str, Any]) -> Any:
        if len(parts) < 2 or parts[0] != "v1":
            raise _Refused(404, "not_found", "unknown path")
        resource, ident = parts[1], (parts[2] if len(parts) > 2 else None)
        if resource == "orders":
            if method == "POST" and ident is None:
                return self._submit(data)
            if method == "DELETE" and ident:
                return self._cancel(ident)
            if method == "PATCH" and ident:
                return self._amend(ident, data)
            if method == "GET" and ident:
                if ident not in self.orders:
                    raise _Refused(404, "not_found", f"no order {ident}")
                return {"order": dict(self.orders[ident])}
            if method == "GET":
                return {"orders": self.open_orders() if query.get("open") else [
                    dict(o) for o in self.orders.values()]}
        if method == "GET" and resource == "fills":
            since = float(query.get("since", 0))
            return {"fills": [dict(f) for f in self.fills if f["ts"] >= since]}
        if method == "GET" and resource == "positions":
            return {"positions": [
                {"market": m, "size": s, "entry_price": e, "mark_price": self.marks.get(m, e)}
                for m, (s, e) in self.positions.items() if s]}
        if method == "GET" and resource == "balances":
            return self._balances()
        raise _Refused(404, "not_found", "unknown path")


def _op(method: str, path: str) -> str:
    if method == "POST":
        return "submit"
    if method == "DELETE":
        return "cancel"
    return "amend" if method == "PATCH" else "read"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (it timed out) is expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    sim: SimVenue
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def _reply(self, status: int, payload: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, replying nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sim, method = self.sim, self.command
        path = urlsplit(self.path).path
        if method == "GET" and path == "/v1/events":
            if not sim._authorised(method, self.path, body, self.headers):
                self._reply(401, b'{"code": "unauthorized", "message": "bad signature"}')
                return
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            batch = sim._events_after(int(query.get("after", 0)), float(query.get("wait", 0)))
            self._reply(200, json.dumps(batch).encode())
            return
        op = _op(method, path)
        client_id = ""
        if op == "submit":
            with contextlib.suppress(ValueError):
                client_id = str(json.loads(body).get("client_id", ""))
        elif path.startswith("/v1/orders/"):
            client_id = path.rsplit("/", 1)[-1]
        with sim._lock:
            sim.requests.append({"seq": len(sim.requests) + 1, "op": op, "method": method,
                                 "path": path, "client_id": client_id,
                                 "origin": self.headers.get("X-Sim-Origin", "")})
        if not sim._authorised(method, self.path, body, self.headers):
            self._reply(401, b'{"code": "unauthorized", "message": "bad signature"}')
            return
        fault = sim._fault(op)
        if fault is not None and fault.when == "before":
            if fault.kind == "delay":
                time.sleep(fault.delay_s)
            else:
                self._broken(fault)
                return
        status, reply = sim.handle(method, self.path, body)
        if fault is not None and fault.when == "after":
            if fault.kind == "delay":
                time.sleep(fault.delay_s)
            else:
                self._broken(fault)
                return
        self._reply(status, json.dumps(reply).encode())

    def _broken(self, fault: Fault) -> None:
        if fault.kind == "reset":
            self._reset()
        elif fault.kind == "5xx":
            self._reply(503, b'{"code": "unavailable", "message": "try again"}')
        elif fault.kind == "429":
            self._reply(429, b'{"code": "rate_limited", "message": "slow down"}',
                        {"Retry-After": "1"})
        else:
            self._reply(200, b"<html>502 Bad Gateway</html>")

    do_GET = do_POST = do_DELETE = do_PATCH = _serve

