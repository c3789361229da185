"""Live trading on Hyperliquid, from the flint-hyperliquid plugin (``pip install
flint-hyperliquid``): ``LiveHyperliquidContext`` (docs/live-trading.md)."""

from typing import Any

from flint.providers._plugins import from_plugin

EXPORTS = {"LiveHyperliquidContext": ("flint_hyperliquid.live", "flint-hyperliquid")}


def __getattr__(name: str) -> Any:
    return from_plugin(__name__, name, EXPORTS)
