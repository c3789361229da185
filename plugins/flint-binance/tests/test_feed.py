"""The live candle feed (REST polling) against the fake Binance USD-M: closed bars once, in
order, through 5xx, 429, dropped connections and a venue that stops publishing."""

import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance
from flint_binance.testing.fake import _read_rows

from flint.testing.feeds import FAST_RETRY, PollingFeedContract


class TestBinanceFeed(PollingFeedContract):
    @pytest.fixture(autouse=True)
    def _fake(self, fake_data, bounded):
        bounded(60)
        self.data = fake_data
        with FakeBinance.from_data(fake_data, symbols=("SOLUSDT",)) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return BinanceProvider(self.fake.url, rate_limit=False, retry=FAST_RETRY,
                               clock=lambda: self.fake.now)

    def bars(self):
        return [(int(r[0]), float(r[4]))
                for r in _read_rows(self.data / "binance-SOLUSDT-3600.csv")]
