from flint.testing.contracts import PluginContract


class TestHyperliquidPlugin(PluginContract):
    plugin_name = "hyperliquid"
    dist_name = "flint-hyperliquid"
