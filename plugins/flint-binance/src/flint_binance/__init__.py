"""flint plugin for Binance and other CCXT exchanges: venue presets and market data through ccxt."""

__version__ = "0.1.0"
