"""Hook implementations of the flint-drift plugin."""

from typing import Any

from flint import hookimpl
from flint.providers.base import DataProvider
from flint_core.registry import Register
from flint_drift.venues import DRIFT

CAPABILITIES = frozenset({"venue_configs", "data_providers"})

#: What the provider serves (equal to DriftProvider.capabilities; a test checks it).
PROVIDER_CAPABILITIES = frozenset({"candles", "funding", "orderbook"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the Drift venue preset."""
    register(DRIFT.name, DRIFT)


def drift_provider(**options: Any) -> DataProvider:
    """Drift perps: candles and funding (Data API), L2 books (DLOB server)."""
    from flint_drift.provider import DriftProvider

    return DriftProvider(**options)


@hookimpl
def flint_register_data_providers(register: Register) -> None:
    """Register the Drift data provider (venue ``drift``)."""
    register("drift", drift_provider, capabilities=PROVIDER_CAPABILITIES, venue=DRIFT.name)
