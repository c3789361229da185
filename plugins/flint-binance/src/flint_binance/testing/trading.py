"""The trading half of the fake Binance USD-M: one account's orders, book, fills,
positions and wallet, answering in Binance's wire format (no HTTP here: see
:mod:`flint_binance.testing.fake`).

- **Book**: the depth profile of a recorded Binance USD-M book
  (``fixtures/binance/um_BTCUSDT_book_snapshot_25_*.csv`` of flint's test data: each
  level's distance from the mid and its notional) re-centred on the symbol's mark and
  rounded to its tick and lot; takers walk it level by level (it does not deplete).
- **Rules** from ``exchangeInfo``: tick size, lot step, min/max quantity, min notional
  (reduce-only exempt); reduce-only (one-way mode); margin at ``leverage``; a client
  order id already used by an open order is refused (``-4116``).
- **Orders**: ``MARKET``, ``LIMIT`` (``GTC``, ``IOC``, ``GTX`` = post-only; ``FOK``),
  partial fills, ``EXPIRED`` remainders, modifying a resting limit order; conditional
  ``STOP_MARKET`` / ``TAKE_PROFIT_MARKET`` on the algo service (``/fapi/v1/algoOrder``),
  which trigger a market order when the mark crosses their trigger;
  ``countdownCancelAll``.
- Resting limit orders fill as makers when the mark reaches their price.
- Funding is settled when the test says so (:meth:`Account.settle_funding`).
"""

import csv
import itertools
import threading
import time
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

#: The recorded book whose shape every symbol's book takes.
BOOK_FILE = "fixtures/binance/um_BTCUSDT_book_snapshot_25_20200901_tardis.csv"
TAKER_FEE, MAKER_FEE = Decimal("0.0005"), Decimal("0.0002")
OPEN_STATES = ("NEW", "PARTIALLY_FILLED")
ZERO = Decimal(0)


class Refused(Exception):
    """A request Binance refuses: HTTP ``status`` and ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def book_profile(path: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(asks, bids) of the first snapshot in ``path``: (distance from the mid as a fraction
    of it, notional in quote), best level first."""
    with path.open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    asks = [(float(row[f"asks[{i}].price"]), float(row[f"asks[{i}].amount"])) for i in range(25)]
    bids = [(float(row[f"bids[{i}].price"]), float(row[f"bids[{i}].amount"])) for i in range(25)]
    mid = (asks[0][0] + bids[0][0]) / 2
    return ([((p - mid) / mid, p * q) for p, q in asks],
            [((p - mid) / mid, p * q) for p, q in bids])


def _num(text: Any, name: str) -> Decimal:
    try:
        value = Decimal(str(text))
    except ArithmeticError:
        raise Refused(-1102, f"Parameter '{name}' was not formatted correctly.") from None
    if not value.is_finite():
        raise Refused(-1102, f"Parameter '{name}' was not formatted correctly.")
    return value


def _money(value: Decimal) -> Decimal:
    """``value`` to 8 decimals, as Binance reports prices, PnL and fees."""
    return value.quantize(Decimal("1e-8"), ROUND_HALF_UP)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class Rules:
    """The filters of one symbol, from its ``exchangeInfo`` entry."""

    def __init__(self, info: dict[str, Any]) -> None:
        filters = {f["filterType"]: f for f in info["filters"]}
        self.symbol = str(info["symbol"])
        self.tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
        self.min_price = Decimal(filters["PRICE_FILTER"]["minPrice"])
        self.max_price = Decimal(filters["PRICE_FILTER"]["maxPrice"])
        self.step = Decimal(filters["LOT_SIZE"]["stepSize"])
        self.min_qty = Decimal(filters["LOT_SIZE"]["minQty"])
        self.max_qty = Decimal(filters["LOT_SIZE"]["maxQty"])
        self.min_notional = Decimal(filters["MIN_NOTIONAL"]["notional"])

    def check_price(self, price: Decimal) -> None:
        if price < self.min_price or price > self.max_price:
            raise Refused(-4016, "Limit price can't be higher or lower than the allowed range.")
        if price % self.tick:
            raise Refused(-4014, "Price not increased by tick size.")

    def check_qty(self, qty: Decimal) -> None:
        if qty <= 0 or qty < self.min_qty:
            raise Refused(-4003, "Quantity less than or equal to zero.")
        if qty > self.max_qty:
            raise Refused(-4005, "Quantity greater than max quantity.")
        if qty % self.step:
            raise Refused(-1111, "Precision is over the maximum defined for this asset.")

    def price(self, value: float) -> Decimal:
        return (Decimal(str(value)) / self.tick).quantize(Decimal(1), ROUND_HALF_UP) * self.tick

    def qty(self, value: float) -> Decimal:
        return max((Decimal(str(value)) / self.step).quantize(Decimal(1), ROUND_DOWN), Decimal(1)
                   ) * self.step


