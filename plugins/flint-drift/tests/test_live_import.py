"""Drift's live context imports without driftpy and says what to install when it is missing
(these run in every environment, with or without the ``live`` extra)."""

import subprocess
import sys

import pytest
from flint_drift import chain


def test_the_seed_path_imports_without_loading_driftpy():
    code = ("import sys, flint.execution.drift_live, flint_drift.plugin; "
            "assert 'driftpy' not in sys.modules, 'driftpy was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_without_driftpy_building_a_context_says_what_to_install(monkeypatch, tmp_path):
    from flint.execution.drift_live import LiveDriftContext
    from flint.store import FlintStore

    monkeypatch.setitem(sys.modules, "driftpy", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'flint-drift\[live\]'"):
        chain.require_driftpy()
    with FlintStore(tmp_path / "s.duckdb") as store, pytest.raises(
        ImportError, match=r"flint-drift\[live\]"
    ):
        LiveDriftContext(store, "http://127.0.0.1:1")
