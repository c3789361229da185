"""Hook implementations of the flint-strategies plugin."""

from flint import hookimpl
from flint_core.registry import Register
from flint_strategies.ma_crossover import MACrossoverStrategy

CAPABILITIES = frozenset({"strategies"})


@hookimpl
def flint_register_strategies(register: Register) -> None:
    """Register the built-in strategies."""
    register("ma_crossover", MACrossoverStrategy, category="trend", style="v1")
