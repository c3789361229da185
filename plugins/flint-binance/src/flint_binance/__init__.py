"""flint plugin for Binance and other CCXT exchanges: venue presets; data and live to come."""

__version__ = "0.1.0"
