"""``LiveCCXTContext``: the live execution context of a ccxt exchange account (Binance
USD-M by default), :class:`~flint.execution.live_base.LiveExecutionContext` over a
:class:`~flint_binance.live.CCXTAdapter`. Importable as
``flint.execution.ccxt_live.LiveCCXTContext``."""

import os
from collections.abc import Sequence
from typing import Any

from flint.execution.live_base import LiveExecutionContext
from flint.store import FlintStore
from flint_binance.live import CCXTAdapter
from flint_binance.provider import DEFAULT_EXCHANGE

#: The ccxt exchange id used when none is given.
EXCHANGE_VAR = "FLINT_CCXT_EXCHANGE"


class LiveCCXTContext(LiveExecutionContext):
    """``ctx`` on a ccxt exchange account, journaled in ``store``.

    ``exchange``: a ccxt exchange id (default ``$FLINT_CCXT_EXCHANGE``, else
    ``binanceusdm``); ``network``: ``testnet`` (default: Binance's demo trading, other
    exchanges' sandbox) or ``mainnet``; ``api_url``: send every request to another host
    (a fake venue); ``markets``: markets whose fills are read from the start;
    ``adapter_options``: the rest of :class:`~flint_binance.live.CCXTAdapter`'s options
    (keys, ``timeout_s``, ``recv_window_s``, ``dead_man_s``, ``post_only``, ...);
    ``options``: :class:`~flint.execution.live_base.LiveExecutionContext`'s (``risk``,
    ``dry_run``, ``account``, ``poll_interval_s``, ...).
    """

    def __init__(
        self,
        store: FlintStore,
        *,
        exchange: str | None = None,
        network: str = "testnet",
        api_url: str | None = None,
        markets: Sequence[str] = (),
        adapter_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        adapter = CCXTAdapter(exchange or os.environ.get(EXCHANGE_VAR) or DEFAULT_EXCHANGE,
                              network=network, api_url=api_url, markets=markets,
                              **(adapter_options or {}))
        super().__init__(adapter, store, **options)
