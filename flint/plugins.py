"""The SDK's view of the plugin host: built-in plugins and the shared host.

``get_host()`` builds the host once per process (lazily, on first use); tests and
tools that need a fresh one call :func:`make_host`.
"""

import functools
from collections.abc import Iterable

from flint_core.plugins import PluginHost
from flint_core.registry import Registry

#: Built-in plugins, registered before any entry point so plugins can override them.
DEFAULT_PLUGINS = (
    "flint._builtins.venues",
    "flint._builtins.providers",
    "flint._builtins.indicators",
    "flint._builtins.fills",
)

def _strategy(name: str, obj: object) -> str | None:
    from flint.strategy.base import Strategy, check_parameters

    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        return f"expected a subclass of flint.strategy.base.Strategy, got {obj!r}"
    if getattr(obj, "__abstractmethods__", None):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        return f"{obj.__name__} does not implement {missing}"
    problems = check_parameters(obj.parameters())
    return f"invalid parameters(): {'; '.join(problems)}" if problems else None


def make_host(
    *,
    entry_points: bool = True,
    load: Iterable[str] | None = None,
    disable: Iterable[str] | None = None,
    strict: bool | None = None,
) -> PluginHost:
    """A new plugin host with the built-ins and (by default) every installed plugin."""
    return PluginHost(
        DEFAULT_PLUGINS,
        entry_points=entry_points,
        validators={"strategies": _strategy},
        load=load,
        disable=disable,
        strict=strict,
    )


@functools.cache
def get_host() -> PluginHost:
    """The process-wide plugin host, built on first use."""
    return make_host()


def registry(kind: str) -> Registry[object]:
    """Shortcut for ``get_host().registry(kind)``."""
    return get_host().registry(kind)
