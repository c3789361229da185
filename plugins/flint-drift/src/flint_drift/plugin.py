"""Hook implementations of the flint-drift plugin."""

from typing import Any

from flint import hookimpl
from flint.providers.base import DataProvider
from flint_core.registry import Register
from flint_drift.venues import DRIFT

CAPABILITIES = frozenset({"venue_configs", "data_providers", "execution_contexts"})

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


def drift_live_context(mode: str = "live", **options: Any) -> Any:
    """``LiveDriftContext(**options)`` (``store`` required): live trading on Drift."""
    from flint.execution.drift_live import LiveDriftContext

    return LiveDriftContext(**options)


@hookimpl
def flint_register_execution_contexts(register: Register) -> None:
    """Register Drift's live execution context (venue ``drift``, live mode only)."""
    register(DRIFT.name, drift_live_context, modes={"live"})
