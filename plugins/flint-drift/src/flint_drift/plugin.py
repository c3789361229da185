"""Hook implementations of the flint-drift plugin."""

from flint import hookimpl
from flint_core.registry import Register
from flint_drift.venues import DRIFT

CAPABILITIES = frozenset({"venue_configs"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the Drift venue preset."""
    register(DRIFT.name, DRIFT)
