"""Hook implementations of the example plugin.

Only hook glue belongs here; keep the real code in other modules so it can be
tested (and, if you like, compiled) on its own.
"""

from flint.plugins import Register, hookimpl
from flint_example.fills import SpreadFill
from flint_example.indicators import typical_price
from flint_example.strategies import TypicalPriceReversion
from flint_example.venues import EXAMPLE_VENUE

#: The registry kinds this plugin registers into (checked by the conformance kit).
CAPABILITIES = frozenset({"venue_configs", "fill_models", "indicators", "strategies"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the example venue."""
    register(EXAMPLE_VENUE.name, EXAMPLE_VENUE)


@hookimpl
def flint_register_fill_models(register: Register) -> None:
    """Register the example venue's fill model, as that venue's default."""
    register("example_spread", SpreadFill, venues={EXAMPLE_VENUE.name})


@hookimpl
def flint_register_indicators(register: Register) -> None:
    """Register the example indicator."""
    register("typical_price", typical_price)


@hookimpl
def flint_register_strategies(register: Register) -> None:
    """Register the example strategy."""
    register("typical_price_reversion", TypicalPriceReversion, category="mean-reversion",
             style="v1")
