"""flint: research, backtest, paper trade and live trade crypto perpetual futures.

Plugins mark their hook implementations with :data:`hookimpl`::

    from flint import hookimpl

    @hookimpl
    def flint_register_venue_configs(register): ...

Everything else a plugin author needs (``Register``, ``VenueConfig``, ``FillModel``,
``FillQuote``, ``Strategy``, ``series_indicator``, the getters) is in :mod:`flint.plugins`.
"""

from flint_core import PLUGIN_API_VERSION, __version__
from flint_core.hookspecs import hookimpl

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl"]
