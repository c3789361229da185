"""Venue presets as registered by plugins (``flint_register_venue_configs``),
with the user's ``venues.<name>.*`` overrides from flint.yaml merged over them
(endpoint keys ending in ``_url`` are not overrides: see :mod:`flint.providers.endpoints`)."""

from collections.abc import Iterable

from flint.config import FlintConfig, is_endpoint_key, load_config
from flint.plugins import get_host
from flint_core.venues import VenueConfig

#: Which first-party plugin provides the preset of a venue, for the "install ..." hint.
VENUE_PLUGINS = {
    "drift": "flint-drift",
    "hyperliquid": "flint-hyperliquid",
    **{
        name: "flint-binance"
        for name in ("binance", "okx", "bybit", "dydx", "coinbase", "kraken", "kucoin",
                     "gate", "bitget", "mexc", "htx")
    },
}


def unknown_venue_message(name: str, registered: Iterable[str]) -> str:
    """Why venue ``name`` has no config: the plugin to install, or how to give one."""
    plugin = VENUE_PLUGINS.get(name)
    fix = (
        f"install {plugin} to get it" if plugin else
        "no first-party plugin describes it: register a VenueConfig from a plugin or pass "
        "one to the engine (venues=)"
    )
    return f"unknown venue '{name}'; {fix}. Registered venues: {', '.join(registered)}"


def get_venue_config(name: str, config: FlintConfig | None = None) -> VenueConfig:
    """The preset of venue ``name`` with ``config.venues[name]`` merged over it.

    ``config`` defaults to :func:`flint.config.load_config`; a clear ``KeyError``
    (with the plugin to install) when no plugin registered the venue.
    """
    registry = get_host().registry("venue_configs")
    if name not in registry:
        raise KeyError(unknown_venue_message(name, registry.names()))
    preset: VenueConfig = registry.get(name)
    settings = (config if config is not None else load_config()).venues.get(name, {})
    overrides = {k: v for k, v in settings.items() if not is_endpoint_key(k)}
    return preset.merged(overrides) if overrides else preset
