"""``LiveCCXTContext``: live trading on Binance USD-M or another ccxt exchange.

It lives in the flint-binance plugin (``flint_binance.live_context``) and is re-exported
here at its documented path; ``pip install flint-binance`` provides it.
"""

try:
    from flint_binance.live_context import LiveCCXTContext
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "LiveCCXTContext comes with the flint-binance plugin: pip install flint-binance "
        f"(from a checkout: pip install ./plugins/flint-binance) ({exc})"
    ) from exc

__all__ = ["LiveCCXTContext"]
