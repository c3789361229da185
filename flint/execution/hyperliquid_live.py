"""Live trading on Hyperliquid (the flint-hyperliquid plugin): ``LiveHyperliquidContext``."""

try:
    from flint_hyperliquid.live import LiveHyperliquidContext
except ImportError as exc:  # the plugin is not installed
    raise ImportError(
        "LiveHyperliquidContext comes with the Hyperliquid plugin: "
        "pip install flint-hyperliquid"
    ) from exc

__all__ = ["LiveHyperliquidContext"]
