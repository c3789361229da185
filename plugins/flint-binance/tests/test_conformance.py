from flint.testing.contracts import PluginContract


class TestBinancePlugin(PluginContract):
    plugin_name = "binance"
    dist_name = "flint-binance"
