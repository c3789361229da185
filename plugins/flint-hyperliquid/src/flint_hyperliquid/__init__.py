"""flint plugin for Hyperliquid perpetuals: venue preset and market data (historical and live)."""

__version__ = "0.1.0"
