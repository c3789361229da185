"""Live trading on Hyperliquid: :class:`LiveHyperliquidContext`, the live context over
:class:`~flint_hyperliquid.adapter.HyperliquidAdapter` (also importable as
``flint.execution.hyperliquid_live.LiveHyperliquidContext``)."""

from typing import Any

from flint.execution.live_base import LiveExecutionContext
from flint.live.credentials import Secret
from flint.store import FlintStore
from flint_hyperliquid.adapter import HyperliquidAdapter
from flint_hyperliquid.provider import MAINNET_URL, TESTNET_URL

#: Keyword arguments of :class:`HyperliquidAdapter` the context passes on.
ADAPTER_OPTIONS = ("account_address", "timeout_s", "request_ttl_s", "slippage", "post_only",
                   "dead_man_switch_s", "poll_s", "websocket", "resync_s", "rate_limit")


class LiveHyperliquidContext(LiveExecutionContext):
    """``ctx`` on a Hyperliquid account: ``network`` ``testnet`` (default) or ``mainnet``
    picks the API, unless ``url`` names another (a fake venue).

    ``private_key`` is the agent (API) wallet's key, by default the
    ``FLINT_HYPERLIQUID_PRIVATE_KEY`` variable or keyring entry; ``account_address``
    the account it trades for. The other options go to :class:`HyperliquidAdapter`
    (``timeout_s``, ``request_ttl_s``, ``slippage``, ``post_only``,
    ``dead_man_switch_s``, ``poll_s``, ``websocket``, ``resync_s``, ``rate_limit``) or to
    :class:`~flint.execution.live_base.LiveExecutionContext` (``risk``, ``dry_run``, ...).
    """

    def __init__(self, store: FlintStore, *, network: str = "testnet", url: str | None = None,
                 private_key: Secret | None = None, **options: Any) -> None:
        if network not in ("testnet", "mainnet"):
            raise ValueError(f"network must be testnet or mainnet, got {network!r}")
        url = url or (MAINNET_URL if network == "mainnet" else TESTNET_URL)
        adapter_options = {k: options.pop(k) for k in ADAPTER_OPTIONS if k in options}
        adapter = HyperliquidAdapter(url, private_key=private_key, **adapter_options)
        super().__init__(adapter, store, **options)
