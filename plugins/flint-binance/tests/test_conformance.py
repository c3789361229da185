import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance

from flint.testing.contracts import DataProviderContract, PluginContract


class TestBinancePlugin(PluginContract):
    plugin_name = "binance"
    dist_name = "flint-binance"


class TestBinanceProvider(DataProviderContract):
    """The provider contract against the fake Binance USD-M serving the real SOL data."""

    market = "SOL-PERP"

    @pytest.fixture(autouse=True)
    def _fake(self, fake_data):
        with FakeBinance.from_data(fake_data, symbols=("SOLUSDT",)) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return BinanceProvider(self.fake.url, rate_limit=False, clock=lambda: self.fake.now)

    def span(self):
        return (1667260800, 1675209600)  # Nov 2022 .. Jan 2023: 3 candle pages, 4/2/8 h funding
