from flint.testing.contracts import PluginContract


class TestStrategiesPlugin(PluginContract):
    plugin_name = "strategies"
    dist_name = "flint-strategies"
