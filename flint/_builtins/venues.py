"""Built-in plugin: the generic ``default`` venue."""

from flint_core.hookspecs import hookimpl
from flint_core.registry import Register
from flint_core.venues import DEFAULT_VENUE


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the venue used when an order or market names no known venue."""
    register(DEFAULT_VENUE.name, DEFAULT_VENUE)
