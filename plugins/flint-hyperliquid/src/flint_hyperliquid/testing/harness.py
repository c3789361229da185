"""The fake Hyperliquid as a :class:`~flint.testing.live_contracts.VenueHarness`: what the
live contract tests drive against :class:`~flint_hyperliquid.adapter.HyperliquidAdapter`.

Each harness makes a fresh agent key (signing) for a fresh account address, and a
fake serving one hourly candle per coin with its mark at :attr:`HyperliquidHarness.price`.
"""

import secrets
import time
from typing import Any

from flint.live.credentials import Secret
from flint.testing.live_contracts import VenueHarness
from flint_core.enums import OrderState
from flint_hyperliquid.adapter import KEY_VAR, HyperliquidAdapter, cloid_of, order_state
from flint_hyperliquid.markets import to_coin
from flint_hyperliquid.testing.exchange import FakeExchange
from flint_hyperliquid.testing.fake import FakeHyperliquid


class HyperliquidHarness(VenueHarness):
    """A :class:`FakeHyperliquid` trading for a new account, and adapters for it."""

    venue = "hyperliquid"
    market = "SOL-PERP"
    price = 100.0

    def __init__(self, timeout_s: float = 1.0, request_ttl_s: float = 3.0,
                 **exchange_options: Any) -> None:
        from eth_account import Account

        self._key = "0x" + secrets.token_hex(32)
        self.agent = str(Account.from_key(self._key).address)
        self.user = "0x" + secrets.token_hex(20)
        self.timeout_s, self.request_ttl_s = timeout_s, request_ttl_s
        hour = int(time.time()) // 3600 * 3600 - 3600
        self.fake = FakeHyperliquid({(coin, 3600): [(hour, p, p, p, p, "1")] for coin, p in
                                     (("BTC", "60000"), ("ETH", "3000"), ("SOL", "100"))})
        self.exchange: FakeExchange = self.fake.trade(self.user, [self.agent],
                                                      **exchange_options)
        self.exchange.set_mark("SOL", self.price)

    def close(self) -> None:
        self.fake.close()

    def restart(self) -> None:
        """Restart the fake on its port; the account's state is kept."""
        self.fake = self.fake.restarted()

    def secret(self) -> Secret:
        """The agent key the fake accepts, as adapters take it."""
        return Secret(KEY_VAR, self._key)

    def _options(self) -> dict[str, Any]:
        return {"url": self.fake.url, "account_address": self.user,
                "timeout_s": self.timeout_s, "request_ttl_s": self.request_ttl_s,
                "poll_s": 0.05, "resync_s": 5.0, "rate_limit": False}

    def adapter(self, **options: Any) -> HyperliquidAdapter:
        return HyperliquidAdapter(**{"private_key": self.secret(),
                                     **self._options(), **options})

    def adapter_spec(self, **options: Any) -> dict[str, Any]:
        return {"factory": "flint_hyperliquid.adapter:HyperliquidAdapter",
                "kwargs": {**self._options(), **options}}

    def env(self) -> dict[str, str]:
        return {KEY_VAR: self._key}

    def secret_values(self) -> tuple[str, ...]:
        return (self._key, self._key[2:])

    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        self.fake.fail_next(op, kind, when, delay_s)

    def _coin(self, market: str) -> str:
        return to_coin(market, self.exchange.assets)

    def _oid(self, client_id: str) -> int:
        if client_id.startswith("oid-"):
            return int(client_id[4:])
        return self.exchange.by_cloid[cloid_of(client_id)]

    def set_mark(self, market: str, price: float) -> None:
        self.exchange.set_mark(self._coin(market), price)

    def fill(self, client_id: str, size: float | None = None) -> None:
        self.exchange.fill(self._oid(client_id), size)

    def place_external(self, market: str, side: str, size: float, price: float) -> str:
        oid = self.exchange.place_by_hand(self._coin(market), side == "buy", size,
                                          round(price, 2))
        return f"oid-{oid}"

    def close_by_hand(self, market: str) -> None:
        coin = self._coin(market)
        held = self.exchange.position(coin)
        if held:
            self.exchange.place_by_hand(coin, held < 0, abs(held))

    def set_position(self, market: str, size: float, entry_price: float) -> None:
        self.exchange.set_position(self._coin(market), size, entry_price)

    def venue_orders(self) -> dict[str, tuple[OrderState, float]]:
        with self.exchange.lock:
            return {o["cloid"] or f"oid-{o['oid']}": (order_state(o["status"], o["filled"]),
                                                      o["filled"])
                    for o in self.exchange.orders.values()}

    def venue_position(self, market: str) -> float:
        return self.exchange.position(self._coin(market))

    def submissions(self, client_id: str | None = None) -> int:
        with self.exchange.lock:
            sent = list(self.exchange.submitted)
        if client_id is None:
            return len(sent)
        return sent.count(cloid_of(client_id))
