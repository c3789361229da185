"""flint plugin with the built-in strategies (importable from ``flint.strategy``)."""

__version__ = "0.1.0"
