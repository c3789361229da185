"""The trading side of the fake Hyperliquid: one account, its orders, fills and positions.

:class:`FakeExchange` answers ``POST /exchange`` L1 actions (``order``, ``cancel``,
``cancelByCloid``, ``batchModify``, ``scheduleCancel``) and the account's ``POST /info`` types
(``clearinghouseState``, ``openOrders``, ``frontendOpenOrders``, ``userFills``,
``userFillsByTime``, ``orderStatus``) in the venue's wire format. It checks what the
venue checks: the EIP-712 signer, recovered with the SDK's own
``recover_agent_or_user_from_l1_action`` and approved for the account; the nonce (not
used before, above the signer's 100 highest, within 2 days back and 1 day ahead);
``expiresAfter``; tick, lot and minimum-value rules; reduce-only. Crossing orders fill
against a book around the mark (more than the book holds fills partly): the ``shape``
of a real one (:func:`book_shape` of an ``l2Book`` answer, such as the fixture in
flint's test data) moved to the mark, else ``levels`` levels of ``level_size`` 1 bp
apart; resting orders fill when the mark reaches them or by :meth:`FakeExchange.fill`;
triggers fire when the mark crosses them. ``batchModify`` changes a resting limit order
in place (its oid and cloid kept): the new ``s`` is what is left to fill (``origSz``
becomes the filled part plus it), a new price that crosses trades at once (an ``Alo``
order is refused instead); a filled, cancelled or unknown order is refused. Funding is
settled when the test says so (:meth:`FakeExchange.settle_funding`).
"""

import bisect
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flint_hyperliquid.rules import (
    MIN_NOTIONAL,
    price_error,
    round_price,
    round_size,
    size_error,
)

#: How many nonces per signer the venue remembers, and the window around its clock.
NONCES_KEPT = 100
NONCE_PAST_MS, NONCE_FUTURE_MS = 2 * 86_400_000, 86_400_000
#: Taker fee rate (makers pay none here).
TAKER_FEE = 0.00035
_TYPE_NAMES = {("sl", True): "Stop Market", ("sl", False): "Stop Limit",
               ("tp", True): "Take Profit Market", ("tp", False): "Take Profit Limit"}


#: A book's shape: (bids, asks), each level (distance from the mid as a fraction of it,
#: value in USD), best first.
BookShape = tuple[list[tuple[float, float]], list[tuple[float, float]]]


def book_shape(path: str | Path) -> BookShape:
    """The shape of the book in an ``l2Book`` answer saved at ``path``."""
    levels = json.loads(Path(path).read_text(encoding="utf-8"))["levels"]
    bids, asks = ([(float(lv["px"]), float(lv["sz"])) for lv in side] for side in levels)
    mid = (bids[0][0] + asks[0][0]) / 2
    return ([(abs(px - mid) / mid, px * sz) for px, sz in bids],
            [(abs(px - mid) / mid, px * sz) for px, sz in asks])


class Refused(Exception):
    """The whole action is refused: ``{"status": "err", "response": message}``."""


