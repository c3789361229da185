"""A fake Solana JSON-RPC on 127.0.0.1 running a small model of Drift, for the live tests.

It speaks the JSON-RPC methods driftpy and :class:`~flint_drift.live.DriftAdapter` use,
with the reply shapes solders parses: ``getAccountInfo`` / ``getMultipleAccounts``
(State, PerpMarket, SpotMarket 0, PrelaunchOracle, User, UserStats, IDL-encoded),
``getLatestBlockhash`` (block heights advance with the clock, so blockhashes expire),
``getBlockHeight``, ``getSlot``, ``sendTransaction``, ``getSignatureStatuses``,
``getSignaturesForAddress`` and ``getTransaction`` (logs carry Drift's events).

``sendTransaction`` checks every signature (``verify_with_results``) and the blockhash,
decodes Drift's instructions with the program's coder and applies
``place_perp_order`` / ``cancel_order_by_user_id`` / ``cancel_order`` to the model
(a failing instruction fails the whole transaction, as preflight would report); a
transaction already seen (same signature) is not processed again. Market and
triggered orders fill at the oracle price; resting limits fill when the price
reaches them (:meth:`set_price`) or by hand (:meth:`fill`). Faults per request:
:meth:`inject`. :meth:`restart` stops and serves again on the same port, state kept.
"""

import base64
import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flint_drift import chain

#: Fault kinds (:meth:`FakeSolanaRPC.inject`).
FAULTS = ("delay", "reset", "5xx", "429", "garbage")
TAKER_FEE = 0.001


