"""Drift candles, from the flint-drift plugin (``pip install flint-drift``).

``DriftCandleProvider`` is imported from the plugin on first use, or the error says
which plugin to install.
"""

from typing import Any

from flint.providers._plugins import from_plugin

EXPORTS = {"DriftCandleProvider": ("flint_drift.provider", "flint-drift")}


def __getattr__(name: str) -> Any:
    return from_plugin(__name__, name, EXPORTS)
