"""Venue presets as registered by plugins (``flint_register_venue_configs``),
with the user's ``venues.<name>.*`` overrides from flint.yaml merged over them
(endpoint keys ending in ``_url`` are not overrides: see :mod:`flint.providers.endpoints`)."""

from flint.config import FlintConfig, is_endpoint_key, load_config
from flint.plugins import get_host
from flint_core.venues import VenueConfig

#: Which plugin provides the presets of a venue, for the "install ..." hint.
VENUE_PLUGINS = {
    "drift": "flint-drift",
    "hyperliquid": "flint-hyperliquid",
    "binance": "flint-binance",
}


def get_venue_config(name: str, config: FlintConfig | None = None) -> VenueConfig:
    """The preset of venue ``name`` with ``config.venues[name]`` merged over it.

    ``config`` defaults to :func:`flint.config.load_config`; a clear ``KeyError``
    (with the plugin to install) when no plugin registered the venue.
    """
    registry = get_host().registry("venue_configs")
    if name not in registry:
        hint = VENUE_PLUGINS.get(name, "flint-binance" if name else "")
        install = f"; install {hint} to get it" if hint else ""
        raise KeyError(
            f"unknown venue '{name}'{install}. Registered venues: {', '.join(registry.names())}"
        )
    preset: VenueConfig = registry.get(name)
    settings = (config if config is not None else load_config()).venues.get(name, {})
    overrides = {k: v for k, v in settings.items() if not is_endpoint_key(k)}
    return preset.merged(overrides) if overrides else preset
