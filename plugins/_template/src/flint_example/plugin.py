"""Hook implementations of the example plugin.

Only hook glue belongs here; keep the real code in other modules so it can be
tested (and, if you like, compiled) on its own.
"""

from flint import hookimpl
from flint_core.registry import Register
from flint_example.indicators import typical_price
from flint_example.venues import EXAMPLE_VENUE

#: The registry kinds this plugin registers into (checked by the conformance kit).
CAPABILITIES = frozenset({"venue_configs", "indicators"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the example venue."""
    register(EXAMPLE_VENUE.name, EXAMPLE_VENUE)


@hookimpl
def flint_register_indicators(register: Register) -> None:
    """Register the example indicator."""
    register("typical_price", typical_price)
