"""Hook implementations of the flint-binance plugin."""

from typing import Any

from flint import hookimpl
from flint.execution.context import ExecutionContext
from flint.providers.base import DataProvider
from flint_binance.venues import VENUES
from flint_core.registry import Register

CAPABILITIES = frozenset({"venue_configs", "data_providers", "execution_contexts"})

#: What the provider serves (equal to BinanceProvider.capabilities; a test checks it).
PROVIDER_CAPABILITIES = frozenset({"candles", "funding", "open_interest", "orderbook"})


@hookimpl
def flint_register_venue_configs(register: Register) -> None:
    """Register the presets of Binance and the other CCXT exchanges."""
    for name, config in VENUES.items():
        register(name, config)


def binance_provider(**options: Any) -> DataProvider:
    """Binance USD-M (or any CCXT exchange, ``exchange=``) through ccxt: candles, funding,
    open interest (last 30 days) and order books."""
    from flint_binance.provider import BinanceProvider

    return BinanceProvider(**options)


@hookimpl
def flint_register_data_providers(register: Register) -> None:
    """Register the Binance USD-M data provider (venue ``binance``)."""
    register("binance", binance_provider, capabilities=PROVIDER_CAPABILITIES,
             venue=VENUES["binance"].name)


def binance_live_context(mode: str = "live", **options: Any) -> ExecutionContext:
    """Binance USD-M (or any ccxt exchange, ``exchange=``) live trading through ccxt:
    ``LiveCCXTContext(store, **options)``, testnet unless ``network="mainnet"``."""
    from flint_binance.live_context import LiveCCXTContext

    return LiveCCXTContext(**options)


@hookimpl
def flint_register_execution_contexts(register: Register) -> None:
    """Register the Binance USD-M live context (venue ``binance``, live mode only)."""
    register("binance", binance_live_context, modes={"live"})
