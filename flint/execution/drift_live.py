"""``LiveDriftContext``: the live execution context on a Drift account.

A :class:`~flint.execution.live_base.LiveExecutionContext` over the flint-drift plugin's
``DriftAdapter`` (driftpy, a Solana JSON-RPC; devnet unless ``rpc_url`` or
``FLINT_DRIFT_RPC_URL`` says otherwise)::

    from flint.execution.drift_live import LiveDriftContext

    ctx = LiveDriftContext(store, markets={"SOL-PERP": 0})
    ctx.start()

The plugin and driftpy are imported when a context is built, so this module imports
without them; building one without them says what to install.
"""

from typing import Any

from flint.execution.live_base import LiveExecutionContext
from flint.store import FlintStore

INSTALL_HINT = "Drift live trading needs the flint-drift plugin: pip install 'flint-drift[live]'"


class LiveDriftContext(LiveExecutionContext):
    """Live trading on Drift. ``rpc_url`` and ``adapter_options`` (``keypair``,
    ``markets``, ``sub_account_id``, ``send_log``, ``timeout_s``, ``post_only``, ...) go
    to ``flint_drift.live.DriftAdapter``; ``context_options`` to
    :class:`LiveExecutionContext` (``risk``, ``dry_run``, ``adopt_venue_positions``, ...)."""

    def __init__(self, store: FlintStore, rpc_url: str | None = None, *,
                 adapter_options: dict[str, Any] | None = None,
                 **context_options: Any) -> None:
        try:
            from flint_drift.live import DriftAdapter
        except ImportError as exc:
            raise ImportError(f"{INSTALL_HINT} ({exc})") from None
        adapter = DriftAdapter(rpc_url, **(adapter_options or {}))
        super().__init__(adapter, store, **context_options)
