pytest_plugins = ["flint.testing.plugin"]
