"""Built-in plugin: the fill models of the core."""

from flint.execution.fill_models import (
    ClosePriceFill,
    FillPipeline,
    NextBarOpenFill,
    SlippageFill,
)
from flint_core.hookspecs import hookimpl
from flint_core.registry import Register


@hookimpl
def flint_register_fill_models(register: Register) -> None:
    """Register the close, next-bar-open, slippage and pipeline fill models."""
    register("close", ClosePriceFill)
    register("next_bar_open", NextBarOpenFill)
    register("slippage", SlippageFill)
    register("pipeline", FillPipeline)
