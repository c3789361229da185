"""flint plugin for Drift (Solana perpetuals): venue preset and market data (Data API
candles and funding, DLOB books) and live trading through driftpy (``flint_drift.live``)."""

__version__ = "0.1.0"
