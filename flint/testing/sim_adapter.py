"""The venue adapter of the simulated venue (:mod:`flint.testing.sim_venue`), over httpx.

It is also the reference a plugin's adapter can read: one ``httpx.Client`` with a
timeout on every call, requests signed with a :class:`~flint.live.credentials.Secret`
that is revealed only to compute the signature, wire records translated to flint's,
and every failure classified: refused (:class:`VenueRejected`), ambiguous
(:class:`AmbiguousOutcome`) or a failed read (:class:`VenueUnavailable`).
"""

import hashlib
import hmac
import json
import os
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

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
        self._client: httpx.Client | None = None

    def connect(self) -> None:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout_s)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # Transport

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """One signed request; returns the decoded reply or raises a classified error."""
        self.connect()
        assert self._client is not None
        target = f"{path}?{urlencode(params)}" if params else path
        content = json.dumps(body).encode() if body is not None else b""
        ts = f"{time.time():.6f}"
        sign = hmac.new(self._secret.reveal().encode(),
                        f"{ts}{method}{target}".encode() + content, hashlib.sha256).hexdigest()
        headers = {"X-Sim-Key": self._key.reveal(), "X-Sim-Ts": ts, "X-Sim-Sign": sign,
                   "X-Sim-Origin": self._origin, "Content-Type": "application/json"}
        writes = method != "GET"
        try:
            reply = self._client.request(method, target, content=content, headers=headers,
                                         timeout=timeout_s or self.timeout_s)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
            what = f"{method} {path}: {type(exc).__name__}"
            if writes:
                raise VenueRejected("unreachable", what) from None
            raise VenueUnavailable(what) from None
        except httpx.TimeoutException as exc:
            self._ambiguous(writes, "timeout", f"{method} {path}: {type(exc).__name__}")
        except httpx.TransportError as exc:
            self._ambiguous(writes, "reset", f"{method} {path}: {type(exc).__name__}")
        if reply.status_code >= 500:
            self._ambiguous(writes, "server_error", f"{method} {path}: HTTP {reply.status_code}")
        if reply.status_code == 429:
            self._ambiguous(writes, "rate_limited", f"{method} {path}: HTTP 429")
        try:
            data = reply.json()
        except ValueError:
            self._ambiguous(writes, "unparsable",
                            f"{method} {path}: HTTP {reply.status_code} with a body that is "
                            f"not JSON")
        if reply.status_code == 409:  # the client id exists: the order did arrive
            self._ambiguous(writes, "duplicate", f"{method} {path}: {data.get('code')}")
        if reply.status_code >= 400:
            code = str(data.get("code", reply.status_code))
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
