from flint.testing.contracts import PluginContract


class TestExamplePlugin(PluginContract):
    plugin_name = "example"
    dist_name = "flint-example"
