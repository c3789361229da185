"""The live candle feed (REST polling of the Data API) against the fake Drift: closed bars
once, in order, through 5xx, 429, dropped connections and a venue that stops publishing."""

import pytest
from flint_drift.provider import DriftProvider
from flint_drift.testing import FakeDrift
from flint_drift.testing.fake import _read_rows

from flint.testing.feeds import PollingFeedContract
from flint.testing.venues import FAST_RETRY


class TestDriftFeed(PollingFeedContract):
    @pytest.fixture(autouse=True)
    def _fake(self, fake_data, bounded):
        bounded(60)
        self.data = fake_data
        with FakeDrift.from_data(fake_data, coins=("SOL",)) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return DriftProvider(self.fake.url, self.fake.url, rate_limit=False, retry=FAST_RETRY,
                             clock=lambda: self.fake.now)

    def bars(self):
        return [(int(r[0]), float(r[4]))
                for r in _read_rows(self.data / "hyperliquid-SOL-3600.csv")]
