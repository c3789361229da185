"""The build under test is the one the session asked for, installed from this checkout."""

import json
import os
from importlib import metadata
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import flint_core
from flint_core._hot import HOT_MODULES
from flint_core.compiled import compiled_modules, is_compiled

EXPECT = os.environ.get("FLINT_EXPECT_COMPILED")


@pytest.mark.skipif(EXPECT is None, reason="FLINT_EXPECT_COMPILED is set by the nox sessions")
def test_kernel_build_matches_the_session():
    expected = EXPECT == "1"
    assert is_compiled() is expected, compiled_modules()
    assert set(compiled_modules().values()) == {expected}


@pytest.mark.skipif(EXPECT != "1", reason="only in the compiled build")
def test_hot_modules_are_extension_modules():
    import importlib

    for name in HOT_MODULES:
        module = importlib.import_module(name)
        assert any(module.__file__.endswith(s) for s in EXTENSION_SUFFIXES), module.__file__
    from flint_core.records import NATIVE, Candle
    from flint_core.series import CandleSeries

    assert NATIVE
    assert type(Candle) is type and type(CandleSeries) is type


def test_flint_sdk_is_installed_from_this_checkout_not_an_index(repo_root):
    dist = metadata.distribution("flint-sdk")
    origin = dist.read_text("direct_url.json")
    assert origin, "flint-sdk was installed from an index; it must come from this checkout"
    url = json.loads(origin)["url"]
    assert url.startswith("file://")
    assert Path(url.removeprefix("file://")).resolve().is_relative_to(repo_root)


def test_tests_import_the_installed_kernel_not_the_checkout(repo_root):
    installed = Path(flint_core.__file__).resolve()
    assert not installed.is_relative_to(repo_root / "flint_core"), installed
