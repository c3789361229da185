"""An example flint plugin: copy plugins/_template to start your own."""

__version__ = "0.1.0"
