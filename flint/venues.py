"""Venue presets as registered by plugins (``flint_register_venue_configs``)."""

from flint.plugins import get_host
from flint_core.venues import VenueConfig

#: Which plugin provides the presets of a venue, for the "install ..." hint.
VENUE_PLUGINS = {
    "drift": "flint-drift",
    "hyperliquid": "flint-hyperliquid",
    "binance": "flint-binance",
}


def get_venue_config(name: str) -> VenueConfig:
    """The registered preset of venue ``name``; a clear ``KeyError`` when unknown."""
    registry = get_host().registry("venue_configs")
    if name in registry:
        config: VenueConfig = registry.get(name)
        return config
    hint = VENUE_PLUGINS.get(name, "flint-binance" if name else "")
    install = f"; install {hint} to get it" if hint else ""
    raise KeyError(
        f"unknown venue '{name}'{install}. Registered venues: {', '.join(registry.names())}"
    )
