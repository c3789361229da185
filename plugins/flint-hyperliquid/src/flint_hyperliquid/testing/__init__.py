"""Test fixtures of flint-hyperliquid for any test suite: a fake Hyperliquid server.

    from flint_hyperliquid.testing import FakeHyperliquid

Needs ``flint-sdk[testing]``. The fake is reusable: the conformance kit's provider
contract runs against it, and live-trading tests add the exchange endpoints.
"""

from flint_hyperliquid.testing.fake import FakeHyperliquid

__all__ = ["FakeHyperliquid"]
