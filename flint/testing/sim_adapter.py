"""The venue adapter of the simulated venue (:mod:`flint.testing.sim_venue`).

It is also the reference a plugin's adapter can read: a timeout on every call,
requests signed with a :class:`~flint.live.credentials.Secret` that is revealed only
to compute the signature, wire records translated to flint's, and every failure
classified: refused (:class:`VenueRejected`), ambiguous (:class:`AmbiguousOutcome`)
or a failed read (:class:`VenueUnavailable`). What tells them apart is whether a
byte of the request can have left: a failed connect sent nothing, anything later may
have reached the venue.

It speaks HTTP/1.1 on keep-alive connections of its own (:class:`Connections`), one
per thread (the user-event stream polls on its own), a connection the venue closed
while idle being replaced before use: a general client library's request machinery
costs more than the rest of flint's order path (see bench/README.md, "Paper and live
overheads"), and this adapter is what flint's own latency is measured through.
"""

import hashlib
import hmac
import http.client
import json
import os
import select
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from flint.live.adapter import (
    AmbiguousOutcome,
    OrderRequest,
    UserEvents,
    VenueAdapter,
    VenueBalance,
    VenueError,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueUnavailable,
)
from flint.live.credentials import Secret, load_secret
from flint_core.enums import OrderState, OrderType, Side

#: Environment variables (or keyring entries) the adapter's keys are read from.
KEY_VAR, SECRET_VAR = "FLINT_SIM_API_KEY", "FLINT_SIM_API_SECRET"

_SIDES = {"buy": Side.LONG, "sell": Side.SHORT}
_WIRE_SIDES = {v: k for k, v in _SIDES.items()}
_TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP_LOSS,
          "take_profit": OrderType.TAKE_PROFIT}
_WIRE_TYPES = {v: k for k, v in _TYPES.items()}
_STATES = {"open": OrderState.CONFIRMED, "partial": OrderState.PARTIALLY_FILLED,
           "filled": OrderState.FILLED, "canceled": OrderState.CANCELLED,
           "expired": OrderState.EXPIRED}


