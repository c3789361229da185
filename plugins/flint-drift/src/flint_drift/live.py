"""Drift's :class:`~flint.live.adapter.VenueAdapter`: perp orders through a Solana JSON-RPC.

- Orders are Drift ``place_perp_order`` instructions built by driftpy's DriftClient
  ("cached" subscription, explicit market indexes and oracles, no lookup tables,
  version-0 transactions) over the User account as read just before, each with a
  ``user_order_id`` (1-255) from :class:`~flint_drift.sendlog.SendLog` and a memo
  carrying flint's client order id, so the chain itself says which order is whose.
- Every signed transaction and its blockhash validity (``lastValidBlockHeight``) is
  journaled before it is sent: placing a client id again resends the same bytes (same
  signature, run at most once); an ambiguous send is resolved by the signature's status
  and the account's history, and :attr:`ambiguity_window_s` is the blockhash lifetime.
- Orders and fills come from Drift's events in the transactions that touched the User
  account (``getSignaturesForAddress`` / ``getTransaction``); positions and collateral
  from the User account; marks from the markets' oracles.
- Prices and sizes are converted to Drift's precisions (PRICE 1e6, BASE 1e9) and rounded
  to the market's tick and step before signing.
- The keypair is a :class:`~flint.live.credentials.Secret` (``FLINT_DRIFT_PRIVATE_KEY``:
  a keypair file path, JSON byte array or base58 string), used only to sign.
"""

import asyncio
import base64
import contextlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
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
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_drift import chain
from flint_drift.markets import MARKET_INDEX
from flint_drift.sendlog import SendLog, Sent

KEY_VAR = "FLINT_DRIFT_PRIVATE_KEY"
URL_VAR = "FLINT_DRIFT_RPC_URL"
DEVNET_URL = "https://api.devnet.solana.com"

_MEMO = re.compile(r'^Program log: Memo \(len \d+\): "(.*)"$')
_TYPES = {"Market": OrderType.MARKET, "Limit": OrderType.LIMIT}


@attrs.define
class _Market:
    index: int
    name: str
    tick: int
    step: int
    min_size: int
    oracle: str
    oracle_source: Any
    margin_initial: int


@attrs.define
class _Order:
    client_id: str
    order_id: int
    user_order_id: int
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float
    reduce_only: bool
    ts: float
    state: OrderState = OrderState.CONFIRMED
    filled: float = 0.0
    notional: float = 0.0
    fills: list[VenueFill] = attrs.Factory(list)

    def report(self) -> VenueOrder:
        avg = self.notional / self.filled if self.filled else 0.0
        return VenueOrder(self.client_id, self.market, self.side, self.order_type, self.size,
                          self.state, self.price, self.filled, avg, self.reduce_only,
                          str(self.order_id), self.ts, fills=tuple(self.fills))


class _Signer:
    """The keypair, kept out of every repr."""

    __slots__ = ("_keypair",)

    def __init__(self, secret: Secret) -> None:
        from driftpy.keypair import load_keypair

        try:
            self._keypair = load_keypair(secret.reveal())
        except Exception:
            raise CredentialError(f"{secret.name} is not a Solana keypair (a file path, a "
                                  f"JSON byte array or base58 text)") from None

    @property
    def pubkey(self) -> Any:
        return self._keypair.pubkey()

    @property
    def keypair(self) -> Any:
        """For driftpy's DriftClient (its wallet), nothing else."""
        return self._keypair

    def sign(self, message: Any) -> Any:
        from solders.transaction import VersionedTransaction

        return VersionedTransaction(message, [self._keypair])

    def __repr__(self) -> str:
        return f"_Signer({self.pubkey})"

    def __reduce__(self) -> Any:
        raise TypeError("the Drift keypair cannot be pickled")


