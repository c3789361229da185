"""Test fixtures of flint-binance for any test suite: a fake Binance USD-M server.

    from flint_binance.testing import FakeBinance

Needs ``flint-sdk[testing]``. The fake is reusable: the conformance kit's provider
contract runs against it, and live-trading tests can add the order endpoints.
"""

from flint_binance.testing.fake import FakeBinance

__all__ = ["FakeBinance"]
