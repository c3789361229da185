"""Hook implementations of the flint-hyperliquid plugin."""

from typing import Any

from flint import hookimpl
from flint.providers.base import DataProvider
from flint_core.registry import Register
from flint_hyperliquid.venues import HYPERLIQUID

CAPABILITIES = frozenset({"venue_configs", "data_providers", "execution_contexts"})

#: What the provider serves (equal to HyperliquidProvider.capabilities; a test checks it).
PROVIDER_CAPABILITIES = frozenset({"candles", "funding", "open_interest", "orderbook"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the Hyperliquid venue preset."""
    register(HYPERLIQUID.name, HYPERLIQUID)


def hyperliquid_provider(**options: Any) -> DataProvider:
    """Hyperliquid perps: candles, funding, open interest and L2 books (POST /info)."""
    from flint_hyperliquid.provider import HyperliquidProvider

    return HyperliquidProvider(**options)


@hookimpl
def flint_register_data_providers(register: Register) -> None:
    """Register the Hyperliquid data provider (venue ``hyperliquid``)."""
    register("hyperliquid", hyperliquid_provider, capabilities=PROVIDER_CAPABILITIES,
             venue=HYPERLIQUID.name)


def hyperliquid_live(mode: str = "live", **options: Any) -> Any:
    """Live trading on Hyperliquid (testnet by default): LiveHyperliquidContext."""
    from flint_hyperliquid.live import LiveHyperliquidContext

    return LiveHyperliquidContext(**options)


@hookimpl
def flint_register_execution_contexts(register: Register) -> None:
    """Register the Hyperliquid live context (venue ``hyperliquid``, mode ``live``)."""
    register(HYPERLIQUID.name, hyperliquid_live, modes={"live"})
