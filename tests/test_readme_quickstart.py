"""The README's first command installs everything, loads sample data and backtests."""

import re
import shlex
from importlib import metadata

import pytest

from flint.cli.main import main
from flint.plugins import get_host
from flint.store import FlintStore


def quickstart(repo_root):
    section = (repo_root / "README.md").read_text().split("## Two commands", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()


def test_it_is_one_command_that_installs_loads_and_backtests(repo_root):
    steps = [shlex.split(step) for step in quickstart(repo_root).split(" && ")]
    assert steps[0] == ["python3", "-m", "venv", ".venv"]
    pip = steps[1]
    assert pip[:3] == [".venv/bin/pip", "install", "-q"]
    targets = {
        p.resolve() for pattern in pip[3:]
        for p in (repo_root.glob(pattern.removeprefix("./")) if "*" in pattern
                  else [repo_root / pattern])
    }
    plugins = {p for p in (repo_root / "plugins").iterdir() if not p.name.startswith("_")}
    assert targets == {repo_root, *plugins}, "install flint-sdk and every first-party plugin"
    assert all((p / "pyproject.toml").is_file() for p in targets)
    assert [s[:3] for s in steps[2:]] == [[".venv/bin/flint", "data", "sample"],
                                          [".venv/bin/flint", "backtest", "ma_crossover"]]


def test_its_flint_commands_run_as_written(repo_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLINT_DB_PATH", raising=False)
    steps = [shlex.split(step) for step in quickstart(repo_root).split(" && ")]
    commands = [s[1:] for s in steps if s[0].endswith("/flint")]
    if "ma_crossover" not in get_host().registry("strategies"):
        pytest.skip("the built-in strategies (flint-strategies) are not installed")
    for args in commands:
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert "ma_crossover on binance SOL-PERP" in printed and "Sharpe" in printed
    with FlintStore(tmp_path / "data" / "flint.duckdb", read_only=True) as store:
        [run] = store.list_backtest_runs()
    assert run["strategy"] == "ma_crossover" and run["bars"] == 365 * 24
    assert f"as run {run['run_id']}" in printed


def test_the_quickstart_install_can_write_reports(repo_root, tmp_path, monkeypatch, capsys):
    """`pip install .` (no extras) brings what `flint report` needs."""
    required = [r for r in metadata.requires("flint-sdk") or [] if "extra ==" not in r]
    assert any(r.startswith("matplotlib") for r in required), required
    test_its_flint_commands_run_as_written(repo_root, tmp_path, monkeypatch, capsys)
    with FlintStore(tmp_path / "data" / "flint.duckdb", read_only=True) as store:
        [run] = store.list_backtest_runs()
    with pytest.raises(SystemExit) as exited:
        main(["report", run["run_id"], "--iterations", "50"])
    assert exited.value.code == 0, capsys.readouterr()
    assert (tmp_path / "reports" / run["run_id"] / "report.html").is_file()
