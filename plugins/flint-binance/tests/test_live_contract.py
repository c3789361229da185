"""flint's live contract kit (flint.testing.live_contracts) against the fake Binance USD-M,
through the real ccxt client: every ambiguous submit and cancel ends with one order, fills
are booked once, reconciliation, risk states, keys, and kill -9 at every dangerous point."""

import pytest
from flint_binance.testing.harness import BinanceHarness

from flint.testing.live_contracts import (
    CrashContract,
    LiveContextContract,
    VenueAdapterContract,
)


class _Data:
    @pytest.fixture(autouse=True)
    def _data(self, fake_data):
        self.data = fake_data

    def make_harness(self) -> BinanceHarness:
        return BinanceHarness(self.data)


class TestBinanceAdapter(_Data, VenueAdapterContract):
    pass


class TestBinanceLive(_Data, LiveContextContract):
    pass


class TestBinanceCrashes(_Data, CrashContract):
    pass
