"""Strategies: the :class:`Strategy` base class and the built-in strategies.

The 20 built-in strategies ship in the ``flint-strategies`` plugin; once it is
installed they import from here (``from flint.strategy import MomentumStrategy``).
"""

from typing import Any

from flint.strategy.base import Strategy

__all__ = ["Strategy"]


def __getattr__(name: str) -> Any:
    if not name.endswith(("Strategy", "Monitor")):
        raise AttributeError(f"module 'flint.strategy' has no attribute {name!r}")
    from flint.plugins import get_host

    for entry in get_host().registry("strategies").entries():
        if getattr(entry.obj, "__name__", None) == name:
            return entry.obj
    raise ImportError(
        f"cannot import name {name!r} from 'flint.strategy': built-in strategies ship in the "
        f"flint-strategies plugin; install it with `pip install flint-strategies` "
        f"(or `pip install ./plugins/flint-strategies` from a checkout)"
    )
