"""flint plugin for Hyperliquid perpetuals: venue preset; data and live trading to come."""

__version__ = "0.1.0"
