import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flint.cli.main import cli, version_text
from flint.plugins import make_host
from flint_core.compiled import is_compiled


def _flint_command():
    return [os.path.join(os.path.dirname(sys.executable), "flint")]


def _flint(*args, env=None):
    """Run the installed ``flint`` command in a fresh process."""
    return subprocess.run(
        [*_flint_command(), *args], check=False, capture_output=True, text=True, env=env,
        timeout=120,
    )


def test_version_names_the_sdk_the_build_and_the_plugins():
    done = _flint("--version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("flint-sdk 0.")
    assert lines[1] == f"compiled: {'yes' if is_compiled() else 'no'}"
    host = make_host()
    for info in host.plugins.values():
        if not info.builtin:
            assert f"  {info.dist} {info.version}" in done.stdout


def test_plugins_listing_survives_a_broken_plugin_and_names_its_error(fake_dists):
    fake_dists.add("flint-broken", "flint_broken", "import not_a_module_anywhere\n",
                   entry_point="broken")
    done = _flint("plugins", env=fake_dists.env())
    assert done.returncode == 0, done.stderr
    assert "broken" in done.stdout
    assert "ModuleNotFoundError" in done.stdout and "not_a_module_anywhere" in done.stdout
    rows = json.loads(_flint("plugins", "--json", env=fake_dists.env()).stdout)
    [broken] = [r for r in rows if r["name"] == "broken"]
    assert broken["status"] == "error" and broken["dist"] == "flint-broken"


def test_strict_mode_turns_a_broken_plugin_into_exit_code_1(fake_dists):
    fake_dists.add("flint-broken", "flint_broken", "raise ImportError('nope')\n")
    env = {**fake_dists.env(), "FLINT_STRICT_PLUGINS": "1"}
    done = _flint("plugins", env=env)
    assert done.returncode == 1
    assert "plugin 'flint_broken': failed to import" in done.stderr


def test_plugin_commands_are_added_to_the_command_line(fake_dists):
    fake_dists.add("flint-cmd", "flint_cmd", """
        import click
        from flint import hookimpl

        @hookimpl
        def flint_register_commands(cli):
            @cli.command()
            @click.argument("who")
            def greet(who):
                '''Greet someone.'''
                click.echo(f"hi {who}")
    """)
    done = _flint("greet", "quant", env=fake_dists.env())
    assert (done.returncode, done.stdout) == (0, "hi quant\n")
    assert "greet" in _flint("--help", env=fake_dists.env()).stdout


def test_unknown_command_is_a_user_error():
    done = _flint("no-such-command")
    assert done.returncode == 1
    assert "No such command" in done.stderr


def test_plugins_json_lists_builtins_with_all():
    result = CliRunner().invoke(cli, ["plugins", "--json", "--all"])
    rows = json.loads(result.output)
    builtin = [r for r in rows if r["builtin"]]
    assert builtin and builtin[0]["registered"]["venue_configs"] == ["default"]


def test_version_text_marks_broken_plugins(fake_dists):
    fake_dists.add("flint-broken", "flint_broken", "raise RuntimeError('x')\n")
    assert "flint-broken 1.0 [error]" in version_text(make_host())


@pytest.mark.parametrize(("option", "said"), [
    ("--provider-option=hyperliqid.url=http://x", "'hyperliqid' is not a venue of this "
                                                  "session (hyperliquid, binance)"),
    ("--venue-option=binance.no_dot_venue", "expected KEY=VALUE"),
    ("--venue-option=url=http://x", "expected VENUE.KEY=VALUE with VENUE one of"),
    ("--provider-option=binance.no_such_option=1", "the binance data provider takes no "
                                                   "option 'no_such_option'"),
], ids=["unknown-venue", "no-value", "no-venue", "unknown-key"])
def test_live_refuses_a_misrouted_or_unknown_venue_option(tmp_path, option, said):
    pytest.importorskip("flint_hyperliquid")
    pytest.importorskip("flint_binance")
    pytest.importorskip("flint_strategies")
    db = tmp_path / "flint.duckdb"
    done = CliRunner().invoke(cli, ["live", "ma_crossover", "--venue", "hyperliquid", "--venue",
                                    "binance", "--market", "SOL-PERP", "--db", str(db), option])
    assert done.exit_code != 0 and said in done.output, done.output
    assert "Traceback" not in done.output
    assert db.exists() == ("no_such_option" in option)  # only a provider knows its keys


@pytest.mark.parametrize(("key", "options", "said"), [
    (None, [], "Error: no key FLINT_HYPERLIQUID_PRIVATE_KEY: set the environment"),
    ("0x" + "1" * 64, ["--venue-option", "hyperliquid.url=http://127.0.0.1:9"],
     "Error: /info meta: ConnectError"),
], ids=["no-key", "venue-unreachable"])
def test_live_without_its_key_or_its_venue_is_one_line(tmp_path, key, options, said):
    pytest.importorskip("flint_hyperliquid")
    pytest.importorskip("flint_strategies")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLINT_HYPERLIQUID")}
    if key is not None:
        env["FLINT_HYPERLIQUID_PRIVATE_KEY"] = key
    done = subprocess.run([*_flint_command(), "live", "ma_crossover", "--venue", "hyperliquid",
                           "--market", "SOL-PERP", "--warmup", "0", *options], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(said)


INTERRUPTED_WHILE_LOADING = """
import sys
from importlib.abc import MetaPathFinder


class CtrlC(MetaPathFinder):
    \"\"\"Ctrl-C arriving while the command line loads its commands.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "flint.cli.backtest":
            raise KeyboardInterrupt
        return None


sys.meta_path.insert(0, CtrlC())
sys.argv = ["flint", "--version"]
from flint.cli.entry import main
main()
"""


def test_ctrl_c_while_the_command_line_loads_ends_quietly():
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_LOADING],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 130
    assert done.stderr == "Interrupted.\n" and "Traceback" not in done.stdout
