"""Hook implementations of the flint-binance plugin."""

from flint import hookimpl
from flint_binance.venues import VENUES
from flint_core.registry import Register

CAPABILITIES = frozenset({"venue_configs"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the presets of Binance and the other CCXT exchanges."""
    for name, config in VENUES.items():
        register(name, config)
