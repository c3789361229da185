"""Test fixtures of flint-binance for any test suite: a fake Binance USD-M server.

    from flint_binance.testing import FakeBinance

Needs ``flint-sdk[testing]``. The fake is reusable: the conformance kit's provider
contract runs against it, and with :meth:`FakeBinance.enable_trading` it trades too
(:mod:`flint_binance.testing.trading`); :mod:`flint_binance.testing.harness` holds the
live adapter to flint's live contract kit against it.
"""

from flint_binance.testing.fake import FakeBinance

__all__ = ["FakeBinance"]
