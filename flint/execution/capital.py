"""Per-venue cash and transfers between venues (opt-in).

With a :class:`VenueAllocator`, each venue it names trades from its own account,
starting with its balance; any capital not allocated stays in a ``default`` account
that every other venue trades from. A transfer is debited (amount plus the route's
cost) from the source at once and credited to the target once the route's delay has
passed; money in transit still counts in equity.
"""

import math
from collections.abc import Mapping
from typing import Any

import attrs

from flint_core.ledger import Transfer


def _non_negative(instance: object, attribute: "attrs.Attribute[float]", value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen
class TransferRoute:
    """How long a transfer takes (seconds) and what it costs (quote currency)."""

    time_s: float = attrs.field(default=1800.0, converter=float, validator=_non_negative)
    cost_usd: float = attrs.field(default=1.0, converter=float, validator=_non_negative)


class VenueAllocator:
    """Starting cash per venue account, and the transfer routes between them.

    ``default`` applies to every route not in ``routes`` (keyed ``(source, target)``).
    """

    def __init__(
        self,
        initial_balances: Mapping[str, float],
        default: TransferRoute | None = None,
        routes: Mapping[tuple[str, str], TransferRoute] | None = None,
    ) -> None:
        balances: dict[str, float] = {}
        for venue, amount in dict(initial_balances).items():
            if not isinstance(venue, str) or not venue:
                raise ValueError(f"venue names must be non-empty strings, got {venue!r}")
            value = float(amount)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(
                    f"balance of '{venue}' must be a finite number >= 0, got {amount!r}"
                )
            balances[venue] = value
        if not balances:
            raise ValueError("a VenueAllocator needs at least one venue balance")
        self.initial_balances = balances
        self.default = default if default is not None else TransferRoute()
        self.routes = dict(routes or {})
        for key, route in self.routes.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"route keys are (source, target) pairs, got {key!r}")
            if not isinstance(route, TransferRoute):
                raise TypeError(f"route {key} must be a TransferRoute, got {route!r}")

    @property
    def total(self) -> float:
        """Sum of the starting balances."""
        return sum(self.initial_balances.values())

    def route(self, source: str, target: str) -> TransferRoute:
        """The route used from ``source`` to ``target``."""
        return self.routes.get((source, target), self.default)

    def __repr__(self) -> str:
        return f"VenueAllocator({self.initial_balances!r})"


def transfer_record(transfer: Transfer) -> dict[str, Any]:
    """A transfer as a plain dict (accounts by name)."""
    return {
        "from": transfer.source.name, "to": transfer.target.name, "amount": transfer.amount,
        "cost": transfer.cost, "sent_ts": transfer.sent_ts, "arrival_ts": transfer.arrival_ts,
        "arrived": transfer.arrived,
    }
