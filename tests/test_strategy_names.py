"""Built-in strategy names import from flint.strategy, or say how to get them."""

import os
import subprocess
import sys

import pytest

from flint_core.plugins import metadata_version

IMPORT = "from flint.strategy import MomentumStrategy; print(MomentumStrategy().name)"


def test_without_the_plugin_the_import_error_says_what_to_install():
    done = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True,
                          env={**os.environ, "FLINT_LOAD_PLUGINS": ""}, check=False)
    assert done.returncode == 1
    assert "ImportError: cannot import name 'MomentumStrategy' from 'flint.strategy'" in (
        done.stderr)
    if metadata_version("flint-strategies") is None:
        assert "install flint-strategies to get it (`pip install flint-strategies`)" in (
            done.stderr)
    else:
        assert "flint-strategies is installed but not loaded (FLINT_LOAD_PLUGINS" in done.stderr


def test_names_that_are_no_strategy_are_plain_attribute_errors():
    done = subprocess.run([sys.executable, "-c", "import flint.strategy as s; s.helpers"],
                          capture_output=True, text=True, check=False)
    assert "AttributeError: module 'flint.strategy' has no attribute 'helpers'" in done.stderr


def test_with_the_plugin_the_names_resolve(flint_host):
    if "momentum" not in flint_host.registry("strategies"):
        pytest.skip("flint-strategies is not installed")
    done = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "momentum"
