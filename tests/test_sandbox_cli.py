"""The command line and the sandbox: layers in --version and doctor, --trust, clean errors."""

import functools
import importlib

import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.strategy import isolation, sandbox

importlib.import_module("flint.strategy.remote")  # before the tests patch SandboxLimits
#: Default limits for these tests: one CPU second per run.
QUICK = functools.partial(sandbox.SandboxLimits, cpu_seconds=1, wall_seconds=20)
CONFINED = all(s.available for s in isolation.host_support() if s.name in isolation.REQUIRED)

HOG = '''\
from flint.models import Signal
from flint.strategy import Strategy


class Hog(Strategy):
    name = "hog"

    def __init__(self, fast=2):
        self.fast = fast

    def on_candle(self, candle, history, ctx=None):
        while True:
            pass

    def reset(self):
        pass

    @classmethod
    def parameters(cls):
        return {"fast": {"type": "int", "low": 2, "high": 4}}
'''


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox-cli")
    db = root / "sample.duckdb"
    done = CliRunner().invoke(cli, ["data", "sample", "--db", str(db), "--days", "10"],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    (root / "hog.py").write_text(HOG)
    return root


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version_lists_the_sandbox_layers_the_host_offers():
    out = invoke("--version").output
    line = next(line for line in out.splitlines() if line.startswith("sandbox: "))
    offered = [s.name for s in isolation.host_support() if s.available]
    assert line.startswith("sandbox: " + ", ".join(offered))
    assert ("--trust" in line) != CONFINED


def test_doctor_names_every_layer_its_state_and_what_it_stops():
    out = invoke("doctor").output
    for name, stops in isolation.STOPS.items():
        assert f"  {name}" in out and stops in out
    if CONFINED:
        assert "MISSING" not in out and "confined by every required layer" in out


def test_doctor_says_files_are_refused_where_a_required_layer_is_missing(monkeypatch):
    monkeypatch.setattr(isolation, "REQUIRED", (*isolation.REQUIRED, "no-such-layer"))
    out = invoke("doctor").output
    assert "refused here (no no-such-layer)" in out and "--trust" in out


@pytest.mark.skipif(not CONFINED, reason="this host lacks Landlock or seccomp")
def test_backtest_of_a_file_is_refused_without_a_layer_unless_trusted(store, monkeypatch):
    monkeypatch.setattr(isolation, "REQUIRED", (*isolation.REQUIRED, "no-such-layer"))
    monkeypatch.setattr(sandbox, "SandboxLimits", QUICK)
    db = str(store / "sample.duckdb")
    refused = invoke("backtest", str(store / "hog.py"), "--db", db)
    assert refused.exit_code == 1 and "no-such-layer" in refused.output
    trusted = invoke("backtest", str(store / "hog.py"), "--db", db, "--trust")
    assert trusted.exit_code == 1 and "1 s of CPU time" in trusted.output


@pytest.mark.skipif(not CONFINED, reason="this host lacks Landlock or seccomp")
def test_optimize_of_a_file_reports_a_limit_as_an_error_not_a_traceback(store, monkeypatch):
    monkeypatch.setattr(sandbox, "SandboxLimits", QUICK)
    result = invoke("optimize", str(store / "hog.py"), "--db", str(store / "sample.duckdb"),
                    "--trials", "2")
    assert result.exit_code == 1 and "1 s of CPU time" in result.output
    assert "Traceback" not in result.output