class SimAdapter(VenueAdapter):
    """Trades on a :class:`~flint.testing.sim_venue.SimVenue` at ``url``.

    ``api_key`` / ``api_secret`` default to :func:`~flint.live.credentials.load_secret`
    of ``FLINT_SIM_API_KEY`` / ``FLINT_SIM_API_SECRET``. A request the venue receives
    after ``request_ttl_s`` is refused by it, so an order it never reported is final
    after :attr:`ambiguity_window_s` = ``request_ttl_s`` + 0.5 s.
    """

    venue = "sim"
    quote_asset = "USD"

    def __init__(
        self,
        url: str,
        *,
        api_key: Secret | None = None,
        api_secret: Secret | None = None,
        timeout_s: float = 5.0,
        request_ttl_s: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._key = api_key if api_key is not None else load_secret(KEY_VAR)
        self._secret = api_secret if api_secret is not None else load_secret(SECRET_VAR)
        self.timeout_s = float(timeout_s)
        self.request_ttl_s = float(request_ttl_s)
        self.ambiguity_window_s = self.request_ttl_s + 0.5
        self._origin = str(os.getpid())
        self._wire = Connections(self.url, self.timeout_s)

    def connect(self) -> None:
        """Nothing to do: a connection opens on a thread's first call."""

    def close(self) -> None:
        self._wire.close()

    # Transport

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """One signed request; returns the decoded reply or raises a classified error."""
        target = f"{path}?{urlencode(params)}" if params else path
        content = json.dumps(body).encode() if body is not None else b""
        ts = f"{time.time():.6f}"
        sign = hmac.new(self._secret.reveal().encode(),
                        f"{ts}{method}{target}".encode() + content, hashlib.sha256).hexdigest()
        headers = (f"X-Sim-Key: {self._key.reveal()}\r\nX-Sim-Ts: {ts}\r\nX-Sim-Sign: {sign}"
                   f"\r\nX-Sim-Origin: {self._origin}\r\nContent-Type: application/json\r\n")
        writes = method != "GET"
        what = f"{method} {path}"
        try:
            status, raw = self._wire.exchange(method, target, headers, content,
                                              timeout_s or self.timeout_s)
        except NotConnected as exc:  # nothing was sent
            if writes:
                raise VenueRejected("unreachable", f"{what}: {exc}") from None
            raise VenueUnavailable(f"{what}: {exc}") from None
        except TimeoutError as exc:
            self._ambiguous(writes, "timeout", f"{what}: {type(exc).__name__}")
        except (OSError, http.client.HTTPException) as exc:
            self._ambiguous(writes, "reset", f"{what}: {type(exc).__name__}")
        if status >= 500:
            self._ambiguous(writes, "server_error", f"{what}: HTTP {status}")
        if status == 429:
            self._ambiguous(writes, "rate_limited", f"{what}: HTTP 429")
        try:
            data = json.loads(raw)
        except ValueError:
            self._ambiguous(writes, "unparsable",
                            f"{what}: HTTP {status} with a body that is not JSON")
        if status == 409:  # the client id exists: the order did arrive
            self._ambiguous(writes, "duplicate", f"{what}: {data.get('code')}")
        if status >= 400:
            code = str(data.get("code", status))
            raise VenueRejected(code, str(data.get("message", "")))
        return data

    @staticmethod
    def _ambiguous(writes: bool, kind: str, message: str) -> Any:
        if writes:
            raise AmbiguousOutcome(kind, message) from None
        raise VenueUnavailable(f"{kind}: {message}") from None

    # Translation

    def _order(self, data: dict[str, Any], fills: Sequence[dict[str, Any]] = ()) -> VenueOrder:
        try:
            return VenueOrder(
                str(data["client_id"]), str(data["market"]), _SIDES[data["side"]],
                _TYPES[data["type"]], float(data["size"]), _STATES[data["state"]],
                float(data.get("price") or 0.0), float(data["filled"]),
                float(data["avg_price"]), bool(data["reduce_only"]),
                str(data["venue_order_id"]), float(data["ts"]),
                fills=tuple(self._fill(f) for f in fills),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AmbiguousOutcome("unparsable", f"order record: {exc!r}") from None

    @staticmethod
    def _fill(data: dict[str, Any]) -> VenueFill:
        return VenueFill(
            str(data["trade_id"]), str(data["client_id"]), str(data["market"]),
            _SIDES[data["side"]], float(data["price"]), float(data["size"]),
            float(data["fee"]), float(data["ts"]), bool(data["maker"]),
        )

    # The interface

    def _body(self, request: OrderRequest) -> dict[str, Any]:
        return {
            "client_id": request.client_id, "market": request.market,
            "side": _WIRE_SIDES[request.side], "type": _WIRE_TYPES[request.order_type],
            "size": request.size, "price": request.price, "reduce_only": request.reduce_only,
        }

    def check_order(self, request: OrderRequest) -> None:
        self._body(request)

    def place(self, request: OrderRequest) -> VenueOrder:
        body = {**self._body(request), "expires_at": time.time() + self.request_ttl_s}
        data = self._call("POST", "/v1/orders", body)
        return self._order(data["order"], data.get("fills", ()))

    def cancel(self, client_id: str) -> VenueOrder:
        return self._order(self._call("DELETE", f"/v1/orders/{client_id}")["order"])

    def amend(self, client_id: str, size: float | None = None,
              price: float | None = None) -> VenueOrder:
        body = {k: v for k, v in (("size", size), ("price", price)) if v is not None}
        return self._order(self._call("PATCH", f"/v1/orders/{client_id}", body)["order"])

    def _read(self, path: str, params: dict[str, Any] | None = None,
              timeout_s: float | None = None) -> Any:
        try:
            return self._call("GET", path, params=params, timeout_s=timeout_s)
        except AmbiguousOutcome as exc:
            raise VenueUnavailable(str(exc)) from None

    def open_orders(self) -> Sequence[VenueOrder]:
        return [self._order(o) for o in self._read("/v1/orders", {"open": 1})["orders"]]

    def order_status(self, client_id: str) -> VenueOrder | None:
        try:
            data = self._read(f"/v1/orders/{client_id}")
        except VenueRejected as exc:
            if exc.code == "not_found":
                return None
            raise VenueUnavailable(str(exc)) from None
        return self._order(data["order"])

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        return [self._fill(f) for f in self._read("/v1/fills", {"since": ts})["fills"]]

    def positions(self) -> Sequence[VenuePosition]:
        return [
            VenuePosition(str(p["market"]), float(p["size"]), float(p["entry_price"]),
                          float(p["mark_price"]))
            for p in self._read("/v1/positions")["positions"]
        ]

    def balances(self) -> Sequence[VenueBalance]:
        return [
            VenueBalance(str(b["asset"]), float(b["total"]), float(b["available"]))
            for b in self._read("/v1/balances")["balances"]
        ]

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        params = {"after": int(cursor), "wait": timeout_s} if cursor else {"after": -1}
        data = self._read("/v1/events", params, timeout_s=timeout_s + self.timeout_s)
        orders, fills = [], []
        try:
            for event in data["events"]:
                if event["type"] == "fill":
                    fills.append(self._fill(event["data"]))
                else:
                    orders.append(self._order(event["data"]))
        except (KeyError, TypeError, ValueError, VenueError) as exc:
            raise VenueUnavailable(f"unparsable event: {exc!r}") from None
        return UserEvents(tuple(orders), tuple(fills), str(data["next"]))


class NotConnected(Exception):
    """No connection to the venue could be made: nothing of the request was sent."""


class Connections:
    """Keep-alive HTTP/1.1 connections to ``url``, one per thread, each carrying one
    request at a time; ``connect_timeout_s`` bounds opening one. A request is written
    in one ``sendall``; its reply is read by ``http.client``'s response parser."""

    def __init__(self, url: str, connect_timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the simulated venue speaks plain http: {url!r}")
        self._address = (parts.hostname, parts.port or 80)
        self._host = parts.netloc
        self._timeout_s = connect_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def exchange(self, method: str, target: str, headers: str, content: bytes,
                 timeout_s: float) -> tuple[int, bytes]:
        """Send one request (``headers``: lines ending in CRLF) and read its reply's
        status and body. :class:`NotConnected` when nothing was sent; any other error
        (``OSError``, ``TimeoutError``, ``http.client.HTTPException``) closes the
        connection, whose late reply must not be read as the next request's."""
        sock = self._socket()
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self._host}\r\n"
                f"Content-Length: {len(content)}\r\n{headers}\r\n")
        reply = None
        try:
            sock.settimeout(timeout_s)
            sock.sendall(head.encode() + content)
            reply = http.client.HTTPResponse(sock, method=method)
            reply.begin()
            body = reply.read()
            if reply.will_close:
                self._drop(sock)
            return reply.status, body
        except BaseException:
            if reply is not None:
                reply.close()  # its reader holds the socket open
            self._drop(sock)
            raise

    def close(self) -> None:
        with self._lock:
            for sock in self._open:
                sock.close()
            self._open.clear()

    def _socket(self) -> socket.socket:
        sock: socket.socket | None = getattr(self._local, "sock", None)
        if sock is not None and (sock.fileno() < 0 or _closed_by_peer(sock)):
            self._drop(sock)
            sock = None
        if sock is None:
            try:
                sock = socket.create_connection(self._address, timeout=self._timeout_s)
            except OSError as exc:
                raise NotConnected(type(exc).__name__) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.sock = sock
            with self._lock:
                self._open.add(sock)
        return sock

    def _drop(self, sock: socket.socket) -> None:
        if getattr(self._local, "sock", None) is sock:
            self._local.sock = None
        with self._lock:
            self._open.discard(sock)
        sock.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the peer closed it (or sent
    what no request asked for); either way it cannot carry the next request."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
