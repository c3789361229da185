"""Built-in plugin: the indicators of :mod:`flint.indicators`."""

from flint import indicators
from flint_core.hookspecs import hookimpl
from flint_core.registry import Register


@hookimpl
def flint_register_indicators(register: Register) -> None:
    """Register every indicator of :mod:`flint.indicators` under its own name."""
    for name in indicators.BUILT_IN:
        function = getattr(indicators, name)
        register(name, function, description=(function.__doc__ or "").split("\n")[0])