def _num(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


class FakeExchange:
    """One account at a fake Hyperliquid (see the module doc); thread-safe."""

    def __init__(self, coins: dict[str, int], marks: dict[str, float], *, user: str,
                 agents: tuple[str, ...] = (), cash: float = 10_000.0,
                 levels: int = 10, level_size: float = 50.0, shape: BookShape | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.coins = dict(coins)  # coin -> szDecimals, in asset index order
        self.assets = list(self.coins)
        self.marks = {c: float(p) for c, p in marks.items()}
        self.user = user.lower()
        self.agents = {a.lower() for a in agents} | {self.user}
        self.cash = float(cash)
        self.levels, self.level_size, self.shape = levels, float(level_size), shape
        self.clock = clock
        self.lock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.by_cloid: dict[str, int] = {}
        self.fills: list[dict[str, Any]] = []
        self.positions: dict[str, list[float]] = {}  # coin -> [signed size, entry]
        self.nonces: dict[str, list[int]] = {}
        self.dead_man_ms: int | None = None
        #: Every order in an ``order`` action received (processed or not): its cloid or "".
        self.submitted: list[str] = []
        #: Called with ``(channel, data)`` for each ``orderUpdates`` / ``userFills`` push.
        self.listener: Callable[[str, Any], None] | None = None
        self._oids = itertools.count(1000)
        self._tids = itertools.count(1)

    # Test controls

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def set_mark(self, coin: str, price: float) -> None:
        """Move the mark; resting orders and triggers it reaches execute."""
        with self.lock:
            self.marks[coin] = float(price)
            self._match(coin)

    def fill(self, oid: int, size: float | None = None) -> None:
        """Fill (part of) resting order ``oid`` at its limit price, as a maker."""
        with self.lock:
            order = self.orders[oid]
            if order["status"] != "open":
                raise ValueError(f"order {oid} is {order['status']}")
            self._execute(order, order["left"] if size is None else float(size),
                          order["limitPx"], crossed=False)

    def place_by_hand(self, coin: str, is_buy: bool, size: float, price: float | None = None,
                      cloid: str | None = None) -> int:
        """An order from the venue's website: a Gtc limit at ``price``, or a market
        order when ``price`` is None; its oid."""
        with self.lock:
            mark = self.marks[coin]
            px = price if price is not None else mark * (1.1 if is_buy else 0.9)
            status = self._order(coin, is_buy, size, px, False,
                                 {"limit": {"tif": "Gtc" if price is not None else "Ioc"}},
                                 cloid)
            return int(next(iter(status.values()))["oid"])

    def set_position(self, coin: str, size: float, entry: float) -> None:
        """Change a position without a fill."""
        with self.lock:
            self.positions[coin] = [float(size), float(entry)]

    def settle_funding(self, coin: str, rate: float, price: float) -> float:
        """A funding settlement of ``coin``: the position pays ``rate x size x price``
        (longs pay a positive rate); the amount."""
        with self.lock:
            paid = rate * self.positions.get(coin, [0.0, 0.0])[0] * price
            self.cash -= paid
            return paid

    def open_orders(self) -> list[dict[str, Any]]:
        """The open orders (copies)."""
        with self.lock:
            return [dict(o) for o in self._open()]

    def position(self, coin: str) -> float:
        with self.lock:
            return self.positions.get(coin, [0.0, 0.0])[0]

    # POST /exchange

    def received(self, body: Any) -> None:
        """Note the orders of an ``order`` action that reached the venue (before it
        is run, or even if it never is)."""
        action = body.get("action") if isinstance(body, dict) else None
        if isinstance(action, dict) and action.get("type") == "order":
            with self.lock:
                self.submitted += [str(o.get("c", "")) for o in action.get("orders", [])]

    def exchange(self, body: dict[str, Any], signer: str) -> dict[str, Any]:
        """Run a signed action whose signature recovered to ``signer``."""
        with self.lock:
            action = body.get("action") or {}
            kind = action.get("type")
            try:
                self._expire_dead_man()
                self._check(body, signer)
                if kind == "order":
                    statuses = [self._wire_order(o) for o in action["orders"]]
                    return _ok("order", {"statuses": statuses})
                if kind in ("cancel", "cancelByCloid"):
                    statuses = [self._cancel_one(c, kind) for c in action["cancels"]]
                    return _ok("cancel", {"statuses": statuses})
                if kind == "batchModify":
                    statuses = [self._modify_one(m) for m in action["modifies"]]
                    return _ok("order", {"statuses": statuses})
                if kind == "scheduleCancel":
                    self._schedule(action.get("time"))
                    return {"status": "ok", "response": {"type": "default"}}
                raise Refused(f"Unsupported action type {kind!r}")
            except Refused as refused:
                return {"status": "err", "response": str(refused)}
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                return {"status": "err", "response": f"Failed to deserialize the action: {exc}"}

    def _check(self, body: dict[str, Any], signer: str) -> None:
        signer = signer.lower()
        if signer not in self.agents:
            raise Refused(f"User or API Wallet {signer} does not exist.")
        now = self.now_ms()
        expires = body.get("expiresAfter")
        if expires is not None and now > int(expires):
            raise Refused(f"Action expired at {expires}, now {now}")
        nonce = int(body["nonce"])
        seen = self.nonces.setdefault(signer, [])
        if not now - NONCE_PAST_MS < nonce < now + NONCE_FUTURE_MS:
            raise Refused(f"Invalid nonce: {nonce} is outside the allowed time window")
        if nonce in seen[bisect.bisect_left(seen, nonce):bisect.bisect_left(seen, nonce) + 1]:
            raise Refused(f"Invalid nonce: {nonce} was already used")
        if len(seen) >= NONCES_KEPT and nonce < seen[0]:
            raise Refused(f"Invalid nonce: {nonce} is lower than every kept nonce")
        bisect.insort(seen, nonce)
        del seen[:-NONCES_KEPT]

    def _schedule(self, at: Any) -> None:
        if at is None:
            self.dead_man_ms = None
            return
        if int(at) < self.now_ms() + 5000:
            raise Refused("Scheduled cancel time too early, must be at least 5 seconds from now.")
        self.dead_man_ms = int(at)

    def _expire_dead_man(self) -> None:
        if self.dead_man_ms is not None and self.now_ms() >= self.dead_man_ms:
            self.dead_man_ms = None
            for order in self.orders.values():
                if order["status"] == "open":
                    self._close(order, "scheduledCancel")

    def expire_dead_man(self) -> None:
        """Fire the dead-man switch if its time has come (checked on every action too)."""
        with self.lock:
            self._expire_dead_man()

    def _wire_order(self, wire: dict[str, Any]) -> dict[str, Any]:
        asset = int(wire["a"])
        if not 0 <= asset < len(self.assets):
            return {"error": f"Invalid asset {asset}"}
        coin = self.assets[asset]
        decimals = self.coins[coin]
        problem = price_error(wire["p"], decimals) or size_error(wire["s"], decimals)
        trigger = wire["t"].get("trigger")
        if trigger is not None:
            problem = problem or price_error(trigger["triggerPx"], decimals)
        if problem:
            return {"error": f"{problem} asset={asset}"}
        cloid = wire.get("c")
        if cloid is not None and cloid in self.by_cloid:
            return {"error": f"Duplicate cloid {cloid}. asset={asset}"}
        size, price = float(wire["s"]), float(wire["p"])
        if not wire["r"] and size * price < MIN_NOTIONAL:
            return {"error": f"Order must have minimum value of ${MIN_NOTIONAL:g}. asset={asset}"}
        return self._order(coin, bool(wire["b"]), size, price, bool(wire["r"]), wire["t"], cloid)

    def _order(self, coin: str, is_buy: bool, size: float, price: float, reduce_only: bool,
               kind: dict[str, Any], cloid: str | None) -> dict[str, Any]:
        asset = self.assets.index(coin)
        if reduce_only and self._reducible(coin, is_buy) <= 0:
            return {"error": f"Reduce only order would increase position. asset={asset}"}
        trigger, tif = kind.get("trigger"), kind.get("limit", {}).get("tif", "Gtc")
        order = {
            "coin": coin, "side": "B" if is_buy else "A", "limitPx": price, "origSz": size,
            "left": size, "filled": 0.0, "notional": 0.0, "oid": next(self._oids),
            "cloid": cloid, "reduceOnly": reduce_only, "tif": None if trigger else tif,
            "trigger": None if trigger is None else {
                "triggerPx": float(trigger["triggerPx"]), "isMarket": bool(trigger["isMarket"]),
                "tpsl": trigger["tpsl"]},
            "status": "open", "timestamp": self.now_ms(), "statusTimestamp": self.now_ms(),
        }
        if trigger is None and tif == "Alo" and self._crosses(order, self.marks[coin]):
            return {"error": f"Post only order would have immediately matched, bbo was "
                             f"{_num(self.marks[coin])}. asset={asset}"}
        if trigger is None and tif == "Ioc" and not self._crosses(order, self.marks[coin]):
            return {"error": f"Order could not immediately match against any resting orders. "
                             f"asset={asset}"}
        self.orders[order["oid"]] = order
        if cloid is not None:
            self.by_cloid[cloid] = order["oid"]
        self._updated(order)
        if trigger is None and self._crosses(order, self.marks[coin]):
            self._take(order)
        if order["status"] == "open" and tif == "Ioc":
            self._close(order, "canceled")
        if order["status"] == "open":
            return {"resting": {"oid": order["oid"]}}
        if order["filled"] > 0:
            return {"filled": {"totalSz": _num(order["filled"]),
                               "avgPx": _num(order["notional"] / order["filled"]),
                               "oid": order["oid"]}}
        return {"error": f"Order was canceled: {order['status']}. asset={asset}"}

    def _book(self, coin: str, is_buy: bool) -> list[tuple[float, float]]:
        """The side a buy (asks) or a sell (bids) takes from: (price, size) levels."""
        mark, sign, decimals = self.marks[coin], 1.0 if is_buy else -1.0, self.coins[coin]
        if self.shape is None:
            return [(round_price(mark * (1 + sign * 1e-4 * (i + 1)), decimals),
                     self.level_size) for i in range(self.levels)]
        out = []
        for away, value in self.shape[1 if is_buy else 0]:
            px = round_price(mark * (1 + sign * away), decimals)
            size = round_size(value / px, decimals)
            if size > 0:
                out.append((px, size))
        return out

    def l2_levels(self, coin: str) -> list[list[dict[str, Any]]]:
        """``l2Book`` levels (bids, asks) of the book orders trade against."""
        with self.lock:
            return [[{"px": f"{px:.6g}", "sz": _num(sz), "n": 1} for px, sz in
                     self._book(coin, is_buy)] for is_buy in (False, True)]

    def _take(self, order: dict[str, Any]) -> None:
        buy = order["side"] == "B"
        for px, depth in self._book(order["coin"], buy):
            if order["status"] != "open" or (px > order["limitPx"] if buy
                                             else px < order["limitPx"]):
                break
            self._execute(order, min(depth, order["left"]), px, crossed=True)

    def _crosses(self, order: dict[str, Any], mark: float) -> bool:
        buy = order["side"] == "B"
        if order["trigger"] is None:
            return mark <= order["limitPx"] if buy else mark >= order["limitPx"]
        above = order["trigger"]["tpsl"] == ("sl" if buy else "tp")
        return mark >= order["trigger"]["triggerPx"] if above else (
            mark <= order["trigger"]["triggerPx"])

    def _match(self, coin: str) -> None:
        mark = self.marks[coin]
        for order in list(self.orders.values()):
            if order["coin"] != coin or order["status"] != "open" or not self._crosses(
                order, mark
            ):
                continue
            if order["trigger"] is None:
                self._execute(order, order["left"], order["limitPx"], crossed=False)
            elif order["trigger"]["isMarket"]:
                self._execute(order, order["left"], mark, crossed=True)
            else:  # the trigger places its limit order
                order["trigger"] = None
                order["status"] = "open"
                if self._crosses(order, mark):
                    self._execute(order, order["left"], order["limitPx"], crossed=True)

    def _reducible(self, coin: str, is_buy: bool) -> float:
        held = self.positions.get(coin, [0.0, 0.0])[0]
        return -held if is_buy and held < 0 else (held if not is_buy and held > 0 else 0.0)

    def _execute(self, order: dict[str, Any], size: float, px: float, crossed: bool) -> None:
        coin, buy = order["coin"], order["side"] == "B"
        size = min(size, order["left"])
        if order["reduceOnly"]:
            size = min(size, self._reducible(coin, buy))
            if size <= 0:
                self._close(order, "reduceOnlyCanceled")
                return
        held = self.positions.setdefault(coin, [0.0, 0.0])
        start, delta = held[0], size if buy else -size
        closed_pnl = 0.0
        if start and (start > 0) != (delta > 0):
            closed = min(abs(delta), abs(start))
            closed_pnl = (px - held[1]) * closed * (1.0 if start > 0 else -1.0)
        new = start + delta
        if abs(new) < 1e-12:
            held[:] = [0.0, 0.0]
        elif start == 0 or (start > 0) != (new > 0):
            held[:] = [new, px]
        elif abs(new) > abs(start):
            held[:] = [new, (held[1] * abs(start) + px * size) / abs(new)]
        else:
            held[0] = new
        fee = px * size * TAKER_FEE if crossed else 0.0
        self.cash += closed_pnl - fee
        order["left"] -= size
        order["filled"] += size
        order["notional"] += px * size
        if order["left"] <= 1e-12:
            order["left"] = 0.0
            order["status"], order["statusTimestamp"] = "filled", self.now_ms()
        opens = start == 0 or (start > 0) == buy
        direction = ("Open " + ("Long" if buy else "Short")) if opens else (
            "Close " + ("Long" if start > 0 else "Short"))
        self.fills.append({
            "coin": coin, "px": _num(px), "sz": _num(size), "side": order["side"],
            "time": self.now_ms(), "startPosition": _num(start),
            "dir": direction,
            "closedPnl": _num(closed_pnl), "hash": f"0x{next(self._tids):064x}",
            "oid": order["oid"], "crossed": crossed, "fee": _num(fee),
            "tid": next(self._tids), "feeToken": "USDC",
            **({"cloid": order["cloid"]} if order["cloid"] else {}),
        })
        self._emit("userFills", {"user": self.user, "fills": [dict(self.fills[-1])]})
        self._updated(order)

    def _close(self, order: dict[str, Any], status: str) -> None:
        order["status"], order["statusTimestamp"] = status, self.now_ms()
        self._updated(order)

    def _emit(self, channel: str, data: Any) -> None:
        if self.listener is not None:
            self.listener(channel, data)

    def _updated(self, order: dict[str, Any]) -> None:
        basic = self._wire_open(order, frontend=False)
        self._emit("orderUpdates", [{
            "order": {**basic, "origSz": _num(order["origSz"]),
                      **({"cloid": order["cloid"]} if order["cloid"] else {})},
            "status": order["status"], "statusTimestamp": order["statusTimestamp"]}])

    def recent_fills(self) -> list[dict[str, Any]]:
        """The account's fills, oldest first (copies)."""
        with self.lock:
            return [dict(f) for f in self.fills]

    def _cancel_one(self, wire: dict[str, Any], kind: str) -> Any:
        if kind == "cancel":
            asset, oid = int(wire["a"]), int(wire["o"])
        else:
            asset, oid = int(wire["asset"]), self.by_cloid.get(str(wire["cloid"]), -1)
        order = self.orders.get(oid)
        if order is None or order["status"] != "open" or self.assets.index(
            order["coin"]
        ) != asset:
            return {"error": f"Order was never placed, already canceled, or filled. "
                             f"asset={asset}"}
        self._close(order, "canceled")
        return "success"

    def _modify_one(self, modify: dict[str, Any]) -> dict[str, Any]:
        ident, wire = modify["oid"], modify["order"]
        oid = self.by_cloid.get(ident, -1) if isinstance(ident, str) else int(ident)
        asset = int(wire["a"])
        order = self.orders.get(oid)
        if order is None or order["status"] != "open":
            return {"error": f"Cannot modify canceled or filled order. asset={asset}"}
        limit = wire["t"].get("limit")
        if (order["trigger"] is not None or limit is None
                or asset != self.assets.index(order["coin"])
                or bool(wire["b"]) != (order["side"] == "B")
                or wire.get("c", order["cloid"]) != order["cloid"]):
            return {"error": f"Modify must keep the coin, side and cloid of a resting limit "
                             f"order. asset={asset}"}
        decimals = self.coins[order["coin"]]
        problem = price_error(wire["p"], decimals) or size_error(wire["s"], decimals)
        if problem:
            return {"error": f"{problem} asset={asset}"}
        size, price, reduce_only = float(wire["s"]), float(wire["p"]), bool(wire["r"])
        if not reduce_only and size * price < MIN_NOTIONAL:
            return {"error": f"Order must have minimum value of ${MIN_NOTIONAL:g}. asset={asset}"}
        changed = {**order, "limitPx": price, "tif": limit.get("tif", "Gtc")}
        crosses = self._crosses(changed, self.marks[order["coin"]])
        if changed["tif"] == "Alo" and crosses:
            return {"error": f"Post only order would have immediately matched, bbo was "
                             f"{_num(self.marks[order['coin']])}. asset={asset}"}
        order.update(limitPx=price, tif=changed["tif"], reduceOnly=reduce_only, left=size,
                     origSz=order["filled"] + size, statusTimestamp=self.now_ms())
        self._updated(order)
        if crosses:
            self._take(order)
        if order["status"] == "open":
            return {"resting": {"oid": oid}}
        return {"filled": {"totalSz": _num(order["filled"]),
                           "avgPx": _num(order["notional"] / order["filled"]), "oid": oid}}

    # POST /info (the account's types)

    def info(self, body: dict[str, Any]) -> Any:
        """The answer to an account ``/info`` request (None: not an account type)."""
        kind = body.get("type")
        with self.lock:
            self._expire_dead_man()
            if kind == "clearinghouseState":
                return self._state()
            if kind == "openOrders":
                return [self._wire_open(o, frontend=False) for o in self._open()]
            if kind == "frontendOpenOrders":
                return [self._wire_open(o, frontend=True) for o in self._open()]
            if kind == "userFills":
                return list(reversed(self.fills))[:2000]
            if kind == "userFillsByTime":
                end = body.get("endTime") or 2**62
                return [f for f in self.fills
                        if int(body["startTime"]) <= f["time"] <= int(end)][:2000]
            if kind == "orderStatus":
                return self._status(body["oid"])
        return None

    def _open(self) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["status"] == "open"]

    def _wire_open(self, order: dict[str, Any], frontend: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "coin": order["coin"], "limitPx": _num(order["limitPx"]), "oid": order["oid"],
            "side": order["side"], "sz": _num(order["left"]), "timestamp": order["timestamp"],
        }
        if not frontend:
            return out
        trigger = order["trigger"]
        return {
            **out, "triggerCondition": "N/A" if trigger is None else (
                f"Price {'above' if self._above(order) else 'below'} "
                f"{_num(trigger['triggerPx'])}"),
            "isTrigger": trigger is not None,
            "triggerPx": _num(trigger["triggerPx"]) if trigger else "0.0", "children": [],
            "isPositionTpsl": False, "reduceOnly": order["reduceOnly"],
            "orderType": "Limit" if trigger is None else _TYPE_NAMES[
                (trigger["tpsl"], trigger["isMarket"])],
            "origSz": _num(order["origSz"]), "tif": order["tif"], "cloid": order["cloid"],
        }

    def _above(self, order: dict[str, Any]) -> bool:
        return bool(order["trigger"]["tpsl"] == ("sl" if order["side"] == "B" else "tp"))

    def _status(self, ident: Any) -> dict[str, Any]:
        oid = self.by_cloid.get(ident, -1) if isinstance(ident, str) else int(ident)
        order = self.orders.get(oid)
        if order is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": {
            "order": self._wire_open(order, frontend=True), "status": order["status"],
            "statusTimestamp": order["statusTimestamp"]}}

    def _state(self) -> dict[str, Any]:
        rows, unrealized, notional = [], 0.0, 0.0
        for coin, (size, entry) in self.positions.items():
            if not size:
                continue
            mark = self.marks.get(coin, entry)
            pnl = (mark - entry) * size
            unrealized += pnl
            notional += abs(size) * mark
            rows.append({"type": "oneWay", "position": {
                "coin": coin, "szi": _num(size), "entryPx": _num(entry),
                "leverage": {"type": "cross", "value": 20},
                "liquidationPx": None, "marginUsed": _num(abs(size) * mark / 20),
                "positionValue": _num(abs(size) * mark), "returnOnEquity": "0.0",
                "unrealizedPnl": _num(pnl), "maxTradeSzs": ["0.0", "0.0"],
                "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
            }})
        value, used = self.cash + unrealized, notional / 20
        summary = {"accountValue": _num(value), "totalMarginUsed": _num(used),
                   "totalNtlPos": _num(notional), "totalRawUsd": _num(self.cash)}
        return {"assetPositions": rows, "marginSummary": summary,
                "crossMarginSummary": dict(summary), "crossMaintenanceMarginUsed": "0.0",
                "withdrawable": _num(max(value - used, 0.0)), "time": self.now_ms()}


def _ok(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": kind, "data": data}}