class Account:
    """One Binance USD-M account (one-way mode, cross margin) on ``symbols`` (their
    ``exchangeInfo`` entries), marked at ``marks``. Thread-safe."""

    def __init__(self, symbols: list[dict[str, Any]], marks: dict[str, float],
                 profile: tuple[list[tuple[float, float]], list[tuple[float, float]]], *,
                 wallet: float = 100_000.0, leverage: int = 20) -> None:
        self.lock = threading.RLock()
        self.rules = {s["symbol"]: Rules(s) for s in symbols}
        self.marks = {s: Decimal(str(p)) for s, p in marks.items()}
        self.profile = profile
        self.wallet = Decimal(str(wallet))
        self.leverage = leverage
        self.orders: dict[int, dict[str, Any]] = {}
        self.algos: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.positions: dict[str, list[Decimal]] = {}  # symbol -> [amount, entry price]
        self.countdowns: dict[str, threading.Timer] = {}
        self._ids = itertools.count(1000)

    # Test controls

    def set_mark(self, symbol: str, price: float) -> None:
        """Move the mark: resting orders it reaches fill, conditional orders trigger."""
        with self.lock:
            self.marks[symbol] = self.rules[symbol].price(price)
            self._on_mark(symbol)

    def fill(self, order_id: int, qty: float | None = None) -> None:
        """Fill (part of) a resting order at its price, as a maker."""
        with self.lock:
            order = self.orders[order_id]
            if order["status"] not in OPEN_STATES:
                raise ValueError(f"order {order_id} is {order['status']}")
            left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
            size = left if qty is None else min(self.rules[order["symbol"]].qty(qty), left)
            self._trade(order, size, Decimal(order["price"]), maker=True)

    def set_position(self, symbol: str, amount: float, entry: float) -> None:
        """Change a position without a trade."""
        with self.lock:
            self.positions[symbol] = [Decimal(str(amount)), Decimal(str(entry))]

    def settle_funding(self, symbol: str, rate: float, price: float) -> Decimal:
        """A funding settlement of ``symbol``: the position pays ``rate x amount x
        price`` from the wallet (longs pay a positive rate), to 8 decimals; the amount."""
        with self.lock:
            amount = self.positions.get(symbol, [ZERO, ZERO])[0]
            paid = _money(Decimal(repr(rate)) * amount * Decimal(repr(price)))
            self.wallet -= paid
            return paid

    # The book

    def book(self, symbol: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal,
                                                                                  Decimal]]]:
        """(asks, bids) around the mark: [(price, qty)], best first, same prices merged."""
        rules, mark = self.rules[symbol], float(self.marks[symbol])
        sides = []
        for levels in self.profile:
            merged: dict[Decimal, Decimal] = {}
            for fraction, notional in levels:
                price = rules.price(mark * (1 + fraction))
                merged[price] = merged.get(price, ZERO) + rules.qty(notional / float(price))
            sides.append(list(merged.items()))
        return sides[0], sides[1]

    # Orders

    def new_order(self, params: dict[str, str]) -> dict[str, Any]:
        """``POST /fapi/v1/order``."""
        with self.lock:
            symbol = self._symbol(params)
            rules = self.rules[symbol]
            side, kind = params.get("side", ""), params.get("type", "")
            if side not in ("BUY", "SELL"):
                raise Refused(-1117, "Invalid side.")
            if kind not in ("LIMIT", "MARKET"):
                raise Refused(-1116, "Invalid orderType.")
            qty = _num(params.get("quantity"), "quantity")
            rules.check_qty(qty)
            tif = params.get("timeInForce", "GTC" if kind == "LIMIT" else "")
            price = ZERO
            if kind == "LIMIT":
                if tif not in ("GTC", "IOC", "FOK", "GTX"):
                    raise Refused(-1115, "Invalid timeInForce.")
                price = _num(params.get("price"), "price")
                rules.check_price(price)
            cid = params.get("newClientOrderId") or f"web_{next(self._ids)}"
            if any(o["clientOrderId"] == cid and o["status"] in OPEN_STATES
                   for o in self.orders.values()):
                raise Refused(-4116, "ClientOrderId is duplicated.")
            reduce_only = params.get("reduceOnly", "false").lower() == "true"
            reference = price if kind == "LIMIT" else self.marks[symbol]
            if not reduce_only and qty * reference < rules.min_notional:
                raise Refused(-4164, f"Order's notional must be no smaller than "
                                     f"{_text(rules.min_notional)} (unless you choose reduce "
                                     f"only).")
            if reduce_only and self._reducible(symbol, side) <= 0:
                raise Refused(-2022, "ReduceOnly Order is rejected.")
            if not reduce_only and self._margin_needed(symbol, side, qty, reference) > (
                self._available()
            ):
                raise Refused(-2019, "Margin is insufficient.")
            asks, bids = self.book(symbol)
            levels = asks if side == "BUY" else bids
            crosses = kind == "MARKET" or (price >= levels[0][0] if side == "BUY"
                                           else price <= levels[0][0])
            if tif == "GTX" and crosses:
                raise Refused(-5022, "Due to the order could not be executed as maker, the Post "
                                     "Only order will be rejected.")
            now = int(time.time() * 1000)
            order = {
                "orderId": next(self._ids), "symbol": symbol, "status": "NEW",
                "clientOrderId": cid, "price": _text(price), "avgPrice": "0",
                "origQty": _text(qty), "executedQty": "0", "cumQuote": "0",
                "timeInForce": tif or "GTC", "type": kind, "reduceOnly": reduce_only,
                "closePosition": False, "side": side, "positionSide": "BOTH", "stopPrice": "0",
                "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": kind,
                "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER",
                "goodTillDate": 0, "time": now, "updateTime": now,
            }
            if tif == "FOK" and self._depth(levels, side, price if kind == "LIMIT" else None
                                            ) < qty:
                order["status"] = "EXPIRED"
                self.orders[order["orderId"]] = order
                return dict(order)
            self.orders[order["orderId"]] = order
            if crosses:
                self._take(order, levels, price if kind == "LIMIT" else None)
            if order["status"] in OPEN_STATES and (kind == "MARKET" or tif in ("IOC", "FOK")):
                order["status"] = "EXPIRED"
            return dict(order)

    def new_algo(self, params: dict[str, str]) -> dict[str, Any]:
        """``POST /fapi/v1/algoOrder`` (conditional market orders)."""
        with self.lock:
            symbol = self._symbol(params)
            rules = self.rules[symbol]
            side, kind = params.get("side", ""), params.get("type", "")
            if params.get("algoType") != "CONDITIONAL":
                raise Refused(-1130, "Data sent for parameter 'algoType' is not valid.")
            if side not in ("BUY", "SELL"):
                raise Refused(-1117, "Invalid side.")
            if kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise Refused(-1116, "Invalid orderType.")
            qty = _num(params.get("quantity"), "quantity")
            rules.check_qty(qty)
            trigger = _num(params.get("triggerPrice"), "triggerPrice")
            rules.check_price(trigger)
            cid = params.get("clientAlgoId") or f"web_{next(self._ids)}"
            if any(a["clientAlgoId"] == cid and a["algoStatus"] == "NEW"
                   for a in self.algos.values()):
                raise Refused(-4116, "ClientOrderId is duplicated.")
            mark = self.marks[symbol]
            up = (side == "BUY") == (kind == "STOP_MARKET")  # triggers when the mark rises
            if (mark >= trigger) if up else (mark <= trigger):
                raise Refused(-2021, "Order would immediately trigger.")
            now = int(time.time() * 1000)
            algo = {
                "algoId": next(self._ids), "clientAlgoId": cid, "algoType": "CONDITIONAL",
                "orderType": kind, "symbol": symbol, "side": side, "positionSide": "BOTH",
                "timeInForce": "GTC", "quantity": _text(qty), "algoStatus": "NEW",
                "triggerPrice": _text(trigger), "price": "0", "workingType": "CONTRACT_PRICE",
                "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
                "reduceOnly": params.get("reduceOnly", "false").lower() == "true",
                "createTime": now, "updateTime": now, "triggerTime": 0, "goodTillDate": 0,
                "actualOrderId": "", "executedQty": "0", "avgPrice": "0",
            }
            self.algos[algo["algoId"]] = algo
            return dict(algo)

    def modify(self, params: dict[str, str]) -> dict[str, Any]:
        """``PUT /fapi/v1/order``: a resting LIMIT order's new ``quantity`` (its whole
        size) and ``price``; a price that crosses the book trades at once."""
        with self.lock:
            order = self._find(params)
            if order is None or order["status"] not in OPEN_STATES:
                raise Refused(-2013, "Order does not exist.")
            if order["type"] != "LIMIT" or params.get("side") != order["side"]:
                raise Refused(-4028, "Order can't be modified: only the price and quantity "
                                     "of a LIMIT order.")
            rules = self.rules[order["symbol"]]
            qty, price = _num(params.get("quantity"), "quantity"), _num(params.get("price"),
                                                                         "price")
            rules.check_qty(qty)
            rules.check_price(price)
            if qty <= Decimal(order["executedQty"]):
                raise Refused(-4028, "Quantity must be greater than the executed quantity.")
            asks, bids = self.book(order["symbol"])
            levels = asks if order["side"] == "BUY" else bids
            crosses = price >= levels[0][0] if order["side"] == "BUY" else price <= levels[0][0]
            if order["timeInForce"] == "GTX" and crosses:
                raise Refused(-5022, "Due to the order could not be executed as maker, the Post "
                                     "Only order will be rejected.")
            order.update(origQty=_text(qty), price=_text(price),
                         updateTime=int(time.time() * 1000))
            if crosses:
                self._take(order, levels, price)
            return dict(order)

    def cancel(self, params: dict[str, str]) -> dict[str, Any]:
        """``DELETE /fapi/v1/order`` (by ``orderId`` or ``origClientOrderId``)."""
        with self.lock:
            order = self._find(params)
            if order is None or order["status"] not in OPEN_STATES:
                raise Refused(-2011, "Unknown order sent.")
            order["status"], order["updateTime"] = "CANCELED", int(time.time() * 1000)
            return dict(order)

    def cancel_algo(self, params: dict[str, str]) -> dict[str, Any]:
        """``DELETE /fapi/v1/algoOrder`` (by ``algoId`` or ``clientAlgoId``)."""
        with self.lock:
            algo = self._find_algo(params)
            if algo is None or algo["algoStatus"] != "NEW":
                raise Refused(-2011, "Unknown order sent.")
            algo["algoStatus"], algo["updateTime"] = "CANCELED", int(time.time() * 1000)
            return {"algoId": algo["algoId"], "clientAlgoId": algo["clientAlgoId"],
                    "code": "200", "msg": "success"}

    def query(self, params: dict[str, str]) -> dict[str, Any]:
        """``GET /fapi/v1/order``."""
        with self.lock:
            order = self._find(params)
            if order is None:
                raise Refused(-2013, "Order does not exist.")
            return dict(order)

    def query_algo(self, params: dict[str, str]) -> dict[str, Any]:
        """``GET /fapi/v1/algoOrder``."""
        with self.lock:
            algo = self._find_algo(params)
            if algo is None:
                raise Refused(-2013, "Order does not exist.")
            return dict(algo)

    def open_orders(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /fapi/v1/openOrders`` (``symbol`` optional)."""
        with self.lock:
            symbol = params.get("symbol")
            return [dict(o) for o in self.orders.values() if o["status"] in OPEN_STATES
                    and symbol in (None, o["symbol"])]

    def open_algos(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /fapi/v1/openAlgoOrders``."""
        with self.lock:
            symbol = params.get("symbol")
            return [dict(a) for a in self.algos.values() if a["algoStatus"] == "NEW"
                    and symbol in (None, a["symbol"])]

    def user_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /fapi/v1/userTrades``: ``symbol`` required; ``startTime``/``endTime``
        (at most 7 days apart), ``fromId``, ``limit`` (default 500, at most 1000)."""
        with self.lock:
            symbol = self._symbol(params)
            limit = int(params.get("limit", 500))
            if not 0 < limit <= 1000:
                raise Refused(-1130, "Data sent for parameter 'limit' is not valid.")
            start, end = params.get("startTime"), params.get("endTime")
            if start is not None and end is not None and int(end) - int(start) > 7 * 86_400_000:
                raise Refused(-4166, "Search window is restricted to recent 7 days only.")
            rows = [t for t in self.trades if t["symbol"] == symbol]
            if "fromId" in params:
                rows = [t for t in rows if t["id"] >= int(params["fromId"])]
            if start is not None:
                rows = [t for t in rows if t["time"] >= int(start)]
            if end is not None:
                rows = [t for t in rows if t["time"] <= int(end)]
            return [dict(t) for t in rows[:limit]]

    def position_risk(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /fapi/v3/positionRisk`` (positions with an amount)."""
        with self.lock:
            out = []
            for symbol, (amount, entry) in self.positions.items():
                if not amount or params.get("symbol") not in (None, symbol):
                    continue
                mark = self.marks[symbol]
                notional = amount * mark
                out.append({
                    "symbol": symbol, "positionSide": "BOTH", "positionAmt": _text(amount),
                    "entryPrice": _text(entry), "breakEvenPrice": _text(entry),
                    "markPrice": _text(mark), "unRealizedProfit": _text((mark - entry) * amount),
                    "liquidationPrice": "0", "isolatedMargin": "0", "notional": _text(notional),
                    "marginAsset": "USDT", "isolatedWallet": "0",
                    "initialMargin": _text(abs(notional) / self.leverage),
                    "maintMargin": _text(abs(notional) * Decimal("0.004")),
                    "positionInitialMargin": _text(abs(notional) / self.leverage),
                    "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0",
                    "askNotional": "0", "updateTime": int(time.time() * 1000),
                })
            return out

    def account(self) -> dict[str, Any]:
        """``GET /fapi/v3/account`` (USDT only)."""
        with self.lock:
            unrealized = sum(((self.marks[s] - e) * a for s, (a, e) in self.positions.items()),
                             ZERO)
            margin = self._position_margin()
            available = self._available()
            wallet = _text(self.wallet)
            asset = {
                "asset": "USDT", "walletBalance": wallet, "unrealizedProfit": _text(unrealized),
                "marginBalance": _text(self.wallet + unrealized),
                "maintMargin": "0", "initialMargin": _text(margin),
                "positionInitialMargin": _text(margin), "openOrderInitialMargin": "0",
                "crossWalletBalance": wallet, "crossUnPnl": _text(unrealized),
                "availableBalance": _text(available), "maxWithdrawAmount": _text(available),
                "updateTime": int(time.time() * 1000),
            }
            return {
                "totalInitialMargin": _text(margin), "totalMaintMargin": "0",
                "totalWalletBalance": wallet, "totalUnrealizedProfit": _text(unrealized),
                "totalMarginBalance": _text(self.wallet + unrealized),
                "totalPositionInitialMargin": _text(margin), "totalOpenOrderInitialMargin": "0",
                "totalCrossWalletBalance": wallet, "totalCrossUnPnl": _text(unrealized),
                "availableBalance": _text(available), "maxWithdrawAmount": _text(available),
                "assets": [asset], "positions": [],
            }

    def countdown(self, params: dict[str, str]) -> dict[str, Any]:
        """``POST /fapi/v1/countdownCancelAll``: cancel every open order of ``symbol``
        after ``countdownTime`` ms unless called again (0 disarms)."""
        with self.lock:
            symbol = self._symbol(params)
            ms = int(params.get("countdownTime", "0"))
            previous = self.countdowns.pop(symbol, None)
            if previous is not None:
                previous.cancel()
            if ms:
                timer = threading.Timer(ms / 1000, self._cancel_all, args=(symbol,))
                timer.daemon = True
                self.countdowns[symbol] = timer
                timer.start()
            return {"symbol": symbol, "countdownTime": str(ms)}

    def stop_timers(self) -> None:
        """Disarm every countdown (the fake is closing)."""
        with self.lock:
            for timer in self.countdowns.values():
                timer.cancel()
            self.countdowns.clear()

    # Matching

    def _cancel_all(self, symbol: str) -> None:
        with self.lock:
            self.countdowns.pop(symbol, None)
            for order in self.orders.values():
                if order["symbol"] == symbol and order["status"] in OPEN_STATES:
                    order["status"] = "CANCELED"
            for algo in self.algos.values():
                if algo["symbol"] == symbol and algo["algoStatus"] == "NEW":
                    algo["algoStatus"] = "CANCELED"

    @staticmethod
    def _depth(levels: list[tuple[Decimal, Decimal]], side: str, limit: Decimal | None
               ) -> Decimal:
        return sum((q for p, q in levels if limit is None or (
            p <= limit if side == "BUY" else p >= limit)), ZERO)

    def _take(self, order: dict[str, Any], levels: list[tuple[Decimal, Decimal]],
              limit: Decimal | None) -> None:
        for price, available in levels:
            left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
            if left <= 0 or (limit is not None and (
                price > limit if order["side"] == "BUY" else price < limit
            )):
                return
            if order["reduceOnly"]:
                left = min(left, self._reducible(order["symbol"], order["side"]))
                if left <= 0:
                    return
            self._trade(order, min(left, available), price, maker=False)

    def _trade(self, order: dict[str, Any], qty: Decimal, price: Decimal, maker: bool) -> None:
        symbol, sign = order["symbol"], (1 if order["side"] == "BUY" else -1)
        held = self.positions.setdefault(symbol, [ZERO, ZERO])
        old, delta = held[0], sign * qty
        new = old + delta
        realized = ZERO
        if old and (old > 0) != (delta > 0):
            realized = (price - held[1]) * min(abs(delta), abs(old)) * (1 if old > 0 else -1)
        if not new:
            held[:] = [ZERO, ZERO]
        elif not old or (old > 0) != (new > 0):
            held[:] = [new, price]
        elif abs(new) > abs(old):
            held[:] = [new, _money((held[1] * abs(old) + price * qty) / abs(new))]
        else:
            held[0] = new
        realized = _money(realized)
        fee = _money(price * qty * (MAKER_FEE if maker else TAKER_FEE))
        self.wallet += realized - fee
        done = Decimal(order["executedQty"]) + qty
        quote = Decimal(order["cumQuote"]) + price * qty
        now = int(time.time() * 1000)
        order.update(executedQty=_text(done), cumQuote=_text(quote),
                     avgPrice=_text(quote / done), updateTime=now,
                     status="FILLED" if done >= Decimal(order["origQty"]) else "PARTIALLY_FILLED")
        self.trades.append({
            "symbol": symbol, "id": next(self._ids), "orderId": order["orderId"],
            "side": order["side"], "price": _text(price), "qty": _text(qty),
            "realizedPnl": _text(realized), "quoteQty": _text(price * qty),
            "commission": _text(fee), "commissionAsset": "USDT", "time": now,
            "positionSide": "BOTH", "buyer": order["side"] == "BUY", "maker": maker,
        })

    def _on_mark(self, symbol: str) -> None:
        mark = self.marks[symbol]
        for order in list(self.orders.values()):
            if order["symbol"] != symbol or order["status"] not in OPEN_STATES:
                continue
            price = Decimal(order["price"])
            if mark <= price if order["side"] == "BUY" else mark >= price:
                left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
                if order["reduceOnly"]:
                    left = min(left, self._reducible(symbol, order["side"]))
                if left > 0:
                    self._trade(order, left, price, maker=True)
                if order["status"] in OPEN_STATES:
                    order["status"] = "EXPIRED"
        for algo in list(self.algos.values()):
            if algo["symbol"] != symbol or algo["algoStatus"] != "NEW":
                continue
            trigger = Decimal(algo["triggerPrice"])
            up = (algo["side"] == "BUY") == (algo["orderType"] == "STOP_MARKET")
            if (mark >= trigger) if up else (mark <= trigger):
                self._trigger(algo)

    def _trigger(self, algo: dict[str, Any]) -> None:
        """The algo service places its market order in the matching engine."""
        algo["algoStatus"], algo["triggerTime"] = "TRIGGERED", int(time.time() * 1000)
        params = {"symbol": algo["symbol"], "side": algo["side"], "type": "MARKET",
                  "quantity": algo["quantity"], "newClientOrderId": f"algo_{algo['algoId']}",
                  "reduceOnly": "true" if algo["reduceOnly"] else "false"}
        try:
            order = self.new_order(params)
        except Refused:
            algo["algoStatus"] = "REJECTED"
            return
        algo.update(actualOrderId=str(order["orderId"]), executedQty=order["executedQty"],
                    avgPrice=order["avgPrice"], algoStatus="FINISHED",
                    updateTime=order["updateTime"])

    # Helpers

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = params.get("symbol", "")
        if symbol not in self.rules:
            raise Refused(-1121, "Invalid symbol.")
        return symbol

    def _find(self, params: dict[str, str]) -> dict[str, Any] | None:
        symbol = self._symbol(params)
        if "orderId" in params:
            order = self.orders.get(int(params["orderId"]))
            return order if order is not None and order["symbol"] == symbol else None
        cid = params.get("origClientOrderId")
        if not cid:
            raise Refused(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but "
                                 "both were empty/null!")
        found = [o for o in self.orders.values() if o["clientOrderId"] == cid
                 and o["symbol"] == symbol]
        return found[-1] if found else None

    def _find_algo(self, params: dict[str, str]) -> dict[str, Any] | None:
        if "algoId" in params:
            return self.algos.get(int(params["algoId"]))
        cid = params.get("clientAlgoId")
        if not cid:
            raise Refused(-1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both "
                                 "were empty/null!")
        found = [a for a in self.algos.values() if a["clientAlgoId"] == cid]
        return found[-1] if found else None

    def _reducible(self, symbol: str, side: str) -> Decimal:
        amount = self.positions.get(symbol, [ZERO, ZERO])[0]
        if side == "BUY":
            return -amount if amount < 0 else ZERO
        return amount if amount > 0 else ZERO

    def _position_margin(self) -> Decimal:
        return sum((abs(a) * self.marks[s] / self.leverage for s, (a, _) in
                    self.positions.items()), ZERO)

    def _available(self) -> Decimal:
        resting = sum((Decimal(o["origQty"]) * Decimal(o["price"]) / self.leverage
                       for o in self.orders.values()
                       if o["status"] in OPEN_STATES and not o["reduceOnly"]), ZERO)
        return self.wallet - self._position_margin() - resting

    def _margin_needed(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> Decimal:
        grows = max(qty - self._reducible(symbol, side), ZERO)
        return grows * price / self.leverage
