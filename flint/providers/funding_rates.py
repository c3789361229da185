"""Funding-rate providers of the venue plugins, under the seed's module path.

``HyperliquidFundingProvider`` (flint-hyperliquid), ``BinanceFundingProvider``
(flint-binance), ``DriftFundingProvider`` (flint-drift): each is imported from its
plugin on first use, or the error says which plugin to ``pip install``.
"""

from typing import Any

from flint.providers._plugins import from_plugin

EXPORTS = {
    "HyperliquidFundingProvider": ("flint_hyperliquid.provider", "flint-hyperliquid"),
    "BinanceFundingProvider": ("flint_binance.provider", "flint-binance"),
    "DriftFundingProvider": ("flint_drift.provider", "flint-drift"),
}


def __getattr__(name: str) -> Any:
    return from_plugin(__name__, name, EXPORTS)
