"""The fake Solana JSON-RPC as a :class:`~flint.testing.live_contracts.VenueHarness`."""

import tempfile
from pathlib import Path
from typing import Any

from flint.live.credentials import Secret
from flint.testing.live_contracts import VenueHarness
from flint_core.enums import OrderState
from flint_drift import chain
from flint_drift.live import KEY_VAR, DriftAdapter
from flint_drift.testing.solana_rpc import FakeSolanaRPC

_STATES = {"open": OrderState.CONFIRMED, "filled": OrderState.FILLED,
           "canceled": OrderState.CANCELLED}


class DriftHarness(VenueHarness):
    """A :class:`FakeSolanaRPC` for a fresh keypair, and :class:`DriftAdapter` s for it."""

    venue = "drift"
    market = "SOL-PERP"
    price = 100.0

    def __init__(self, timeout_s: float = 1.0, blockhash_lifetime_s: float = 4.0) -> None:
        chain.require_driftpy()
        from solders.keypair import Keypair

        self._keypair = Keypair()
        self._key = str(self._keypair)  # base58 of the 64 secret bytes
        self.timeout_s = timeout_s
        self.lifetime_s = blockhash_lifetime_s
        self._dir = tempfile.TemporaryDirectory(prefix="flint-drift-")
        self.send_log = str(Path(self._dir.name) / "sent.sqlite")
        self.rpc = FakeSolanaRPC(str(self._keypair.pubkey()), prices={0: self.price},
                                 block_time_s=0.1, blockhash_lifetime=int(
                                     blockhash_lifetime_s / 0.1))

    def close(self) -> None:
        self.rpc.close()
        self._dir.cleanup()

    def _options(self) -> dict[str, Any]:
        return {"timeout_s": self.timeout_s, "blockhash_lifetime_s": self.lifetime_s + 0.5,
                "send_log": self.send_log, "markets": {self.market: 0}}

    def secret(self) -> Secret:
        """The keypair, as the adapter takes it."""
        return Secret(KEY_VAR, self._key)

    def adapter(self, **options: Any) -> DriftAdapter:
        return DriftAdapter(self.rpc.url, keypair=self.secret(),
                            **{**self._options(), **options})

    def adapter_spec(self, **options: Any) -> dict[str, Any]:
        return {"factory": "flint_drift.live:DriftAdapter",
                "kwargs": {"rpc_url": self.rpc.url, **self._options(), **options}}

    def env(self) -> dict[str, str]:
        return {KEY_VAR: self._key}

    def secret_values(self) -> tuple[str, ...]:
        return (self._key,)

    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        self.rpc.inject(op, kind, when, delay_s)

    def set_mark(self, market: str, price: float) -> None:
        self.rpc.set_price(0, price)

    def _order_id(self, client_id: str) -> int:
        with self.rpc._lock:
            return next(o["order_id"] for o in self.rpc.orders.values()
                        if self._cid(o) == client_id)

    @staticmethod
    def _cid(order: dict[str, Any]) -> str:
        return order["cid"] or f"oid-{order['order_id']}"

    def fill(self, client_id: str, size: float | None = None) -> None:
        base = None if size is None else round(size * chain.BASE_PRECISION)
        self.rpc.fill(self._order_id(client_id), base)

    def place_external(self, market: str, side: str, size: float, price: float) -> str:
        order_id = self.rpc.place_external(
            0, side == "buy", round(size * chain.BASE_PRECISION),
            round(price * 10_000) * 100)
        return f"oid-{order_id}"

    def close_by_hand(self, market: str) -> None:
        self.rpc.close_by_hand(0)

    def set_position(self, market: str, size: float, entry_price: float) -> None:
        self.rpc.set_position(0, round(size * chain.BASE_PRECISION), entry_price)

    def venue_orders(self) -> dict[str, tuple[OrderState, float]]:
        with self.rpc._lock:
            out = {}
            for order in self.rpc.orders.values():
                state = _STATES[order["status"]]
                if state is OrderState.CONFIRMED and order["filled"]:
                    state = OrderState.PARTIALLY_FILLED
                out[self._cid(order)] = (state, order["filled"] / chain.BASE_PRECISION)
            return out

    def venue_position(self, market: str) -> float:
        with self.rpc._lock:
            return self.rpc.positions.get(0, {}).get("base", 0) / chain.BASE_PRECISION

    def submissions(self, client_id: str | None = None) -> int:
        with self.rpc._lock:
            places = [s for s in self.rpc.sends if "place_perp_order" in s["ixs"]]
            # the same signature sent again is one submission
            return len({s["signature"] for s in places
                        if client_id is None or s["memo"] == client_id})
