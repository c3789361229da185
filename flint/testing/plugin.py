"""pytest fixtures of the conformance kit (``pytest_plugins = ["flint.testing.plugin"]``)."""

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flint.plugins import make_host
from flint.testing.fakes import FakeVenueServer
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


@pytest.fixture
def fake_http_server() -> Iterator[FakeVenueServer]:
    """A started :class:`~flint.testing.fakes.FakeVenueServer` on 127.0.0.1 (add routes
    with ``route(method, path, handler)``; point your provider or context at ``.url``)."""
    with FakeVenueServer() as server:
        yield server


def real_data_dir(rootpath: Path) -> Path:
    """Where real market data lives: ``$FLINT_TEST_DATA`` or ``<rootpath>/../shared/data``."""
    configured = os.environ.get("FLINT_TEST_DATA")
    return Path(configured) if configured else rootpath.parent / "shared" / "data"


@pytest.fixture(scope="session")
def flint_test_data(pytestconfig: pytest.Config) -> Path:
    """Folder of real market data (see :func:`real_data_dir`); skips, saying why, when absent."""
    path = real_data_dir(pytestconfig.rootpath)
    if not (path / "README.md").is_file():
        pytest.skip(
            f"real market data not found at {path}: set FLINT_TEST_DATA to the shared data folder"
        )
    return path


@pytest.fixture
def bounded() -> Iterator[Callable[[float], None]]:
    """Fail a test that runs longer than the seconds given: ``bounded(30)`` (SIGALRM, so
    the main thread on POSIX)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("the test ran out of its time bound")

    def arm(seconds: float) -> None:
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