class DriftAdapter(VenueAdapter):
    """One Drift sub-account through the JSON-RPC at ``rpc_url`` (default
    ``FLINT_DRIFT_RPC_URL``, else Solana devnet).

    ``env``: driftpy's ``devnet`` or ``mainnet`` configuration; ``markets``: flint
    market name -> perp market index (default: Drift's mainnet list;
    devnet numbers its markets differently); ``send_log``: the send journal's file
    (default ``~/.flint/drift/<authority>-<sub account>.sqlite``); ``post_only``: limit
    orders must rest (Drift refuses one that would cross); ``max_slippage``: market orders
    are limited to the oracle price moved this fraction against them;
    ``blockhash_lifetime_s``: how long a signed transaction may still land;
    ``history_days``: how far back the account's transactions are replayed when the
    adapter starts (older open orders are read from the User account).
    """

    venue = "drift"
    quote_asset = "USDC"

    def __init__(
        self,
        rpc_url: str | None = None,
        *,
        keypair: Secret | None = None,
        markets: Mapping[str, int] | None = None,
        env: str = "devnet",
        sub_account_id: int = 0,
        send_log: str | Path | None = None,
        timeout_s: float = 10.0,
        blockhash_lifetime_s: float = 90.0,
        post_only: bool = False,
        max_slippage: float = 0.01,
        history_days: float = 30.0,
    ) -> None:
        chain.require_driftpy()
        from driftpy import addresses

        self.rpc_url = rpc_url or os.environ.get(URL_VAR) or DEVNET_URL
        self._signer = _Signer(keypair if keypair is not None else load_secret(KEY_VAR))
        self.market_indexes = dict(markets if markets is not None else MARKET_INDEX)
        self.env = env
        self.sub_account_id = int(sub_account_id)
        self.timeout_s = float(timeout_s)
        self.ambiguity_window_s = float(blockhash_lifetime_s)
        self.post_only, self.max_slippage = bool(post_only), float(max_slippage)
        self.program = chain.program()
        self.program_id = chain.pubkey(chain.PROGRAM_ID)
        authority = self._signer.pubkey
        self.authority = str(authority)
        self.user_key = addresses.get_user_account_public_key(self.program_id, authority,
                                                              self.sub_account_id)
        self.stats_key = addresses.get_user_stats_account_public_key(self.program_id, authority)
        self.state_key = addresses.get_state_public_key(self.program_id)
        path = send_log or Path.home() / ".flint" / "drift" / (
            f"{self.authority}-{self.sub_account_id}.sqlite")
        self.send_log = SendLog(path)
        self._client: httpx.Client | None = None
        self._dc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._markets: dict[int, _Market] = {}
        self._lock = threading.RLock()
        self._seen: list[str] = []  # signatures replayed, oldest first
        self._orders: dict[str, _Order] = {}
        self._by_order_id: dict[int, _Order] = {}
        self._history: list[tuple[list[str], list[VenueFill]]] = []  # per replayed tx
        self._request_id = 0
        self._since = time.time() - history_days * 86_400.0  # oldest history replayed

    def __repr__(self) -> str:
        return f"DriftAdapter({self.rpc_url!r}, authority={self.authority})"

    # Connection

    def connect(self) -> None:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._dc is not None:
            with contextlib.suppress(VenueError):
                self._async(self._dc.connection.close())
            self._dc = None

    def _rpc(self, method: str, *params: Any, writes: bool = False) -> Any:
        """One JSON-RPC call; its result, or a classified error."""
        self.connect()
        assert self._client is not None
        self._request_id += 1
        body = {"jsonrpc": "2.0", "id": self._request_id, "method": method,
                "params": list(params)}
        try:
            reply = self._client.post(self.rpc_url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
            if writes:
                raise VenueRejected("unreachable", f"{method}: {type(exc).__name__}") from None
            raise VenueUnavailable(f"{method}: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            self._ambiguous(writes, "timeout", f"{method}: {type(exc).__name__}")
        except httpx.TransportError as exc:
            self._ambiguous(writes, "reset", f"{method}: {type(exc).__name__}")
        if reply.status_code == 429:
            self._ambiguous(writes, "rate_limited", f"{method}: HTTP 429")
        if reply.status_code >= 500:
            self._ambiguous(writes, "server_error", f"{method}: HTTP {reply.status_code}")
        try:
            data = reply.json()
            error, result = data.get("error"), data["result"] if "error" not in data else None
        except (ValueError, KeyError, AttributeError):
            self._ambiguous(writes, "unparsable", f"{method}: HTTP {reply.status_code} with "
                            f"no JSON-RPC reply")
        if error is not None:
            code, message = str(error.get("code")), str(error.get("message", ""))
            if writes:
                raise VenueRejected(code, message)
            raise VenueUnavailable(f"{method}: {code} {message}")
        return result

    @staticmethod
    def _ambiguous(writes: bool, kind: str, message: str) -> Any:
        if writes:
            raise AmbiguousOutcome(kind, message) from None
        raise VenueUnavailable(f"{kind}: {message}") from None

    def _read(self, method: str, *params: Any) -> Any:
        try:
            return self._rpc(method, *params)
        except VenueError as exc:
            raise VenueUnavailable(str(exc)) from None

    def _account(self, key: Any) -> Any:
        value = self._read("getAccountInfo", str(key), {"encoding": "base64"})["value"]
        if value is None:
            raise VenueUnavailable(f"account {key} does not exist")
        try:
            return chain.decode_account(base64.b64decode(value["data"][0]))
        except Exception as exc:
            raise VenueUnavailable(f"account {key}: {type(exc).__name__}") from None

    # Markets and precision

    def _market(self, name: str) -> _Market:
        if name not in self.market_indexes:
            raise VenueRejected("unknown_market", f"{name} is not one of "
                                f"{sorted(self.market_indexes)}")
        index = self.market_indexes[name]
        if index not in self._markets:
            from driftpy import addresses

            data = self._account(addresses.get_perp_market_public_key(self.program_id, index))
            self._markets[index] = _Market(
                index, name, int(data.amm.order_tick_size), int(data.amm.order_step_size),
                int(data.amm.min_order_size), str(data.amm.oracle), data.amm.oracle_source,
                int(data.margin_ratio_initial))
        return self._markets[index]

    def _market_name(self, index: int) -> str:
        for name, number in self.market_indexes.items():
            if number == index:
                return name
        return f"PERP-{index}"

    def oracle_price(self, market: str) -> float:
        """The market's oracle price (flint's mark for Drift)."""
        meta = self._market(market)
        if chain.variant(meta.oracle_source) != "Prelaunch":  # Pyth, Switchboard, ...: driftpy
            from driftpy.accounts.oracle import get_oracle_price_data_and_slot

            client = self._drift_client()
            found = self._async(get_oracle_price_data_and_slot(
                client.connection, chain.pubkey(meta.oracle), meta.oracle_source))
            return float(found.data.price) / chain.PRICE_PRECISION
        value = self._read("getAccountInfo", meta.oracle, {"encoding": "base64"})["value"]
        if value is None:
            raise VenueUnavailable(f"the oracle of {market} does not exist")
        try:
            raw = base64.b64decode(value["data"][0])
            return float(chain.decode_account(raw).price) / chain.PRICE_PRECISION
        except Exception as exc:
            raise VenueUnavailable(f"the oracle of {market}: {type(exc).__name__}") from None

    @staticmethod
    def _round(value: float, unit: int, precision: int, how: Any = round) -> int:
        steps = how(round(value * precision / unit, 6))  # 0.003 / 0.001 is 2.9999...
        return int(steps) * unit

    def _params(self, request: OrderRequest, user_order_id: int) -> Any:
        """driftpy OrderParams for ``request``; VenueRejected for what Drift would refuse."""
        from driftpy.types import (
            MarketType,
            OrderParams,
            OrderParamsBitFlag,
            OrderTriggerCondition,
            PositionDirection,
            PostOnlyParams,
        )
        from driftpy.types import OrderType as DriftType

        meta = self._market(request.market)
        base = self._round(request.size, meta.step, chain.BASE_PRECISION, math.floor)
        if base < max(meta.min_size, meta.step):
            raise VenueRejected("min_size", f"{request.size:g} is below {request.market}'s "
                                f"minimum order size")
        long = request.side is Side.LONG
        params = OrderParams(DriftType.Limit(), base, meta.index,
                             PositionDirection.Long() if long else PositionDirection.Short(),
                             MarketType.Perp(), user_order_id=user_order_id,
                             reduce_only=request.reduce_only)
        kind = request.order_type
        if kind is OrderType.MARKET:
            oracle = self.oracle_price(request.market)
            bound = oracle * (1 + self.max_slippage if long else 1 - self.max_slippage)
            params.order_type = DriftType.Market()
            params.price = self._round(bound, meta.tick, chain.PRICE_PRECISION,
                                       math.floor if long else math.ceil)
            params.bit_flags = OrderParamsBitFlag.IMMEDIATE_OR_CANCEL
        elif kind is OrderType.LIMIT:
            params.price = self._round(request.price, meta.tick, chain.PRICE_PRECISION)
            if self.post_only:
                params.post_only = PostOnlyParams.MustPostOnly()
            if request.time_in_force is TimeInForce.IOC:
                params.bit_flags = OrderParamsBitFlag.IMMEDIATE_OR_CANCEL
        else:  # a stop sells below / buys above; a take-profit the other way round
            params.order_type = DriftType.TriggerMarket()
            params.trigger_price = self._round(request.price, meta.tick, chain.PRICE_PRECISION)
            above = (kind is OrderType.STOP_LOSS) == long
            params.trigger_condition = (OrderTriggerCondition.Above() if above
                                        else OrderTriggerCondition.Below())
        if params.price < 0 or (params.trigger_price or 0) < 0:
            raise VenueRejected("bad_price", f"price {request.price:g} is negative")
        return params

    def check_order(self, request: OrderRequest) -> None:
        self._params(request, 1)

    # Transactions

    def _drift_client(self) -> Any:
        """driftpy's DriftClient on the RPC ("cached" subscription, this adapter's
        markets, their oracles, no lookup tables, version-0 transactions), subscribed
        on first use; it builds the instructions."""
        if self._dc is None:
            from driftpy.account_subscription_config import AccountSubscriptionConfig
            from driftpy.drift_client import DriftClient
            from driftpy.types import OracleInfo
            from solana.rpc.async_api import AsyncClient

            markets = [self._market(name) for name in self.market_indexes]
            client = DriftClient(
                AsyncClient(self.rpc_url, timeout=self.timeout_s), self._signer.keypair, self.env,
                account_subscription=AccountSubscriptionConfig("cached"),
                perp_market_indexes=[m.index for m in markets], spot_market_indexes=[0],
                oracle_infos=[OracleInfo(chain.pubkey(m.oracle), m.oracle_source)
                              for m in markets],
                sub_account_ids=[self.sub_account_id],
                active_sub_account_id=self.sub_account_id, market_lookup_tables=[],
                tx_version=0)
            self._async(client.subscribe())
            self._dc = client
        return self._dc

    def _async(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the adapter's event loop; VenueUnavailable if it fails."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name="flint-drift-rpc",
                             daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(self.timeout_s * 3)
        except Exception as exc:
            future.cancel()
            raise VenueUnavailable(f"driftpy: {type(exc).__name__}") from None

    def _instruction(self, name: str, arg: Any) -> Any:
        """The instruction ``name`` built by driftpy over the User account as it is now."""
        from driftpy.accounts.types import DataAndSlot

        client = self._drift_client()
        user = client.get_user(self.sub_account_id).account_subscriber
        user.update_data(DataAndSlot(0, self._user()))
        try:
            if name == "place_perp_order":
                return client.get_place_perp_order_ix(arg, self.sub_account_id)
            if name == "cancel_order_by_user_id":
                return client.get_cancel_order_by_user_id_ix(arg, self.sub_account_id)
            return client.get_cancel_order_ix(arg, self.sub_account_id)
        except Exception as exc:  # a market or oracle driftpy has no account of
            raise VenueRejected("unbuildable", f"{name}: {type(exc).__name__}: {exc}") from None

    def _sign(self, client_id: str, kind: str, user_order_id: int, ixs: list[Any]) -> Sent:
        from solders.hash import Hash
        from solders.instruction import Instruction
        from solders.message import MessageV0

        latest = self._read("getLatestBlockhash", {"commitment": "finalized"})["value"]
        memo = Instruction(chain.pubkey(chain.MEMO_PROGRAM_ID), client_id.encode(), [])
        message = MessageV0.try_compile(self._signer.pubkey, [memo, *ixs], [],
                                        Hash.from_string(latest["blockhash"]))
        tx = self._signer.sign(message)
        return Sent(client_id, kind, user_order_id, str(tx.signatures[0]), bytes(tx),
                    int(latest["lastValidBlockHeight"]))

    def _send(self, sent: Sent) -> None:
        """Send ``sent`` and wait (``timeout_s``) for it to land; VenueRejected if the
        chain refused it, AmbiguousOutcome if its fate is unknown."""
        self._rpc("sendTransaction", base64.b64encode(sent.tx).decode(),
                  {"encoding": "base64", "preflightCommitment": "confirmed"}, writes=True)
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                status = self._read("getSignatureStatuses", [sent.signature])["value"][0]
            except (VenueUnavailable, TypeError, IndexError) as exc:
                raise AmbiguousOutcome("unconfirmed", f"status of {sent.signature}: "
                                       f"{exc}") from None
            if status is not None:
                if status.get("err") is not None:
                    raise VenueRejected("transaction_failed", json.dumps(status["err"]))
                return
            if time.monotonic() > deadline:
                raise AmbiguousOutcome("timeout", f"{sent.signature} has not landed")
            time.sleep(0.05)

    def _user(self) -> Any:
        return self._account(self.user_key)

    # Replaying the account's history

    def _sync(self) -> None:
        """Replay the transactions that touched the User account since the last call."""
        with self._lock:
            new: list[str] = []
            before = None
            while True:
                options: dict[str, Any] = {"limit": 1000, "commitment": "confirmed"}
                if self._seen:
                    options["until"] = self._seen[-1]
                if before:
                    options["before"] = before
                page = self._read("getSignaturesForAddress", str(self.user_key), options)
                recent = [row for row in page
                          if (row.get("blockTime") or self._since) >= self._since]
                new += [row["signature"] for row in recent if row.get("err") is None]
                if len(page) < 1000 or len(recent) < len(page):
                    break
                before = page[-1]["signature"]
            for signature in reversed(new):
                tx = self._read("getTransaction", signature, {
                    "encoding": "base64", "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0})
                if tx is None:
                    break  # not visible yet: next time
                self._replay(signature, tx)
                self._seen.append(signature)

    def _replay(self, signature: str, tx: dict[str, Any]) -> None:
        logs = list((tx.get("meta") or {}).get("logMessages") or [])
        ts = float(tx.get("blockTime") or time.time())
        memo = next((m.group(1) for m in map(_MEMO.match, logs) if m), "")
        if not memo:
            sent = self.send_log.by_signature(signature)
            memo = sent.client_id if sent is not None else ""
        drift_logs = [line for line in logs if not line.startswith("Program log: Instruction")]
        changed: list[str] = []
        fills: list[VenueFill] = []
        try:
            events = chain.parse_events(drift_logs)
        except Exception as exc:
            raise VenueUnavailable(f"transaction {signature}: {type(exc).__name__}") from None
        for event in events:
            if event is None:
                continue
            if event.name == "OrderRecord" and event.data.user == self.user_key:
                order = self._new_order(event.data.order, memo, ts)
                changed.append(order.client_id)
            elif event.name == "OrderActionRecord":
                found = self._action(event.data, ts, signature, fills)
                if found is not None:
                    changed.append(found.client_id)
        self._history.append((list(dict.fromkeys(changed)), fills))

    def _new_order(self, data: Any, memo: str, ts: float) -> _Order:
        kind = chain.variant(data.order_type)
        if kind in _TYPES:
            order_type = _TYPES[kind]
        else:  # a trigger: stop or take-profit, by which way it waits
            above = chain.variant(data.trigger_condition) in ("Above", "TriggeredAbove")
            long = chain.variant(data.direction) == "Long"
            order_type = OrderType.STOP_LOSS if above == long else OrderType.TAKE_PROFIT
        price = data.trigger_price if kind.startswith("Trigger") else data.price
        order = _Order(
            memo or f"oid-{data.order_id}", int(data.order_id), int(data.user_order_id),
            self._market_name(data.market_index),
            Side.LONG if chain.variant(data.direction) == "Long" else Side.SHORT, order_type,
            data.base_asset_amount / chain.BASE_PRECISION, price / chain.PRICE_PRECISION,
            bool(data.reduce_only), ts)
        self._orders[order.client_id] = order
        self._by_order_id[order.order_id] = order
        return order

    def _action(self, data: Any, ts: float, signature: str,
                fills: list[VenueFill]) -> _Order | None:
        if data.taker == self.user_key:
            order = self._by_order_id.get(data.taker_order_id or -1)
            is_maker = False
        elif data.maker == self.user_key:
            order = self._by_order_id.get(data.maker_order_id or -1)
            is_maker = True
        else:
            return None
        if order is None:
            return None
        action = chain.variant(data.action)
        if action == "Fill":
            size = (data.base_asset_amount_filled or 0) / chain.BASE_PRECISION
            quote = (data.quote_asset_amount_filled or 0) / chain.QUOTE_PRECISION
            fee = ((data.maker_fee if is_maker else data.taker_fee) or 0) / chain.QUOTE_PRECISION
            fill = VenueFill(f"{order.market}-{data.fill_record_id}", order.client_id,
                             order.market, order.side, quote / size if size else 0.0, size,
                             fee, float(data.ts or ts), is_maker)
            order.filled += size
            order.notional += quote
            order.fills.append(fill)
            fills.append(fill)
            order.state = (OrderState.FILLED if order.filled >= order.size - 1e-12
                           else OrderState.PARTIALLY_FILLED)
        elif action == "Cancel":
            order.state = OrderState.CANCELLED
        elif action == "Expire":
            order.state = OrderState.EXPIRED
        return order

    # The interface

    def place(self, request: OrderRequest) -> VenueOrder:
        sent = self.send_log.find(request.client_id)
        if sent is None:
            try:
                self._sync()
                busy = {o.user_order_id for o in self._orders.values()
                        if o.state in (OrderState.CONFIRMED, OrderState.PARTIALLY_FILLED)}
                busy |= self._in_flight_ids()
                user_order_id = self.send_log.allocate(busy)
                params = self._params(request, user_order_id)
                ix = self._instruction("place_perp_order", params)
                sent = self._sign(request.client_id, "place", user_order_id, [ix])
            except VenueUnavailable as exc:  # nothing was sent
                raise VenueRejected("unavailable", str(exc)) from None
            except LookupError as exc:
                raise VenueRejected("no_user_order_id", str(exc)) from None
            self.send_log.record(sent)  # before the first byte goes out
        self._send(sent)
        return self._after_send(request.client_id)

    def _in_flight_ids(self) -> set[int]:
        """User order ids of places not yet seen on chain whose blockhash may still land."""
        height = int(self._read("getBlockHeight", {"commitment": "confirmed"}))
        seen = set(self._orders)
        return {s.user_order_id for s in self.send_log.places()
                if s.client_id not in seen and s.last_valid_height >= height}

    def _after_send(self, client_id: str) -> VenueOrder:
        try:
            self._sync()
        except VenueUnavailable as exc:
            raise AmbiguousOutcome("unconfirmed", f"landed, then {exc}") from None
        order = self._orders.get(client_id)
        if order is None:
            raise AmbiguousOutcome("unparsable", f"{client_id} landed but no order record")
        return order.report()

    def cancel(self, client_id: str) -> VenueOrder:
        try:
            self._sync()
        except VenueUnavailable as exc:
            raise VenueRejected("unavailable", str(exc)) from None
        order = self._orders.get(client_id)
        if order is None or order.state not in (OrderState.CONFIRMED,
                                                OrderState.PARTIALLY_FILLED):
            raise VenueRejected("not_open", f"{client_id} is not an open order")
        try:
            if order.user_order_id:
                ix = self._instruction("cancel_order_by_user_id", order.user_order_id)
            else:
                ix = self._instruction("cancel_order", order.order_id)
            sent = self._sign(client_id, "cancel", order.user_order_id, [ix])
        except VenueUnavailable as exc:
            raise VenueRejected("unavailable", str(exc)) from None
        self.send_log.record(sent)
        self._send(sent)
        return self._after_send(client_id)

    def _account_orders(self) -> None:
        """Take the User account's open orders placed before the replayed history
        (``history_days``): flint's client id is that of the latest place journaled with
        the order's user order id (ids are reused only after an order is terminal)."""
        with self._lock:
            for data in self._user().orders:
                if chain.variant(data.status) != "Open" or data.order_id in self._by_order_id:
                    continue
                sent = [s for s in self.send_log.places()
                        if data.user_order_id and s.user_order_id == data.user_order_id]
                order = self._new_order(data, sent[-1].client_id if sent else "", time.time())
                order.filled = data.base_asset_amount_filled / chain.BASE_PRECISION
                order.notional = data.quote_asset_amount_filled / chain.QUOTE_PRECISION
                if order.filled:
                    order.state = OrderState.PARTIALLY_FILLED

    def open_orders(self) -> Sequence[VenueOrder]:
        self._sync()
        self._account_orders()
        return [o.report() for o in self._orders.values()
                if o.state in (OrderState.CONFIRMED, OrderState.PARTIALLY_FILLED)]

    def order_status(self, client_id: str) -> VenueOrder | None:
        self._sync()
        if client_id not in self._orders:
            self._account_orders()
        order = self._orders.get(client_id)
        return order.report() if order is not None else None

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        self._sync()
        fills = [f for _, batch in self._history for f in batch if f.ts >= ts]
        return sorted(fills, key=lambda f: f.ts)

    def positions(self) -> Sequence[VenuePosition]:
        out = []
        for held in self._user().perp_positions:
            if held.base_asset_amount == 0:
                continue
            name = self._market_name(held.market_index)
            size = held.base_asset_amount / chain.BASE_PRECISION
            entry = abs(held.quote_entry_amount) / chain.QUOTE_PRECISION / abs(size)
            out.append(VenuePosition(name, size, entry, self.oracle_price(name)))
        return out

    def balances(self) -> Sequence[VenueBalance]:
        from driftpy.math.spot_balance import get_token_amount

        user = self._user()
        from driftpy import addresses

        spot = self._account(addresses.get_spot_market_public_key(self.program_id, 0))
        deposit = sum(get_token_amount(p.scaled_balance, spot, p.balance_type)
                      for p in user.spot_positions if p.market_index == 0 and p.scaled_balance)
        total = deposit / chain.QUOTE_PRECISION
        used = 0.0
        for held in user.perp_positions:
            if held.base_asset_amount == 0:
                continue
            total += (held.quote_asset_amount - held.quote_entry_amount) / chain.QUOTE_PRECISION
            name = self._market_name(held.market_index)
            meta = self._market(name)
            notional = abs(held.base_asset_amount) / chain.BASE_PRECISION * self.oracle_price(
                name)
            used += notional * meta.margin_initial / 10_000
        return [VenueBalance(self.quote_asset, total, max(total - used, 0.0))]

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        self._sync()
        if not cursor:
            return UserEvents(cursor=str(len(self._history)))
        start = int(cursor)
        deadline = time.monotonic() + timeout_s
        while len(self._history) <= start and time.monotonic() < deadline:
            time.sleep(min(0.2, timeout_s))
            self._sync()
        batch = self._history[start:]
        changed = list(dict.fromkeys(cid for cids, _ in batch for cid in cids))
        return UserEvents(tuple(self._orders[c].report() for c in changed),
                          tuple(f for _, fills in batch for f in fills),
                          str(len(self._history)))
