"""pytest fixtures of the conformance kit (``pytest_plugins = ["flint.testing.plugin"]``)."""

from collections.abc import Callable
from typing import Any

import pytest

from flint.plugins import make_host
from flint_core.plugins import PluginHost


@pytest.fixture
def make_flint_host() -> Callable[..., PluginHost]:
    """Factory for fresh plugin hosts: ``make_flint_host(load=["drift"], strict=True)``."""

    def factory(**options: Any) -> PluginHost:
        return make_host(**options)

    return factory


@pytest.fixture
def flint_host(make_flint_host: Callable[..., PluginHost]) -> PluginHost:
    """A fresh host with the built-ins and every installed plugin (errors reported, not raised)."""
    return make_flint_host(strict=False)
