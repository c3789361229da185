"""Strategies: the :class:`Strategy` base class and the built-in strategies.

The 20 built-in strategies ship in the ``flint-strategies`` plugin; once it is
installed they import from here (``from flint.strategy import MomentumStrategy``),
as does any strategy class a plugin registers (:func:`flint.plugins.get_strategy`).
"""

from typing import Any

from flint.strategy.base import Strategy

__all__ = ["Strategy"]


def __getattr__(name: str) -> Any:
    if not name.endswith(("Strategy", "Monitor")):
        raise AttributeError(f"module 'flint.strategy' has no attribute {name!r}")
    from flint.plugins import PluginNotFound, get_strategy

    try:
        return get_strategy(name)
    except PluginNotFound as exc:
        raise ImportError(f"cannot import name {name!r} from 'flint.strategy': {exc}") from None
