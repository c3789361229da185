"""Hook implementations of the flint-hyperliquid plugin."""

from flint import hookimpl
from flint_core.registry import Register
from flint_hyperliquid.venues import HYPERLIQUID

CAPABILITIES = frozenset({"venue_configs"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the Hyperliquid venue preset."""
    register(HYPERLIQUID.name, HYPERLIQUID)