class RpcError(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class DriftError(Exception):
    """A Drift program error: the transaction fails."""


class FakeSolanaRPC:
    """Drift's accounts for one user (``authority``, a base58 public key) on a loopback
    JSON-RPC. ``prices``: oracle price per perp market index; ``collateral``: USDC."""

    def __init__(self, authority: str, *, prices: dict[int, float] | None = None,
                 collateral: float = 10_000.0, block_time_s: float = 0.1,
                 blockhash_lifetime: int = 40, tick: float = 0.0001, step: float = 0.001,
                 port: int = 0) -> None:
        chain.require_driftpy()
        from driftpy import addresses

        self.program = chain.program()
        self.program_id = chain.pubkey(chain.PROGRAM_ID)
        self.authority = chain.pubkey(authority)
        self.user_key = addresses.get_user_account_public_key(self.program_id, self.authority, 0)
        self.stats_key = addresses.get_user_stats_account_public_key(self.program_id,
                                                                     self.authority)
        self.prices = {i: float(p) for i, p in (prices or {0: 100.0}).items()}
        self.tick = round(tick * chain.PRICE_PRECISION)
        self.step = round(step * chain.BASE_PRECISION)
        self.block_time_s, self.lifetime = block_time_s, blockhash_lifetime
        self.deposit = int(collateral * chain.QUOTE_PRECISION)
        self.orders: dict[int, dict[str, Any]] = {}
        self.positions: dict[int, dict[str, int]] = {}
        self.txs: dict[str, dict[str, Any]] = {}  # signature -> landed transaction
        self.tx_order: list[str] = []  # signatures touching the user, oldest first
        self.sends: list[dict[str, Any]] = []  # every sendTransaction (processed or not)
        self.blockhashes: dict[str, int] = {}
        self.next_order_id = 1
        self.fill_id = 0
        self._t0 = time.monotonic()
        self._faults: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self.start()

    # Serving

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> "FakeSolanaRPC":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._serve(self)

        self._closing.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        """Stop serving (delayed replies are cut short)."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def restart(self) -> None:
        """Stop and serve again on the same port; the chain's state is kept."""
        self.close()
        self.start()

    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0,
               match: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """Fail the next request of ``op`` (``submit``: sendTransaction of a place;
        ``cancel``: of a cancel; ``read``: any other method) with ``kind`` in
        :data:`FAULTS`, ``before`` it is processed (a delay: processed late) or
        ``after`` (processed; the reply is lost, late or broken)."""
        if kind not in FAULTS:
            raise ValueError(f"fault kind must be one of {FAULTS}, got {kind!r}")
        with self._lock:
            self._faults.append({"op": op, "kind": kind, "when": when, "delay_s": delay_s,
                                 "match": match})

    def _take_fault(self, op: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self._faults:
                if fault["op"] == op:
                    self._faults.remove(fault)
                    return fault
        return None

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        try:
            request = json.loads(raw)
        except ValueError:
            self._reply(http, 400, b"bad json")
            return
        batch = isinstance(request, list)
        calls = request if batch else [request]
        for call in calls:
            if call.get("method") == "sendTransaction":
                self._record_send(call)
        fault = self._take_fault(self._op(calls[0]))
        if fault is not None and fault["when"] == "before":
            if fault["kind"] == "delay":
                if self._closing.wait(fault["delay_s"]):
                    return
            else:
                self._fail(http, fault["kind"])
                return
        replies = [self._answer(call) for call in calls]
        if fault is not None and fault["when"] == "after":
            if fault["kind"] == "delay":
                if self._closing.wait(fault["delay_s"]):
                    return
            else:
                self._fail(http, fault["kind"])
                return
        self._reply(http, 200, json.dumps(replies if batch else replies[0]).encode())

    def _fail(self, http: BaseHTTPRequestHandler, kind: str) -> None:
        if kind == "5xx":
            self._reply(http, 503, b"service unavailable")
        elif kind == "429":
            self._reply(http, 429, b"too many requests", {"Retry-After": "1"})
        elif kind == "garbage":
            self._reply(http, 200, b'{"jsonrpc":"2.0","res')
        else:  # reset: headers promise more than is sent, then the connection closes
            http.send_response(200)
            http.send_header("Content-Length", "1000")
            http.end_headers()
            http.wfile.write(b'{"jsonrpc"')
            http.close_connection = True

    @staticmethod
    def _reply(http: BaseHTTPRequestHandler, status: int, body: bytes,
               headers: dict[str, str] | None = None) -> None:
        try:
            http.send_response(status)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(body)
        except OSError:
            pass

    def _record_send(self, call: dict[str, Any]) -> None:
        """Log a sendTransaction as it arrives (whether it is processed or not)."""
        try:
            tx = self._decode_tx(call["params"][0])
            entry = {"signature": str(tx.signatures[0]), "memo": self._memo(tx),
                     "ixs": [name for name, _ in self._drift_ixs(tx)]}
        except Exception:
            entry = {"signature": "", "memo": "", "ixs": []}
        with self._lock:
            self.sends.append(entry)

    def _op(self, call: dict[str, Any]) -> str:
        if call.get("method") != "sendTransaction":
            return "read"
        try:
            names = {name for name, _ in self._drift_ixs(self._decode_tx(call["params"][0]))}
        except Exception:
            return "submit"
        return "cancel" if names & {"cancel_order", "cancel_order_by_user_id"} else "submit"

    def _answer(self, call: dict[str, Any]) -> dict[str, Any]:
        method, params = call.get("method", ""), call.get("params") or []
        handler = getattr(self, f"_rpc_{method}", None)
        try:
            if handler is None:
                raise RpcError(-32601, f"Method not found: {method}")
            with self._lock:
                result = handler(*params)
        except RpcError as exc:
            error = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": error}
        return {"jsonrpc": "2.0", "id": call.get("id"), "result": result}

    # Chain clock

    def block_height(self) -> int:
        return 1000 + int((time.monotonic() - self._t0) / self.block_time_s)

    def _context(self) -> dict[str, Any]:
        return {"slot": self.block_height() + 5000, "apiVersion": "2.0.0"}

    # Accounts

    def account(self, address: str) -> bytes | None:
        """The bytes of the account at ``address`` (base58), or None."""
        from driftpy import addresses
        from driftpy.types import OracleSource

        if address == str(self.user_key):
            return chain.encode_account(self._user_account())
        if address == str(self.stats_key):
            stats = chain.blank_account("UserStats")
            stats.data.authority = self.authority
            return chain.encode_account(stats)
        if address == str(addresses.get_state_public_key(self.program_id)):
            state = chain.blank_account("State")
            state.data.number_of_markets = max(self.prices) + 1
            state.data.number_of_spot_markets = 1
            return chain.encode_account(state)
        if address == str(addresses.get_spot_market_public_key(self.program_id, 0)):
            spot = chain.blank_account("SpotMarket")
            spot.data.pubkey, spot.data.decimals = chain.pubkey(address), 6
            spot.data.oracle_source = OracleSource.QuoteAsset()
            spot.data.cumulative_deposit_interest = 10**10
            spot.data.cumulative_borrow_interest = 10**10
            return chain.encode_account(spot)
        for index, price in self.prices.items():
            oracle_key = addresses.get_prelaunch_oracle_public_key(self.program_id, index)
            if address == str(oracle_key):
                oracle = chain.blank_account("PrelaunchOracle")
                oracle.data.price = round(price * chain.PRICE_PRECISION)
                oracle.data.max_price = oracle.data.price * 10
                oracle.data.perp_market_index = index
                return chain.encode_account(oracle)
            key = addresses.get_perp_market_public_key(self.program_id, index)
            if address == str(key):
                market = chain.blank_account("PerpMarket")
                market.data.pubkey, market.data.market_index = key, index
                market.data.amm.oracle = oracle_key
                market.data.amm.oracle_source = OracleSource.Prelaunch()
                market.data.amm.order_tick_size = self.tick
                market.data.amm.order_step_size = market.data.amm.min_order_size = self.step
                market.data.margin_ratio_initial = 1000
                market.data.margin_ratio_maintenance = 500
                return chain.encode_account(market)
        return None

    def _user_account(self) -> Any:
        from driftpy.types import (
            MarketType,
            OrderStatus,
            OrderTriggerCondition,
            OrderType,
            PositionDirection,
            SpotBalanceType,
        )

        user = chain.blank_account("User")
        data = user.data
        data.authority = self.authority
        data.next_order_id = self.next_order_id
        spot = data.spot_positions[0]
        spot.market_index, spot.balance_type = 0, SpotBalanceType.Deposit()
        spot.scaled_balance = self.deposit * 1000  # SPOT_BALANCE 1e9 / USDC 1e6
        for slot, (index, held) in enumerate(sorted(self.positions.items())):
            position = data.perp_positions[slot]
            position.market_index = index
            position.base_asset_amount = held["base"]
            position.quote_asset_amount = held["quote"]
            position.quote_entry_amount = position.quote_break_even_amount = held["entry"]
        resting = [o for o in self.orders.values() if o["status"] == "open"]
        for slot, order in enumerate(resting[:32]):
            target = data.orders[slot]
            target.status, target.market_type = OrderStatus.Open(), MarketType.Perp()
            target.order_type = getattr(OrderType, order["type"])()
            target.order_id, target.user_order_id = order["order_id"], order["uoid"]
            target.market_index, target.price = order["market"], order["price"]
            target.base_asset_amount = order["base"]
            target.base_asset_amount_filled = order["filled"]
            target.quote_asset_amount_filled = order["filled_quote"]
            target.direction = (PositionDirection.Long() if order["long"]
                                else PositionDirection.Short())
            target.reduce_only, target.post_only = order["reduce_only"], order["post_only"]
            target.trigger_price = order["trigger_price"]
            target.trigger_condition = getattr(OrderTriggerCondition, order["condition"])()
        data.has_open_order = bool(resting)
        data.open_orders = len(resting)
        return user

    def _account_value(self, address: str) -> dict[str, Any] | None:
        raw = self.account(address)
        if raw is None:
            return None
        return {"data": [base64.b64encode(raw).decode(), "base64"], "executable": False,
                "lamports": 1_000_000, "owner": chain.PROGRAM_ID, "rentEpoch": 0,
                "space": len(raw)}

    # JSON-RPC methods

    def _rpc_getAccountInfo(self, address: str, config: Any = None) -> dict[str, Any]:
        return {"context": self._context(), "value": self._account_value(address)}

    def _rpc_getMultipleAccounts(self, addresses: list[str],
                                 config: Any = None) -> dict[str, Any]:
        return {"context": self._context(),
                "value": [self._account_value(a) for a in addresses]}

    def _rpc_getLatestBlockhash(self, config: Any = None) -> dict[str, Any]:
        height = self.block_height()
        blockhash = self._blockhash(height)
        self.blockhashes[blockhash] = height + self.lifetime
        return {"context": self._context(),
                "value": {"blockhash": blockhash, "lastValidBlockHeight": height + self.lifetime}}

    @staticmethod
    def _blockhash(height: int) -> str:
        from solders.hash import Hash

        return str(Hash(hashlib.sha256(f"block-{height}".encode()).digest()))

    def _rpc_getBlockHeight(self, config: Any = None) -> int:
        return self.block_height()

    def _rpc_getSlot(self, config: Any = None) -> int:
        return int(self._context()["slot"])

    def _rpc_getSignatureStatuses(self, signatures: list[str],
                                  config: Any = None) -> dict[str, Any]:
        out: list[dict[str, Any] | None] = []
        for signature in signatures:
            tx = self.txs.get(signature)
            out.append(None if tx is None else {
                "slot": tx["slot"], "confirmations": None, "err": tx["err"],
                "status": {"Ok": None} if tx["err"] is None else {"Err": tx["err"]},
                "confirmationStatus": "finalized"})
        return {"context": self._context(), "value": out}

    def _rpc_getSignaturesForAddress(self, address: str,
                                     config: dict[str, Any] | None = None) -> list[Any]:
        config = config or {}
        newest_first = list(reversed(self.tx_order)) if address == str(self.user_key) else []
        if config.get("before") in newest_first:
            newest_first = newest_first[newest_first.index(config["before"]) + 1:]
        if config.get("until") in newest_first:
            newest_first = newest_first[:newest_first.index(config["until"])]
        return [{"signature": s, "slot": self.txs[s]["slot"], "err": self.txs[s]["err"],
                 "memo": None, "blockTime": self.txs[s]["block_time"],
                 "confirmationStatus": "finalized"}
                for s in newest_first[:int(config.get("limit", 1000))]]

    def _rpc_getTransaction(self, signature: str, config: Any = None) -> dict[str, Any] | None:
        tx = self.txs.get(signature)
        if tx is None:
            return None
        return {"slot": tx["slot"], "blockTime": tx["block_time"],
                "transaction": [tx["raw"], "base64"], "version": 0,
                "meta": {"err": tx["err"], "fee": 5000, "logMessages": tx["logs"],
                         "preBalances": [], "postBalances": [], "innerInstructions": [],
                         "preTokenBalances": [], "postTokenBalances": [], "rewards": [],
                         "loadedAddresses": {"writable": [], "readonly": []},
                         "computeUnitsConsumed": 0, "status": {"Ok": None}}}

    def _rpc_sendTransaction(self, encoded: str, config: Any = None) -> str:
        tx = self._decode_tx(encoded)
        signature = str(tx.signatures[0])
        if signature in self.txs:  # the same transaction again: processed once
            return signature
        if not all(tx.verify_with_results()):
            raise RpcError(-32003, "Transaction signature verification failure")
        valid_until = self.blockhashes.get(str(tx.message.recent_blockhash))
        if valid_until is None or self.block_height() > valid_until:
            raise RpcError(-32002, "Transaction simulation failed: Blockhash not found",
                           {"err": "BlockhashNotFound", "logs": []})
        if tx.message.account_keys[0] != self.authority:
            raise RpcError(-32002, "Transaction simulation failed: Error processing "
                           "Instruction 0: custom program error: 0x1773 (InvalidUserAuthority)")
        saved = copy.deepcopy((self.orders, self.positions, self.deposit, self.next_order_id,
                               self.fill_id))
        logs: list[str] = []
        try:
            for name, args in self._drift_ixs(tx):
                logs.append(f"Program {chain.PROGRAM_ID} invoke [1]")
                logs += self._apply(name, args, signature, self._memo(tx))
                logs.append(f"Program {chain.PROGRAM_ID} success")
        except DriftError as exc:
            (self.orders, self.positions, self.deposit, self.next_order_id,
             self.fill_id) = saved
            raise RpcError(-32002, f"Transaction simulation failed: Error processing "
                           f"Instruction 0: {exc}", {"err": str(exc), "logs": logs}) from None
        memo = self._memo(tx)
        if memo:
            logs = [f"Program {chain.MEMO_PROGRAM_ID} invoke [1]",
                    f'Program log: Memo (len {len(memo)}): "{memo}"',
                    f"Program {chain.MEMO_PROGRAM_ID} success", *logs]
        self._land(signature, logs, encoded)
        return signature

    def _land(self, signature: str, logs: list[str], raw: str = "") -> None:
        self.txs[signature] = {"slot": self._context()["slot"], "block_time": int(time.time()),
                               "err": None, "logs": logs, "raw": raw}
        self.tx_order.append(signature)

    @staticmethod
    def _decode_tx(encoded: str) -> Any:
        from solders.transaction import VersionedTransaction

        try:
            return VersionedTransaction.from_bytes(base64.b64decode(encoded))
        except Exception as exc:
            raise RpcError(-32602, f"invalid transaction: {type(exc).__name__}") from None

    def _drift_ixs(self, tx: Any) -> list[tuple[str, Any]]:
        keys = tx.message.account_keys
        return [(parsed.name, parsed.data) for parsed in (
            self.program.coder.instruction.parse(bytes(ix.data))
            for ix in tx.message.instructions if keys[ix.program_id_index] == self.program_id)]

    @staticmethod
    def _memo(tx: Any) -> str:
        keys = tx.message.account_keys
        for ix in tx.message.instructions:
            if str(keys[ix.program_id_index]) == chain.MEMO_PROGRAM_ID:
                return bytes(ix.data).decode(errors="replace")
        return ""

    # Drift's instructions on the model

    def _apply(self, name: str, args: Any, signature: str, memo: str) -> list[str]:
        if name == "place_perp_order":
            return self._place(args.params, signature, memo)
        if name == "cancel_order_by_user_id":
            found = [o for o in self.orders.values()
                     if o["status"] == "open" and o["uoid"] == args.user_order_id]
            if not found:
                raise DriftError("custom program error: 0x17c8 (UserOrderIdNotFound)")
            return self._cancel(found[0])
        if name == "cancel_order":
            order = self.orders.get(args.order_id or -1)
            if order is None or order["status"] != "open":
                raise DriftError("custom program error: 0x1795 (OrderDoesNotExist)")
            return self._cancel(order)
        raise DriftError(f"instruction {name} is not supported by the fake")

    def _place(self, params: Any, signature: str, memo: str) -> list[str]:
        kind = chain.variant(params.order_type)
        long = chain.variant(params.direction) == "Long"
        index = params.market_index
        if index not in self.prices:
            raise DriftError("custom program error: 0x17a6 (MarketIndexNotFound)")
        if params.base_asset_amount < self.step or params.base_asset_amount % self.step:
            raise DriftError("custom program error: 0x1787 (InvalidOrderStepSize)")
        if params.price % self.tick or (params.trigger_price or 0) % self.tick:
            raise DriftError("custom program error: 0x1786 (InvalidOrderTickSize)")
        if params.user_order_id and any(
            o["status"] == "open" and o["uoid"] == params.user_order_id
            for o in self.orders.values()
        ):
            raise DriftError("custom program error: 0x17c7 (UserOrderIdAlreadyInUse)")
        base = params.base_asset_amount
        if params.reduce_only:
            held = self.positions.get(index, {}).get("base", 0)
            if held == 0 or (held > 0) == long:
                raise DriftError("custom program error: 0x1799 (InvalidOrderNotRiskReducing)")
        oracle = self._oracle(index)
        post_only = chain.variant(params.post_only) not in ("NONE", "None")
        if post_only and kind == "Limit" and (
            (long and params.price >= oracle) or (not long and params.price <= oracle)
        ):
            raise DriftError("custom program error: 0x17b7 (PlacePostOnlyLimitFailure)")
        order = {
            "order_id": self.next_order_id, "uoid": params.user_order_id, "cid": memo,
            "market": index, "long": long, "type": kind, "base": base,
            "price": params.price, "trigger_price": params.trigger_price or 0,
            "condition": chain.variant(params.trigger_condition),
            "reduce_only": params.reduce_only, "post_only": post_only, "filled": 0,
            "filled_quote": 0, "status": "open", "signature": signature,
        }
        self.next_order_id += 1
        self.orders[order["order_id"]] = order
        logs = [self._order_record(order)]
        if kind == "Market":
            logs += self._fill(order, base, oracle)
            if order["status"] == "open":  # IOC: the rest is cancelled
                logs += self._cancel(order)
        elif (kind == "Limit" and self._crosses(order, oracle)) or (
            kind.startswith("Trigger") and self._triggered(order, oracle)
        ):
            logs += self._fill(order, base, oracle)
        return logs

    def _oracle(self, index: int) -> int:
        return round(self.prices[index] * chain.PRICE_PRECISION)

    @staticmethod
    def _crosses(order: dict[str, Any], oracle: int) -> bool:
        return oracle <= order["price"] if order["long"] else oracle >= order["price"]

    @staticmethod
    def _triggered(order: dict[str, Any], oracle: int) -> bool:
        above = order["condition"] == "Above"
        return oracle >= order["trigger_price"] if above else oracle <= order["trigger_price"]

    def _cancel(self, order: dict[str, Any]) -> list[str]:
        order["status"] = "canceled"
        return [self._action(order, "Cancel")]

    def _fill(self, order: dict[str, Any], base: int, price: int) -> list[str]:
        base = min(base, order["base"] - order["filled"])
        held = self.positions.setdefault(order["market"], {"base": 0, "quote": 0, "entry": 0})
        if order["reduce_only"]:
            base = min(base, abs(held["base"]))
        if base <= 0:
            return self._cancel(order)
        quote = base * price // chain.BASE_PRECISION
        signed = base if order["long"] else -base
        fee = int(quote * TAKER_FEE)
        if held["base"] == 0 or (held["base"] > 0) == order["long"]:
            held["entry"] -= quote if order["long"] else -quote
        else:
            closing = min(base, abs(held["base"]))
            held["entry"] -= held["entry"] * closing // abs(held["base"])
            if base > closing:
                rest = (base - closing) * price // chain.BASE_PRECISION
                held["entry"] = -rest if order["long"] else rest
        held["base"] += signed
        held["quote"] += (-quote if order["long"] else quote) - fee
        if held["base"] == 0:
            self.deposit += held["quote"]  # realised PnL settles into the deposit
            held["quote"] = held["entry"] = 0
        order["filled"] += base
        order["filled_quote"] += quote
        if order["filled"] >= order["base"]:
            order["status"] = "filled"
        self.fill_id += 1
        return [self._action(order, "Fill", base, quote, fee, price)]

    def _order_record(self, order: dict[str, Any]) -> str:
        record = chain.blank_event("OrderRecord")
        record.ts, record.user = int(time.time()), self.user_key
        source = self._user_with([order])
        record.order = source.data.orders[0]
        return chain.event_log("OrderRecord", record)

    def _user_with(self, orders: list[dict[str, Any]]) -> Any:
        saved = self.orders
        try:
            self.orders = {o["order_id"]: {**o, "status": "open"} for o in orders}
            return self._user_account()
        finally:
            self.orders = saved

    def _action(self, order: dict[str, Any], action: str, base: int = 0, quote: int = 0,
                fee: int = 0, price: int = 0) -> str:
        from driftpy.types import MarketType, OrderAction, PositionDirection

        record = chain.blank_event("OrderActionRecord")
        record.ts = int(time.time())
        record.action = getattr(OrderAction, action.upper())()
        record.market_index, record.market_type = order["market"], MarketType.Perp()
        record.fill_record_id = self.fill_id if action == "Fill" else 0
        record.base_asset_amount_filled = base or None
        record.quote_asset_amount_filled = quote or None
        record.taker_fee = fee or None
        record.taker, record.taker_order_id = self.user_key, order["order_id"]
        record.taker_order_direction = (PositionDirection.Long() if order["long"]
                                        else PositionDirection.Short())
        record.taker_order_base_asset_amount = order["base"]
        record.taker_order_cumulative_base_asset_amount_filled = order["filled"]
        record.taker_order_cumulative_quote_asset_amount_filled = order["filled_quote"]
        record.oracle_price = price or self._oracle(order["market"])
        return chain.event_log("OrderActionRecord", record)

    # What a test does to the venue

    def _keeper_tx(self, logs: list[str]) -> None:
        """Land a transaction (a keeper's) that touched the user's account."""
        if logs:
            signature = base64.b32encode(hashlib.sha256(
                f"keeper-{len(self.tx_order)}-{time.time_ns()}".encode()).digest()).decode()
            self._land(signature.rstrip("="), [f"Program {chain.PROGRAM_ID} invoke [1]", *logs,
                                               f"Program {chain.PROGRAM_ID} success"])

    def set_price(self, index: int, price: float) -> None:
        """Move the oracle; resting limits and triggers it reaches fill at it."""
        with self._lock:
            self.prices[index] = float(price)
            oracle, logs = self._oracle(index), []
            for order in list(self.orders.values()):
                if order["status"] != "open" or order["market"] != index:
                    continue
                if (order["type"] == "Limit" and self._crosses(order, oracle)) or (
                    order["type"].startswith("Trigger") and self._triggered(order, oracle)
                ):
                    logs += self._fill(order, order["base"], oracle)
            self._keeper_tx(logs)

    def walk(self, index: int, prices: Iterable[float]) -> None:
        """Move the oracle through ``prices`` (e.g. the closes of real candles), one
        :meth:`set_price` each."""
        for price in prices:
            self.set_price(index, price)

    def fill(self, order_id: int, base: int | None = None) -> None:
        """Fill (part of) a resting order at its limit price."""
        with self._lock:
            order = self.orders[order_id]
            size = order["base"] - order["filled"] if base is None else base
            self._keeper_tx(self._fill(order, size, order["price"] or self._oracle(
                order["market"])))

    def place_external(self, index: int, long: bool, base: int, price: int) -> int:
        """Rest a limit order placed outside flint (no memo, user order id 0)."""
        from driftpy.types import OrderParams, OrderType, PositionDirection

        with self._lock:
            params = OrderParams(OrderType.Limit(), base, index,
                                 PositionDirection.Long() if long else PositionDirection.Short(),
                                 None, price=price)
            order_id = self.next_order_id
            self._keeper_tx(self._place(params, "", ""))
            return order_id

    def set_position(self, index: int, base: int, entry_price: float) -> None:
        """Change a position without a fill."""
        with self._lock:
            entry = -int(base * entry_price * chain.PRICE_PRECISION) // chain.BASE_PRECISION
            self.positions[index] = {"base": base, "quote": entry, "entry": entry}

    def close_by_hand(self, index: int) -> None:
        """Close the position with a market order placed outside flint."""
        from driftpy.types import OrderParams, OrderType, PositionDirection

        with self._lock:
            held = self.positions.get(index, {}).get("base", 0)
            if held:
                direction = PositionDirection.Short() if held > 0 else PositionDirection.Long()
                params = OrderParams(OrderType.Market(), abs(held), index, direction, None,
                                     reduce_only=True)
                self._keeper_tx(self._place(params, "", ""))
