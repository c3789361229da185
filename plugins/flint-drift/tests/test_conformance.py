import pytest
from flint_drift.provider import DriftProvider
from flint_drift.testing import FakeDrift

from flint.testing.contracts import DataProviderContract, PluginContract


class TestDriftPlugin(PluginContract):
    plugin_name = "drift"
    dist_name = "flint-drift"


class TestDriftProvider(DataProviderContract):
    """The provider contract against the fake Drift serving the real Hyperliquid SOL data
    re-labelled as Drift's SOL-PERP (the project has no Drift data)."""

    market = "SOL-PERP"

    @pytest.fixture(autouse=True)
    def _fake(self, fake_data):
        with FakeDrift.from_data(fake_data, coins=("SOL",)) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return DriftProvider(self.fake.url, self.fake.url, rate_limit=False,
                             clock=lambda: self.fake.now)

    def span(self):
        return (1735689600, 1738368000)  # January 2025: 744 candles (a full page), 31 days
