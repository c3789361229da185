"""Plugins in one place: the plugin host, one getter per registry kind, and the names
plugin authors import.

Everything plugins register (see ``docs/plugin-hooks.md``) is read through one getter
per registry kind:

- ``flint_register_strategies``: :func:`get_strategy` (the class);
- ``flint_register_indicators``: :func:`get_indicator` (the function);
- ``flint_register_venue_configs``: :func:`get_venue_config` (with ``flint.yaml`` merged);
- ``flint_register_fill_models``: :func:`get_fill_model` (a new model; a venue's default);
- ``flint_register_data_providers``: :func:`get_data_provider` (a new provider);
- ``flint_register_execution_contexts``: :func:`get_execution_context` (a new context);
- ``flint_register_commands``: the ``flint`` command line adds them.

An unknown name raises :class:`PluginNotFound` (a ``KeyError``) listing what is
registered and, when another distribution provides it, what to ``pip install``.

``get_host()`` builds the host once per process (lazily, on first use); tests and
tools that need a fresh one call :func:`make_host`.
"""

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flint.execution.fill_models import FillModel, FillQuote
from flint.indicators import series_indicator
from flint.strategy.base import Strategy
from flint_core.hookspecs import hookimpl
from flint_core.indicators import Indicator
from flint_core.plugins import PluginHost, metadata_version
from flint_core.registry import PluginNotFound, Register, Registration, Registry
from flint_core.terms import VenueTerms
from flint_core.venues import VenueConfig

if TYPE_CHECKING:
    from flint.config import FlintConfig
    from flint.execution.context import ExecutionContext
    from flint.providers.base import DataProvider

__all__ = [
    "DEFAULT_FILL_MODEL", "FillModel", "FillQuote", "Indicator", "PluginNotFound", "Register",
    "Strategy", "VenueConfig", "VenueTerms", "default_fill_model", "get_data_provider",
    "get_execution_context", "get_fill_model", "get_host", "get_indicator", "get_strategy",
    "get_venue_config", "hookimpl", "make_host", "registry", "series_indicator",
]

#: Built-in plugins, registered before any entry point so plugins can override them.
DEFAULT_PLUGINS = (
    "flint._builtins.venues",
    "flint._builtins.providers",
    "flint._builtins.indicators",
    "flint._builtins.fills",
)

#: The fill model of a venue no registered fill model names in its ``venues``.
DEFAULT_FILL_MODEL = "pipeline"

#: Other spellings of registered fill model names.
FILL_MODEL_ALIASES = {"next_open": "next_bar_open"}

#: The first-party distribution that provides a venue (its presets, data, fills and live
#: trading); flint-binance covers Binance and the other CCXT exchanges it has presets for.
VENUE_PLUGINS = {
    "drift": "flint-drift",
    "hyperliquid": "flint-hyperliquid",
    **{
        name: "flint-binance"
        for name in ("binance", "okx", "bybit", "dydx", "coinbase", "kraken", "kucoin",
                     "gate", "bitget", "mexc", "htx")
    },
}

#: Execution context modes.
MODES = frozenset({"paper", "live"})


def _strategy(name: str, obj: object) -> str | None:
    from flint.strategy.base import check_parameters

    if not (isinstance(obj, type) and issubclass(obj, Strategy)):
        return f"expected a subclass of flint.strategy.base.Strategy, got {obj!r}"
    if getattr(obj, "__abstractmethods__", None):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        return f"{obj.__name__} does not implement {missing}"
    problems = check_parameters(obj.parameters())
    return f"invalid parameters(): {'; '.join(problems)}" if problems else None


def _fill_model(name: str, obj: object) -> str | None:
    if name == "default":
        return "'default' is reserved: it asks for a venue's default fill model"
    return None if callable(obj) else f"expected a class or callable, got {type(obj).__name__}"


def make_host(
    *,
    entry_points: bool = True,
    load: Iterable[str] | None = None,
    disable: Iterable[str] | None = None,
    strict: bool | None = None,
    trace: bool | None = None,
) -> PluginHost:
    """A new plugin host with the built-ins and (by default) every installed plugin."""
    return PluginHost(
        DEFAULT_PLUGINS,
        entry_points=entry_points,
        validators={"strategies": _strategy, "fill_models": _fill_model},
        load=load,
        disable=disable,
        strict=strict,
        trace=trace,
    )


@functools.cache
def get_host() -> PluginHost:
    """The process-wide plugin host, built on first use."""
    return make_host()


def registry(kind: str) -> Registry[Any]:
    """Shortcut for ``get_host().registry(kind)``: every registration of ``kind``."""
    return get_host().registry(kind)


# Getters


def _hint(kind: str, name: str) -> str | None:
    """How to get ``name`` of ``kind``: the distribution to install, or why the installed
    one did not provide it."""
    dist = "flint-strategies" if kind == "strategies" else VENUE_PLUGINS.get(name)
    if dist is None:
        if kind == "venue_configs":
            return ("no first-party plugin describes it: register a VenueConfig from a "
                    "plugin or pass one to the engine (venues=)")
        return None
    if metadata_version(dist) is None:
        return f"install {dist} to get it (`pip install {dist}`)"
    for info in get_host().plugins.values():
        if info.dist == dist and info.status == "disabled":
            return f"{dist} is installed but not loaded (FLINT_LOAD_PLUGINS, FLINT_DISABLE_PLUGINS)"
        if info.dist == dist and info.status == "error":
            return f"{dist} is installed but failed to load: {info.errors[0]}"
    return None


