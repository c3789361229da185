from flint.testing.contracts import PluginContract


class TestDriftPlugin(PluginContract):
    plugin_name = "drift"
    dist_name = "flint-drift"
