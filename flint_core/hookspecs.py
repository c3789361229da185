"""The hooks a flint plugin can implement.

Every hook is a *registration* hook: flint calls it once while it discovers
plugins, never per bar or per order. Registration hooks receive a ``register``
callback with the signature of :class:`flint_core.registry.Register`::

    register(name, obj, *, override=False, description=None, **meta)

A name already registered by another plugin is an error naming both plugins,
unless ``override=True`` (how a plugin replaces a built-in default).
Implementations may accept fewer arguments than a spec declares (pluggy's
opt-in arguments), so hooks evolve by adding arguments, never by removing them.

Each hook is documented, with its exact signature, in ``docs/plugin-hooks.md``; what
it registers is read back through one getter per kind in ``flint.plugins``.
"""

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from flint_core.registry import Register

PROJECT = "flint"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# Data


@hookspec
def flint_register_data_providers(register: "Register") -> None:
    """Register data providers by name.

    :param register: call ``register(name, factory)`` where ``factory(**options)``
        returns a ``flint.providers.base.DataProvider``; meta ``capabilities`` (a set of
        strings such as ``{"candles", "funding"}``) says what it can fetch, and meta
        ``venue`` (a venue name) makes it the source ``flint data download`` uses for
        that venue. Read with ``flint.plugins.get_data_provider``.

    .. versionadded:: 0.1
    """


# Execution


@hookspec
def flint_register_fill_models(register: "Register") -> None:
    """Register fill models by name.

    :param register: call ``register(name, factory)`` where ``factory(**options)``
        returns a fill model; meta ``venues`` (a set of venue names) makes it the
        default fill model of those venues. Read with ``flint.plugins.get_fill_model``.

    .. versionadded:: 0.1
    """


@hookspec
def flint_register_execution_contexts(register: "Register") -> None:
    """Register live and paper execution contexts by venue name.

    :param register: call ``register(venue, factory)`` where
        ``factory(mode=mode, **options)`` returns a
        ``flint.execution.context.ExecutionContext`` trading on that venue; meta
        ``modes`` (subset of ``{"paper", "live"}``, default both) says what it supports.
        Read with ``flint.plugins.get_execution_context``.

    .. versionadded:: 0.1
    """


@hookspec
def flint_register_venue_configs(register: "Register") -> None:
    """Register venue presets (fees, margins, latency, impact, funding interval).

    :param register: call ``register(name, config)`` with a
        :class:`flint_core.venues.VenueConfig` whose ``name`` equals ``name``. Read with
        ``flint.plugins.get_venue_config``.

    .. versionadded:: 0.1
    """


# Research


@hookspec
def flint_register_indicators(register: "Register") -> None:
    """Register indicators by name.

    :param register: call ``register(name, function)`` where
        ``function(history, *args)`` computes the indicator from earlier bars only
        (``flint.plugins.series_indicator`` builds one with the cached per-bar path).
        Read with ``flint.plugins.get_indicator`` (``flint.indicators.get`` in strategies).

    .. versionadded:: 0.1
    """


@hookspec
def flint_register_strategies(register: "Register") -> None:
    """Register strategy classes by name.

    :param register: call ``register(name, cls)`` with a subclass of
        ``flint.strategy.base.Strategy``; meta ``category`` (e.g. ``"trend"``) and
        ``style`` (``"v1"`` or ``"v2"``) describe it. Read with
        ``flint.plugins.get_strategy``.

    .. versionadded:: 0.1
    """


# Command line


@hookspec
def flint_register_commands(cli: "click.Group") -> None:
    """Add subcommands to the ``flint`` command line.

    :param cli: the top-level ``click.Group``; call ``cli.command()`` /
        ``cli.add_command()``. Replacing an existing command is refused.

    .. versionadded:: 0.1
    """
