"""Test fixtures of flint-drift for any test suite: a fake Drift Data API and DLOB server
(and, needing the ``live`` extra, ``solana_rpc.FakeSolanaRPC`` and ``harness.DriftHarness``
for live trading).

    from flint_drift.testing import FakeDrift

Needs ``flint-sdk[testing]``. The fake is reusable: the conformance kit's provider
contract runs against it, and live-trading tests can add endpoints to it.
"""

from flint_drift.testing.fake import FakeDrift

__all__ = ["FakeDrift"]
