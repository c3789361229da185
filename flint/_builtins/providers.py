"""Built-in plugin: the ``file`` and ``sample`` data providers.

The factories import their provider on first use, so discovering plugins (every
``flint`` command) does not load DuckDB and Arrow.
"""

from typing import Any

from flint.providers.base import DataProvider
from flint_core.hookspecs import hookimpl
from flint_core.registry import Register

#: What each provider serves (equal to its class's ``capabilities``; a test checks it).
CAPABILITIES = {
    "file": frozenset({"candles", "funding", "open_interest", "borrow_rates", "orderbook"}),
    "sample": frozenset({"candles", "funding", "open_interest", "orderbook"}),
}


def file_provider(**options: Any) -> DataProvider:
    """CSV/Parquet files named <venue>-<SYMBOL>-<what>, or a flint Parquet export."""
    from flint.providers.files import FileProvider

    return FileProvider(**options)


def sample_provider(**options: Any) -> DataProvider:
    """Deterministic synthetic BTC/ETH/SOL perps on hyperliquid and binance, offline."""
    from flint.providers.sample import SampleProvider

    return SampleProvider(**options)


@hookimpl
def flint_register_data_providers(register: Register) -> None:
    """Register the providers that need no network."""
    register("file", file_provider, capabilities=CAPABILITIES["file"])
    register("sample", sample_provider, capabilities=CAPABILITIES["sample"])
