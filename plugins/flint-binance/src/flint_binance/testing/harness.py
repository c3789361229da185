"""The fake Binance USD-M as a :class:`~flint.testing.live_contracts.VenueHarness`: what
flint's live contract tests drive against :class:`~flint_binance.live.CCXTAdapter`."""

import secrets
from pathlib import Path
from typing import Any

from flint.live.credentials import Secret
from flint.testing.live_contracts import VenueHarness
from flint_binance.live import KEY_VAR, SECRET_VAR, CCXTAdapter
from flint_binance.testing.fake import FakeBinance
from flint_core.enums import OrderState

_STATES = {"NEW": OrderState.CONFIRMED, "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
           "FILLED": OrderState.FILLED, "CANCELED": OrderState.CANCELLED,
           "EXPIRED": OrderState.EXPIRED, "FINISHED": OrderState.FILLED,
           "TRIGGERED": OrderState.CONFIRMED, "REJECTED": OrderState.FAILED}


class BinanceHarness(VenueHarness):
    """A :class:`FakeBinance` trading BTCUSDT (real candles and book shape from
    ``data_dir``) with fresh random keys, and :class:`CCXTAdapter` s for it."""

    venue = "binance"
    market = "BTC-PERP"
    symbol = "BTCUSDT"
    price = 20000.0

    def __init__(self, data_dir: str | Path, timeout_s: float = 1.0, recv_window_s: float = 3.0,
                 visibility_s: float = 0.5) -> None:
        self._key, self._secret = secrets.token_hex(16), secrets.token_hex(32)
        self.timeout_s, self.recv_window_s, self.visibility_s = (timeout_s, recv_window_s,
                                                                 visibility_s)
        self.fake = FakeBinance.from_data(data_dir, symbols=(self.symbol,))
        self.account = self.fake.enable_trading(self._key, self._secret, data_dir,
                                                marks={self.symbol: self.price})
        self._external = 0

    def close(self) -> None:
        self.fake.close()

    def _options(self) -> dict[str, Any]:
        return {"api_url": self.fake.url, "markets": [self.market], "timeout_s": self.timeout_s,
                "recv_window_s": self.recv_window_s, "visibility_s": self.visibility_s,
                "poll_s": 0.05}

    def adapter(self, **options: Any) -> CCXTAdapter:
        keys = {"api_key": Secret(KEY_VAR, self._key),
                "api_secret": Secret(SECRET_VAR, self._secret)}
        return CCXTAdapter(**{**keys, **self._options(), **options})

    def adapter_spec(self, **options: Any) -> dict[str, Any]:
        return {"factory": "flint_binance.live:CCXTAdapter",
                "kwargs": {**self._options(), **options}}

    def env(self) -> dict[str, str]:
        return {KEY_VAR: self._key, SECRET_VAR: self._secret}

    def secret_values(self) -> tuple[str, ...]:
        return (self._key, self._secret)

    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        self.fake.inject_trading(op, kind, when, delay_s)

    def set_mark(self, market: str, price: float) -> None:
        self.account.set_mark(self.symbol, price)

    def _order_id(self, client_id: str) -> int:
        return max(oid for oid, o in self.account.orders.items()
                   if o["clientOrderId"] == client_id)

    def fill(self, client_id: str, size: float | None = None) -> None:
        self.account.fill(self._order_id(client_id), size)

    def place_external(self, market: str, side: str, size: float, price: float) -> str:
        self._external += 1
        cid = f"web_{self._external}"
        rules = self.account.rules[self.symbol]
        self.account.new_order({
            "symbol": self.symbol, "side": side.upper(), "type": "LIMIT", "timeInForce": "GTC",
            "quantity": str(rules.qty(size)), "price": str(rules.price(price)),
            "newClientOrderId": cid})
        return cid

    def close_by_hand(self, market: str) -> None:
        amount = self.account.positions.get(self.symbol, [0, 0])[0]
        if amount:
            self._external += 1
            self.account.new_order({
                "symbol": self.symbol, "side": "SELL" if amount > 0 else "BUY",
                "type": "MARKET", "quantity": str(abs(amount)), "reduceOnly": "true",
                "newClientOrderId": f"web_{self._external}"})

    def set_position(self, market: str, size: float, entry_price: float) -> None:
        self.account.set_position(self.symbol, size, entry_price)

    def venue_orders(self) -> dict[str, tuple[OrderState, float]]:
        with self.account.lock:
            out = {o["clientOrderId"]: (_STATES[o["status"]], float(o["executedQty"]))
                   for o in self.account.orders.values()}
            out.update({a["clientAlgoId"]: (_STATES[a["algoStatus"]], float(a["executedQty"]))
                        for a in self.account.algos.values()})
        return out

    def venue_position(self, market: str) -> float:
        return float(self.account.positions.get(self.symbol, [0, 0])[0])

    def submissions(self, client_id: str | None = None) -> int:
        return len(self.fake.submissions(client_id))
