import pytest
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid

from flint.testing.contracts import DataProviderContract, PluginContract


class TestHyperliquidPlugin(PluginContract):
    plugin_name = "hyperliquid"
    dist_name = "flint-hyperliquid"


class TestHyperliquidProvider(DataProviderContract):
    """The provider contract against the fake Hyperliquid serving the real SOL data."""

    market = "SOL-PERP"

    @pytest.fixture(autouse=True)
    def _fake(self, fake_data):
        with FakeHyperliquid.from_data(fake_data, coins=("SOL",), candle_window=None) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return HyperliquidProvider(self.fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: self.fake.now)

    def span(self):
        return (1735689600, 1738368000)  # January 2025: 744 candles, 2 funding pages
