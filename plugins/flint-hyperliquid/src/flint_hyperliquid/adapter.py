"""The Hyperliquid venue adapter: flint's orders as signed ``POST /exchange`` L1 actions.

Actions are built and EIP-712 signed with hyperliquid-python-sdk's own functions
(``order_request_to_order_wire``, ``sign_l1_action``) and sent over one
``httpx.Client`` with a timeout on every call. What the adapter adds:

- every order carries a ``cloid`` derived from flint's client order id
  (:meth:`HyperliquidAdapter.new_client_id` makes ids that *are* cloids), so
  ``orderStatus`` and ``cancelByCloid`` find it again;
- nonces come from the signer's :class:`~flint_hyperliquid.nonces.NonceClock`
  (strictly increasing under a lock, shared by every adapter of the process);
- every action carries ``expiresAfter`` = nonce + ``request_ttl_s``, so an order the
  venue does not report :attr:`ambiguity_window_s` after its send never will be;
- prices and sizes are rounded to the coin's tick and lot before signing; a market
  order is an IOC limit ``slippage`` beyond the mid; stops and take-profits are
  market triggers bounded the same way; ``post_only`` sends GTC limits as ``Alo``;
- a resting limit order is amended by ``batchModify`` (same signing, nonce and expiry),
  keeping its cloid: flint's new size is the whole size, the wire's what is left;
- fills and order updates come from the websocket (``userFills``, ``orderUpdates``;
  :mod:`flint_hyperliquid.user_stream`), an updated order read again by ``orderStatus``;
  after a reconnect, every ``resync_s`` and while the socket is down they are read over
  REST (``userFillsByTime``, ``frontendOpenOrders``, ``orderStatus``), at most every
  ``poll_s`` (``websocket=False``: REST only);
- every request spends its weight from the process's Hyperliquid budget
  (:func:`flint.providers.transport.venue_limiter`, shared with the data provider;
  ``rate_limit=False`` turns it off), and a 429 pauses that budget for its Retry-After;
- ``dead_man_switch_s`` opts in to ``scheduleCancel``, renewed while the adapter reads
  events, so the venue cancels every open order if flint stops;
- the key is an agent (API) wallet's, a :class:`~flint.live.credentials.Secret` from
  ``FLINT_HYPERLIQUID_PRIVATE_KEY``; the account traded is ``account_address``
  (default: the key's own address); testnet unless ``url`` is the mainnet URL.
"""

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Sequence
from typing import Any, NoReturn

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
from flint.live.credentials import CredentialError, Secret, load_secret
from flint.providers.transport import venue_limiter
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_hyperliquid.client import (
    DEFAULT_WEIGHT,
    EXCHANGE_WEIGHT,
    ITEMS_PER_WEIGHT,
    WEIGHTS,
    retry_after_s,
)
from flint_hyperliquid.markets import VENUE, to_coin, to_market
from flint_hyperliquid.nonces import nonce_clock
from flint_hyperliquid.provider import MAINNET_URL, TESTNET_URL, HyperliquidProvider
from flint_hyperliquid.rules import round_price, round_size
from flint_hyperliquid.user_stream import UserStream

#: The environment variable (or keyring entry) holding the agent wallet's private key.
KEY_VAR = "FLINT_HYPERLIQUID_PRIVATE_KEY"

_CLOID = re.compile(r"0x[0-9a-f]{32}")
_SIDES = {"B": Side.LONG, "A": Side.SHORT}
_TYPES = {"Limit": OrderType.LIMIT, "Stop Market": OrderType.STOP_LOSS,
          "Stop Limit": OrderType.STOP_LOSS, "Take Profit Market": OrderType.TAKE_PROFIT,
          "Take Profit Limit": OrderType.TAKE_PROFIT}
_OPEN = {"open", "triggered"}
_EXPIRED = {"scheduledCancel"}


def order_state(status: str, filled: float) -> OrderState:
    """flint's state of an order the venue reports as ``status`` with ``filled`` done."""
    if status in _OPEN:
        return OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.CONFIRMED
    if status == "filled":
        return OrderState.FILLED
    return OrderState.EXPIRED if status in _EXPIRED else OrderState.CANCELLED