def lookup(kind: str, name: str, entries: Registry[Any] | None = None) -> Registration[Any]:
    """The registration of ``name`` in ``entries`` (default: the host's ``kind`` registry);
    :class:`PluginNotFound` says what is registered and how to get more."""
    entries = registry(kind) if entries is None else entries
    try:
        return entries.entry(name)
    except PluginNotFound as exc:
        raise PluginNotFound(exc.kind, name, exc.registered, hint=_hint(kind, name)) from None


def _built(entry: Registration[Any], made: object, base: type) -> Any:
    if not isinstance(made, base):
        raise TypeError(
            f"{entry.kind} '{entry.name}' ({entry.provenance}) built a {type(made).__name__}, "
            f"not a {base.__module__}.{base.__qualname__}"
        )
    return made


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as ``name`` (``"ma_crossover"``), or by its class
    name (``"MACrossoverStrategy"``)."""
    strategies = registry("strategies")
    if name not in strategies:
        for entry in strategies.entries():
            if entry.obj.__name__ == name:
                return entry.obj  # type: ignore[no-any-return]
    return lookup("strategies", name).obj  # type: ignore[no-any-return]


def get_indicator(name: str) -> Callable[..., Any]:
    """The indicator registered as ``name`` (flint's own, such as ``"sma"``, or a plugin's)."""
    return lookup("indicators", name).obj  # type: ignore[no-any-return]


def get_venue_config(name: str, config: "FlintConfig | None" = None) -> VenueConfig:
    """The preset of venue ``name`` with ``config.venues[name]`` merged over it (except
    endpoint keys ending in ``_url``: see :mod:`flint.providers.endpoints`).

    ``config`` defaults to :func:`flint.config.load_config` (``./flint.yaml``).
    """
    from flint.config import is_endpoint_key, load_config

    preset: VenueConfig = lookup("venue_configs", name).obj
    settings = (config if config is not None else load_config()).venues.get(name, {})
    overrides = {k: v for k, v in settings.items() if not is_endpoint_key(k)}
    return preset.merged(overrides) if overrides else preset


def default_fill_model(venue: str) -> str:
    """The name of ``venue``'s default fill model: the one registered with ``venue`` in its
    ``venues``, else :data:`DEFAULT_FILL_MODEL`. Two such models are an error."""
    claims = [e for e in registry("fill_models").entries() if venue in e.meta.get("venues", ())]
    if len(claims) > 1:
        named = " and ".join(f"'{e.name}' ({e.provenance})" for e in claims)
        raise ValueError(
            f"fill models {named} both claim to be the default of venue '{venue}'; "
            f"pass a fill model by name"
        )
    return claims[0].name if claims else DEFAULT_FILL_MODEL


def get_fill_model(name: str | None = None, *, venue: str | None = None, **options: Any) -> Any:
    """A new fill model: the one registered as ``name`` (``close``, ``pipeline``, ...), or,
    when ``name`` is ``None`` or ``"default"``, the default of ``venue``
    (:func:`default_fill_model`; :data:`DEFAULT_FILL_MODEL` without a venue).
    ``options`` go to the model's factory."""
    if name is None or name == "default":
        name = default_fill_model(venue) if venue is not None else DEFAULT_FILL_MODEL
    entry = lookup("fill_models", FILL_MODEL_ALIASES.get(name, name))
    return _built(entry, entry.obj(**options), FillModel)


def get_data_provider(
    name: str, *, config: "FlintConfig | None" = None, **options: Any
) -> "DataProvider":
    """A new data provider ``name``, built with ``providers.<name>`` of the configuration
    (``config``, else :func:`flint.config.load_config`) updated by ``options``."""
    return make_data_provider(lookup("data_providers", name), config, options)


def make_data_provider(
    entry: Registration[Any], config: "FlintConfig | None", options: dict[str, Any]
) -> "DataProvider":
    """The provider ``entry`` registers, built with its configured and given options."""
    from flint.config import load_config
    from flint.providers.base import DataProvider

    settings = (config if config is not None else load_config()).providers.get(entry.name, {})
    return _built(entry, entry.obj(**{**settings, **options}), DataProvider)  # type: ignore[no-any-return]


def get_execution_context(venue: str, mode: str, **options: Any) -> "ExecutionContext":
    """A new execution context trading on ``venue`` in ``mode`` (``"paper"`` or ``"live"``),
    built as ``factory(mode=mode, **options)``."""
    from flint.execution.context import ExecutionContext

    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    entry = lookup("execution_contexts", venue)
    modes = entry.meta.get("modes", MODES)
    if mode not in modes:
        raise PluginNotFound(
            entry.kind, venue, [f"{venue} ({', '.join(sorted(modes))})"],
            reason=f"the execution context of venue '{venue}' ({entry.provenance}) has no "
                   f"{mode} mode",
        )
    made = entry.obj(mode=mode, **options)
    return _built(entry, made, ExecutionContext)  # type: ignore[no-any-return]
