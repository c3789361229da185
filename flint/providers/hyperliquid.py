"""Hyperliquid market data, from the flint-hyperliquid plugin (``pip install flint-hyperliquid``).

``HyperliquidProvider`` serves candles, funding, open interest and L2 books;
``HyperliquidCandleProvider`` and ``HyperliquidFundingProvider`` are its seed names.
"""

from typing import Any

from flint.providers._plugins import from_plugin

_SOURCE = ("flint_hyperliquid.provider", "flint-hyperliquid")
EXPORTS = {
    name: _SOURCE
    for name in ("HyperliquidProvider", "HyperliquidCandleProvider", "HyperliquidFundingProvider",
                 "AssetContext", "MAINNET_URL", "TESTNET_URL")
}


def __getattr__(name: str) -> Any:
    return from_plugin(__name__, name, EXPORTS)