def cloid_of(client_id: str) -> str:
    """The cloid an order with flint's ``client_id`` is sent with: the id itself when
    it is a cloid, else 16 bytes of its SHA-256."""
    if _CLOID.fullmatch(client_id):
        return client_id
    return "0x" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


class HyperliquidAdapter(VenueAdapter):
    """Trades one Hyperliquid account at ``url`` (see the module doc)."""

    venue = VENUE
    quote_asset = "USDC"

    def __init__(
        self,
        url: str = TESTNET_URL,
        *,
        account_address: str | None = None,
        private_key: Secret | None = None,
        timeout_s: float = 5.0,
        request_ttl_s: float = 10.0,
        slippage: float = 0.05,
        post_only: bool = False,
        dead_man_switch_s: float | None = None,
        poll_s: float = 5.0,
        websocket: bool = True,
        resync_s: float = 30.0,
        rate_limit: bool = True,
    ) -> None:
        from eth_account import Account

        self.url = url.rstrip("/")
        self.is_mainnet = self.url == MAINNET_URL
        self._key = private_key if private_key is not None else load_secret(KEY_VAR)
        try:
            self.signer = str(Account.from_key(self._key.reveal()).address)
        except (ValueError, TypeError):
            raise CredentialError(f"{self._key.name} is not a private key") from None
        self.account_address = (account_address or self.signer).lower()
        self.timeout_s = float(timeout_s)
        self.request_ttl_s = float(request_ttl_s)
        self.ambiguity_window_s = self.request_ttl_s + 2 * self.timeout_s
        self.slippage = float(slippage)
        self.post_only = post_only
        if dead_man_switch_s is not None and dead_man_switch_s < 5:
            raise ValueError("dead_man_switch_s must be at least 5 s (the venue's minimum)")
        self.dead_man_switch_s = dead_man_switch_s
        self.poll_s = float(poll_s)
        self.resync_s = float(resync_s)
        self._stream = (UserStream(self.url, self.account_address, self.timeout_s)
                        if websocket else None)
        self._synced_generation = -1
        self._next_resync = self._next_poll = 0.0
        self.rate_limit = rate_limit
        self._limiter = venue_limiter(VENUE, HyperliquidProvider.WEIGHT_PER_MINUTE
                                      if rate_limit else None)
        self._nonces = nonce_clock(self.signer)
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._meta_lock = threading.Lock()
        self._sz_decimals: dict[str, int] = {}
        self._assets: dict[str, int] = {}
        self._client_ids: dict[str, str] = {}  # cloid -> flint's id, when they differ
        self._requests: dict[str, OrderRequest] = {}  # client id -> what flint asked
        self._seen: dict[int, tuple[float, str]] = {}  # open oid -> (size left, status)
        self._dead_man_renew = 0.0

    def __repr__(self) -> str:
        return f"HyperliquidAdapter({self.url!r}, account={self.account_address})"

    def new_client_id(self, session: str, number: int) -> str:
        """A cloid: 8 bytes of the session's hash, then ``number``."""
        return f"0x{hashlib.sha256(session.encode()).hexdigest()[:16]}{number:016x}"

    def connect(self) -> None:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout_s)
        with self._meta_lock:
            if not self._assets:
                self._load_meta()
        if self._stream is not None:
            self._stream.start()
        self._renew_dead_man()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        if self._client is not None:
            if self.dead_man_switch_s is not None:
                # no time: switch off (if that fails, the scheduled cancel fires: safe)
                with contextlib.suppress(VenueError):
                    self._action({"type": "scheduleCancel"})
            self._client.close()
            self._client = None

    # Transport

    def _post(self, path: str, body: dict[str, Any], writes: bool,
              timeout_s: float | None = None) -> Any:
        """One POST; the decoded reply or a classified error."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout_s)
        kind = str(body.get("type") or body.get("action", {}).get("type"))
        what = f"{path} {kind}"
        self._limiter.acquire(EXCHANGE_WEIGHT if writes else WEIGHTS.get(kind, DEFAULT_WEIGHT))
        try:
            reply = self._client.post(path, content=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json"},
                                      timeout=timeout_s or self.timeout_s)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
            if writes:
                raise VenueRejected("unreachable", f"{what}: {type(exc).__name__}") from None
            raise VenueUnavailable(f"{what}: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            _ambiguous(writes, "timeout", f"{what}: {type(exc).__name__}")
        except httpx.TransportError as exc:
            _ambiguous(writes, "reset", f"{what}: {type(exc).__name__}")
        if reply.status_code >= 500:
            _ambiguous(writes, "server_error", f"{what}: HTTP {reply.status_code}")
        if reply.status_code == 429:
            if self.rate_limit:
                self._limiter.pause(retry_after_s(reply.headers) or 1.0)
            _ambiguous(writes, "rate_limited", f"{what}: HTTP 429")
        if reply.status_code >= 400:  # refused (its body is JSON or plain text)
            message = f"{what}: HTTP {reply.status_code} {reply.text}"[:300]
            if writes:
                raise VenueRejected(str(reply.status_code), message)
            raise VenueUnavailable(message)
        try:
            data = reply.json()
        except ValueError:
            _ambiguous(writes, "unparsable", f"{what}: HTTP {reply.status_code}, not JSON")
        items = ITEMS_PER_WEIGHT.get(kind)
        if items and isinstance(data, list):
            self._limiter.charge(len(data) // items)
        return data

    def _info(self, body: dict[str, Any], expect: type = dict) -> Any:
        """An ``/info`` read whose answer must be an ``expect``."""
        data = self._post("/info", body, writes=False)
        if not isinstance(data, expect):
            raise VenueUnavailable(f"/info {body['type']}: unexpected answer {str(data)[:100]}")
        return data

    def _action(self, action: dict[str, Any]) -> Any:
        """Sign ``action`` with a fresh nonce and an expiry, send it; its ``response``."""
        from eth_account import Account
        from hyperliquid.utils.signing import sign_l1_action

        nonce = self._nonces.next()
        expires = nonce + int(self.request_ttl_s * 1000)
        signature = sign_l1_action(Account.from_key(self._key.reveal()), action, None, nonce,
                                   expires, self.is_mainnet)
        body = {"action": action, "nonce": nonce, "signature": signature,
                "vaultAddress": None, "expiresAfter": expires}
        data = self._post("/exchange", body, writes=True)
        if not isinstance(data, dict) or data.get("status") not in ("ok", "err"):
            raise AmbiguousOutcome("unparsable", f"/exchange {action['type']}: "
                                                 f"{str(data)[:100]}")
        if data["status"] == "err":
            raise VenueRejected("refused", str(data.get("response"))[:300])
        return data.get("response")

    # Markets

    def _load_meta(self) -> None:
        meta = self._info({"type": "meta", "dex": ""})
        try:
            universe = [(str(a["name"]), int(a["szDecimals"])) for a in meta["universe"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"/info meta: unparsable ({exc!r})") from None
        self._assets = {name: i for i, (name, _) in enumerate(universe)}
        self._sz_decimals = dict(universe)

    def _coin(self, market: str) -> str:
        with self._meta_lock:
            if not self._assets:
                try:
                    self._load_meta()
                except VenueUnavailable as exc:
                    raise VenueRejected("unavailable", f"markets unknown: {exc}") from None
        try:
            return to_coin(market, list(self._assets))
        except ValueError as exc:  # UnknownMarket
            raise VenueRejected("unknown_market", str(exc)) from None

    def _asset(self, market: str) -> int:
        coin = self._coin(market)
        return self._assets[coin]

    def _mid(self, coin: str) -> float:
        try:
            mids = self._info({"type": "allMids", "dex": ""})
            return float(mids[coin])
        except (VenueUnavailable, KeyError, TypeError, ValueError) as exc:
            raise VenueRejected("no_price", f"no mid price of {coin}: {exc}") from None

    # Orders

    def _wire(self, request: OrderRequest) -> dict[str, Any]:
        """The order's wire form (rounded to tick and lot), as the SDK builds it."""
        coin = self._coin(request.market)
        decimals = self._sz_decimals[coin]
        size = round_size(request.size, decimals) if request.size > 0 else 0.0
        if size <= 0:
            raise VenueRejected("invalid_size", f"size {request.size:g} is below one lot of "
                                                f"{coin} ({10 ** -decimals:g})")
        buy = request.side is Side.LONG
        worse = 1 + self.slippage if buy else 1 - self.slippage
        kind: dict[str, Any]
        if request.order_type is OrderType.MARKET:
            if request.time_in_force is TimeInForce.FOK:
                raise VenueRejected("unsupported", "Hyperliquid has no fill-or-kill orders")
            price = self._mid(coin) * worse
            kind = {"limit": {"tif": "Ioc"}}
        elif request.order_type is OrderType.LIMIT:
            price = request.price
            tif = {TimeInForce.GTC: "Alo" if self.post_only else "Gtc",
                   TimeInForce.IOC: "Ioc"}.get(request.time_in_force)
            if tif is None:
                raise VenueRejected("unsupported", "Hyperliquid has no fill-or-kill orders")
            kind = {"limit": {"tif": tif}}
        else:
            trigger = _rounded(request.price, decimals)
            price = trigger * worse
            kind = {"trigger": {"triggerPx": trigger, "isMarket": True,
                                "tpsl": "sl" if request.order_type is OrderType.STOP_LOSS
                                else "tp"}}
        return self._sdk_wire(coin, buy, size, _rounded(price, decimals), kind,
                              request.reduce_only, self._cloid(request.client_id))

    def _sdk_wire(self, coin: str, buy: bool, size: float, limit: float, kind: dict[str, Any],
                  reduce_only: bool, cloid: str | None) -> dict[str, Any]:
        """The SDK's wire form of an order already rounded to tick and lot;
        :class:`VenueRejected` if the SDK refuses it."""
        from hyperliquid.utils.signing import order_request_to_order_wire
        from hyperliquid.utils.types import Cloid

        try:
            return order_request_to_order_wire({
                "coin": coin, "is_buy": buy, "sz": size, "limit_px": limit, "order_type": kind,
                "reduce_only": reduce_only, "cloid": Cloid(cloid) if cloid else None,
            }, self._assets[coin])
        except (ValueError, TypeError) as exc:  # TypeError: a malformed cloid
            raise VenueRejected("invalid_order", str(exc)) from None

    def _status(self, response: Any, what: str) -> Any:
        """The first status of the venue's ``response`` to ``what`` (an order, a cancel, a
        modify); :class:`VenueRejected` for an error, :class:`AmbiguousOutcome` if unreadable."""
        try:
            status = response["data"]["statuses"][0]
        except (KeyError, TypeError, IndexError):
            raise AmbiguousOutcome("unparsable", f"{what} reply {str(response)[:100]}") from None
        if isinstance(status, dict) and "error" in status:
            raise VenueRejected("rejected", str(status["error"])[:300])
        return status

    def _cloid(self, client_id: str) -> str:
        cloid = cloid_of(client_id)
        if cloid != client_id:
            with self._lock:
                self._client_ids[cloid] = client_id
        return cloid

    def check_order(self, request: OrderRequest) -> None:
        self._wire(request)

    def place(self, request: OrderRequest) -> VenueOrder:
        from hyperliquid.utils.signing import order_wires_to_order_action

        wire = self._wire(request)
        with self._lock:
            self._requests[request.client_id] = request
        status = self._status(self._action(order_wires_to_order_action([wire])), "order")
        size = float(wire["s"])
        try:
            if "resting" in status:
                acked = self._reported(request, size, OrderState.CONFIRMED,
                                       str(status["resting"]["oid"]), float(wire["p"]))
                return self._read_back(acked)
            done = status["filled"]
            filled = float(done["totalSz"])
            state = OrderState.FILLED if filled >= size - 1e-12 else OrderState.CANCELLED
            return self._reported(request, size, state, str(done["oid"]), float(wire["p"]),
                                  filled, float(done["avgPx"]))
        except (KeyError, TypeError, ValueError):
            raise AmbiguousOutcome("unparsable", f"order status {str(status)[:100]}") from None

    def _read_back(self, acked: VenueOrder) -> VenueOrder:
        """The venue's own record of a resting order just placed (its time, any fill
        since), or ``acked`` if it cannot be read now."""
        self._watch(acked)
        try:
            return self.order_status(acked.client_id) or acked
        except VenueError:
            return acked

    def _reported(self, request: OrderRequest, size: float, state: OrderState, oid: str,
                  price: float, filled: float = 0.0, avg: float = 0.0) -> VenueOrder:
        shown = 0.0 if request.order_type is OrderType.MARKET else (
            request.price if request.order_type is not OrderType.LIMIT else price)
        return VenueOrder(request.client_id, request.market, request.side,
                          request.order_type, size, state, shown, filled, avg,
                          request.reduce_only, oid, time.time())

    def cancel(self, client_id: str) -> VenueOrder:
        if client_id.startswith("oid-"):
            order = self.order_status(client_id)
            if order is None:
                raise VenueRejected("not_found", f"no order {client_id}")
            action = {"type": "cancel", "cancels": [
                {"a": self._asset(order.market), "o": int(client_id[4:])}]}
        else:
            request = self._requests.get(client_id)
            market = request.market if request is not None else self._market_of(client_id)
            action = {"type": "cancelByCloid", "cancels": [
                {"asset": self._asset(market), "cloid": self._cloid(client_id)}]}
        status = self._status(self._action(action), "cancel")
        if status != "success":
            raise VenueRejected("rejected", str(status)[:300])
        return self.state_after(client_id, "cancelled")

    def amend(self, client_id: str, size: float | None = None,
              price: float | None = None) -> VenueOrder:
        """A resting limit order's new size (its whole size, filled part included) and/or
        price, by ``batchModify``: rounded to tick and lot and signed like an order, the
        order keeps its cloid and time in force; its state read back after."""
        try:
            found = self._status_record(client_id)
        except VenueUnavailable as exc:  # nothing sent yet
            raise VenueRejected("unavailable", f"state of {client_id} unread: {exc}") from None
        if found is None or found[0].state not in (OrderState.CONFIRMED,
                                                   OrderState.PARTIALLY_FILLED):
            raise VenueRejected("not_found", f"no open order {client_id}")
        current, record = found
        if current.order_type is not OrderType.LIMIT or record.get("isTrigger"):
            raise VenueRejected("unsupported", "only resting limit orders can be amended")
        coin = self._coin(current.market)
        decimals = self._sz_decimals[coin]
        whole = current.size if size is None else float(size)
        left = whole - current.filled_size
        left = round_size(left, decimals) if left > 0 else 0.0
        if left <= 0:
            raise VenueRejected("invalid_size", f"size {whole:g} leaves less than one lot of "
                                                f"{coin} to fill ({current.filled_size:g} filled)")
        limit = _rounded(current.price if price is None else float(price), decimals)
        tif = record.get("tif") if record.get("tif") in ("Gtc", "Alo") else "Gtc"
        cloid = record.get("cloid")
        wire = self._sdk_wire(coin, current.side is Side.LONG, left, limit,
                              {"limit": {"tif": tif}}, current.reduce_only,
                              str(cloid) if cloid else None)
        self._status(self._action({"type": "batchModify", "modifies": [
            {"oid": int(current.venue_order_id), "order": wire}]}), "modify")
        return self.state_after(client_id, "amended")

    def _market_of(self, client_id: str) -> str:
        order = self.order_status(client_id)
        if order is None:
            raise VenueRejected("not_found", f"no order {client_id}")
        return order.market

    # Reads

    def _client_id(self, cloid: str | None, oid: int) -> str:
        if not cloid:
            return f"oid-{oid}"
        with self._lock:
            return self._client_ids.get(cloid, cloid)

    def _order(self, data: dict[str, Any], status: str = "open") -> VenueOrder:
        try:
            oid = int(data["oid"])
            cid = self._client_id(data.get("cloid"), oid)
            size, left = float(data.get("origSz") or data["sz"]), float(data["sz"])
            filled = max(size - left, 0.0) if status != "filled" else size
            request = self._requests.get(cid)
            kind = _TYPES.get(str(data.get("orderType", "Limit")), OrderType.LIMIT)
            price = float(data["triggerPx"] if data.get("isTrigger") else data["limitPx"])
            if request is not None and request.order_type is OrderType.MARKET:
                kind, price = OrderType.MARKET, 0.0
            return VenueOrder(cid, to_market(str(data["coin"])), _SIDES[data["side"]], kind,
                              size, order_state(status, filled), price, filled, 0.0,
                              bool(data.get("reduceOnly", False)), str(oid),
                              float(data["timestamp"]) / 1000, "" if status in _OPEN
                              else status)
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"unparsable order record: {exc!r}") from None

    def open_orders(self) -> Sequence[VenueOrder]:
        return [self._order(o) for o in self._info(
            {"type": "frontendOpenOrders", "user": self.account_address, "dex": ""}, list)]

    def order_status(self, client_id: str) -> VenueOrder | None:
        found = self._status_record(client_id)
        return found[0] if found is not None else None

    def _status_record(self, client_id: str) -> tuple[VenueOrder, dict[str, Any]] | None:
        """The order placed with ``client_id`` and the venue's raw record of it."""
        ident: int | str = int(client_id[4:]) if client_id.startswith("oid-") else (
            self._cloid(client_id))
        data = self._info({"type": "orderStatus", "user": self.account_address, "oid": ident})
        if data.get("status") == "unknownOid":
            return None
        try:
            found = data["order"]
            record = dict(found["order"])
            order = self._order(record, str(found["status"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"unparsable order status: {exc!r}") from None
        self._watch(order)
        return order, record

    def _watch(self, order: VenueOrder) -> None:
        """Have the next poll report ``order``'s change, even if it closes before."""
        if order.state in (OrderState.CONFIRMED, OrderState.PARTIALLY_FILLED):
            with self._lock:
                self._seen.setdefault(int(order.venue_order_id),
                                      (order.size - order.filled_size, order.state.value))

    def _fill(self, data: dict[str, Any]) -> VenueFill:
        try:
            return VenueFill(
                str(data["tid"]), self._client_id(data.get("cloid"), int(data["oid"])),
                to_market(str(data["coin"])), _SIDES[data["side"]], float(data["px"]),
                float(data["sz"]), float(data["fee"]), float(data["time"]) / 1000,
                not bool(data["crossed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"unparsable fill: {exc!r}") from None

    def _fills_from(self, start_ms: int) -> list[dict[str, Any]]:
        """Raw fills at or after ``start_ms``, oldest first (every page)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self._info({"type": "userFillsByTime", "user": self.account_address,
                               "startTime": start_ms, "aggregateByTime": False}, list)
            out += page
            if len(page) < 2000:
                break
            start_ms = max(int(f["time"]) for f in page)
        unique = {(int(f["time"]), int(f["tid"])): f for f in out}
        return [unique[k] for k in sorted(unique)]

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        return [self._fill(f) for f in self._fills_from(max(int(ts * 1000), 0))]

    def _state(self) -> dict[str, Any]:
        return self._info({"type": "clearinghouseState", "user": self.account_address,
                           "dex": ""})  # type: ignore[no-any-return]

    def positions(self) -> Sequence[VenuePosition]:
        out = []
        try:
            for row in self._state()["assetPositions"]:
                held = row["position"]
                size = float(held["szi"])
                if size:
                    out.append(VenuePosition(to_market(str(held["coin"])), size,
                                             float(held["entryPx"]),
                                             float(held["positionValue"]) / abs(size)))
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"unparsable clearinghouseState: {exc!r}") from None
        return out

    def balances(self) -> Sequence[VenueBalance]:
        try:
            state = self._state()
            unrealized = sum(float(r["position"]["unrealizedPnl"])
                             for r in state["assetPositions"])
            value = float(state["marginSummary"]["accountValue"])
            return [VenueBalance(self.quote_asset, value - unrealized,
                                 float(state["withdrawable"]))]
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"unparsable clearinghouseState: {exc!r}") from None

    # Events (polled)

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        """Fills after ``cursor`` (``"time:tid"`` of the last one) and the open orders
        that changed since the last poll, polling every ``poll_s`` up to ``timeout_s``."""
        self._renew_dead_man()
        if not cursor:
            generation = self._stream.generation if self._stream is not None else 0
            latest = self._info({"type": "userFills", "user": self.account_address}, list)
            self._snapshot(self.open_orders())
            self._synced_generation = generation
            self._next_resync = time.monotonic() + self.resync_s
            last = max(((int(f["time"]), int(f["tid"])) for f in latest), default=(0, 0))
            return UserEvents(cursor=f"{last[0]}:{last[1]}")
        try:
            after = tuple(int(part) for part in cursor.split(":"))
        except ValueError:
            raise VenueUnavailable(f"bad events cursor {cursor!r}") from None
        deadline = time.monotonic() + timeout_s
        while True:
            streaming = self._streaming()
            if streaming:
                fresh, orders = self._from_stream(after, deadline - time.monotonic())
            elif time.monotonic() >= self._next_poll:
                fresh, orders = self._resync(after)
            else:
                fresh, orders = [], []
            now = time.monotonic()
            if fresh or orders or now >= deadline:
                break
            if not streaming:  # wait for the next poll (or for the socket)
                time.sleep(min(max(self._next_poll - now, 0.01), deadline - now))
        if fresh:
            last = fresh[-1]
            cursor = f"{int(last['time'])}:{int(last['tid'])}"
        return UserEvents(tuple(orders), tuple(self._fill(f) for f in fresh), cursor)

    def _streaming(self) -> bool:
        """True when the websocket is up and nothing may have been missed since the
        last REST resync."""
        stream = self._stream
        return (stream is not None and stream.connected and time.monotonic() < self._next_resync
                and stream.generation == self._synced_generation)

    def _resync(self, after: tuple[int, ...]) -> tuple[list[dict[str, Any]], list[VenueOrder]]:
        """Fills after ``after`` and changed orders, read over REST."""
        generation = self._stream.generation if self._stream is not None else 0
        fresh = [f for f in self._fills_from(after[0])
                 if (int(f["time"]), int(f["tid"])) > after]
        orders = self._changed_orders()
        self._synced_generation = generation
        self._next_resync = time.monotonic() + self.resync_s
        self._next_poll = time.monotonic() + self.poll_s
        return fresh, orders

    def _from_stream(self, after: tuple[int, ...], wait_s: float
                     ) -> tuple[list[dict[str, Any]], list[VenueOrder]]:
        """Fills after ``after`` and updated orders the websocket pushed (each order
        read again by ``orderStatus``: the push lacks its kind and trigger)."""
        assert self._stream is not None
        fills: dict[tuple[int, int], dict[str, Any]] = {}
        oids: list[int] = []
        try:
            for channel, data in self._stream.take(max(wait_s, 0.0)):
                if channel == "userFills":
                    for fill in data["fills"]:
                        key = (int(fill["time"]), int(fill["tid"]))
                        if key > after:
                            fills[key] = fill
                else:
                    oids += [int(u["order"]["oid"]) for u in data
                             if int(u["order"]["oid"]) not in oids]
        except (KeyError, TypeError, ValueError) as exc:
            self._synced_generation = -1  # resync next time
            raise VenueUnavailable(f"unparsable websocket message: {exc!r}") from None
        orders = [found for oid in oids if (found := self.order_status(f"oid-{oid}"))]
        return [fills[k] for k in sorted(fills)], orders

    def _snapshot(self, orders: Sequence[VenueOrder]) -> None:
        with self._lock:
            self._seen = {int(o.venue_order_id): (o.size - o.filled_size, o.state.value)
                          for o in orders}

    def _changed_orders(self) -> list[VenueOrder]:
        now = self.open_orders()
        with self._lock:
            seen = dict(self._seen)
        changed = [o for o in now if seen.get(int(o.venue_order_id)) != (
            o.size - o.filled_size, o.state.value)]
        gone = set(seen) - {int(o.venue_order_id) for o in now}
        for oid in sorted(gone):
            found = self.order_status(f"oid-{oid}")
            if found is not None:
                changed.append(found)
        with self._lock:  # keep what was watched meanwhile
            added = {k: v for k, v in self._seen.items() if k not in seen}
        self._snapshot(now)
        with self._lock:
            for oid, value in added.items():
                self._seen.setdefault(oid, value)
        return changed

    def _renew_dead_man(self) -> None:
        if self.dead_man_switch_s is None or time.monotonic() < self._dead_man_renew:
            return
        at = int((time.time() + self.dead_man_switch_s) * 1000)
        self._action({"type": "scheduleCancel", "time": at})
        self._dead_man_renew = time.monotonic() + self.dead_man_switch_s / 3


def _rounded(price: float, sz_decimals: int) -> float:
    """``price`` on the tick, or :class:`VenueRejected` for a price that cannot be."""
    try:
        return round_price(price, sz_decimals)
    except ValueError as exc:
        raise VenueRejected("invalid_price", str(exc)) from None


def _ambiguous(writes: bool, kind: str, message: str) -> NoReturn:
    if writes:
        raise AmbiguousOutcome(kind, message) from None
    raise VenueUnavailable(f"{kind}: {message}") from None
