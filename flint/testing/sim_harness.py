"""The simulated venue as a :class:`~flint.testing.live_contracts.VenueHarness`: what the
live contract tests drive, and the model for a plugin's harness around its own fake."""

import secrets
from typing import Any

from flint.live.credentials import Secret
from flint.testing.live_contracts import VenueHarness
from flint.testing.sim_adapter import _STATES, KEY_VAR, SECRET_VAR, SimAdapter
from flint.testing.sim_venue import SimVenue
from flint_core.enums import OrderState


class SimHarness(VenueHarness):
    """A :class:`SimVenue` with fresh random keys, and :class:`SimAdapter` s for it."""

    venue = "sim"
    market = "SOL-PERP"
    price = 100.0

    def __init__(self, timeout_s: float = 1.0, request_ttl_s: float = 3.0) -> None:
        self._key, self._secret = f"key-{secrets.token_hex(8)}", secrets.token_hex(16)
        self.timeout_s, self.request_ttl_s = timeout_s, request_ttl_s
        self.sim = SimVenue(api_key=self._key, api_secret=self._secret,
                            marks={self.market: self.price}).start()

    def close(self) -> None:
        self.sim.stop()

    def adapter(self, **options: Any) -> SimAdapter:
        return SimAdapter(self.sim.url, api_key=Secret(KEY_VAR, self._key),
                          api_secret=Secret(SECRET_VAR, self._secret),
                          **{**self._options(), **options})

    def _options(self) -> dict[str, Any]:
        return {"timeout_s": self.timeout_s, "request_ttl_s": self.request_ttl_s}

    def adapter_spec(self, **options: Any) -> dict[str, Any]:
        return {"factory": "flint.testing.sim_adapter:SimAdapter",
                "kwargs": {"url": self.sim.url, **self._options(), **options}}

    def env(self) -> dict[str, str]:
        return {KEY_VAR: self._key, SECRET_VAR: self._secret}

    def secret_values(self) -> tuple[str, ...]:
        return (self._key, self._secret)

    def inject(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        self.sim.inject(op, kind, when=when, delay_s=delay_s)

    def set_mark(self, market: str, price: float) -> None:
        self.sim.set_mark(market, price)

    def fill(self, client_id: str, size: float | None = None) -> None:
        self.sim.fill(client_id, size)

    def place_external(self, market: str, side: str, size: float, price: float) -> str:
        return str(self.sim.place_external(market, side, size, "limit", price)["order"][
            "client_id"])

    def close_by_hand(self, market: str) -> None:
        self.sim.close_by_hand(market)

    def set_position(self, market: str, size: float, entry_price: float) -> None:
        self.sim.set_position(market, size, entry_price)

    def venue_orders(self) -> dict[str, tuple[OrderState, float]]:
        return {cid: (_STATES[o["state"]], o["filled"])
                for cid, o in self.sim.all_orders().items()}

    def venue_position(self, market: str) -> float:
        return self.sim.position(market)

    def submissions(self, client_id: str | None = None) -> int:
        return len(self.sim.submissions(client_id))

    def requests(self) -> list[tuple[str, str, str]]:
        return [(r["op"], r["path"], r["origin"]) for r in self.sim.request_log()]
