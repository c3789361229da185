"""flint plugin for Drift (Solana perpetuals): venue preset and market data (Data API
candles and funding, DLOB books); live trading to come."""

__version__ = "0.1.0"
