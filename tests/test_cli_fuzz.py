"""Whatever values the options get, a command ends in a result or one clear error line.

Hypothesis draws a command and values for some of its options, from each option's type
and from a pool of awkward text (empty, huge numbers, NaN, unicode, broken JSON, dates
that do not exist, files that are not what they should be). Options that only decide
how much work to do (trials, windows, iterations, jobs) stay small so examples run fast.
"""

import os
import string
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.cli.main import cli

#: The strategy file every example may name (the built-in strategies may not be installed).
CROSSING = "crossing.py"
AWKWARD = [
    "", " ", "-1", "0", "1", "-0", "1e308", "1e-320", "nan", "NaN", "inf", "-inf",
    "99999999999999999999", "9223372036854775808", "-9223372036854775809", "²", "٣",
    "日本", "SOL-PERP", "BTC-PERP", "binance", "hyperliquid", "drift", "default", "x" * 300,
    "{", "[]", "null", "{}", '{"fast_period": {"low": 5}}', '{"fast_period": 3}',
    '{"nope": 1}', '{"fast_period": {"low": 50, "high": 5}}', "2024-02-30", "2024-13-01",
    "2024-01-01T25:00", "2024-01-01", "2024-01-15T12:00+05:00", "0000-01-01", "9999-12-31",
    "1969-12-31", "-", "--", "%s", "{0}", "$(true)", "../..", "/", ".", "a:b:c", "sqlite://",
    "sqlite:///", "postgresql://", "postgresql://x@127.0.0.1:1/db", "mysql://u@h/db",
    "bogus://x", "http://[::1", "fast=3", "fast=", "=3", "fast=x", "fast==3",
]
#: Options that only decide how much work runs: small values (and the awkward ones).
WORKLOAD = {"--trials": 2, "--windows": 2, "--iterations": 20, "--jobs": 2, "--lookback": 400}
#: Values that work, so that examples also get past the checks into the runs.
SENSIBLE = {
    "--market": ["SOL-PERP", "BTC-PERP"], "--venue": ["binance", "hyperliquid"],
    "--resolution": ["3600"], "--start": ["2024-01-05", "1704412800"],
    "--end": ["2024-01-15", "2024-01-15T12:00"], "--period": ["3d", "2w", "12h"],
    "--capital": ["5000", "1e6"], "--fee": ["0.001", "0"],
    "--fill-model": ["close", "pipeline", "slippage", "next_open"],
    "--param": ["fast_period=5", "slow_period=30"], "--metric": ["total_pnl"],
    "--param-space": ['{"fast_period": {"high": 20}}'], "--train-pct": ["0.5"],
    "--warmup": ["10", "0"], "--seed": ["3"], "--sampler": ["random", "grid"],
    "--min-fills": ["2"], "--journal-wait": ["0.5"], "--heartbeat": ["1"],
}
COMMANDS = ["backtest", "optimize", "walk-forward", "calibrate", "report", "data status",
            "journal list", "paper status", "parity", "live run"]
FIXED = {"optimize": ["--no-journal"], "walk-forward": ["--no-journal"],
         "backtest": ["--no-journal"]}


def _command(path):
    found = cli
    for name in path.split():
        found = found.commands[name]
    return found


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)
awkward = st.sampled_from(AWKWARD) | text


def _values(param, files):
    sensible = SENSIBLE.get(param.opts[0]) or SENSIBLE.get(param.opts[-1])
    if sensible:
        return st.one_of(st.sampled_from(sensible), st.sampled_from(sensible),
                         _awkward_values(param, files))
    return _awkward_values(param, files)


def _awkward_values(param, files):
    if isinstance(param.type, click.Choice):
        return st.sampled_from(list(param.type.choices)) | awkward
    if isinstance(param.type, click.Path):
        return st.sampled_from(files) | awkward
    name = param.opts[0]
    if name in WORKLOAD:
        return st.integers(1, WORKLOAD[name]).map(str) | st.sampled_from(["0", "-1", "x"])
    if isinstance(param.type, (click.types.IntParamType, click.IntRange)):
        return st.integers(-(10**20), 10**20).map(str) | awkward
    if isinstance(param.type, (click.types.FloatParamType, click.FloatRange)):
        return st.floats(allow_nan=True, allow_infinity=True).map(repr) | awkward
    return awkward


@st.composite
def invocations(draw, files):
    path = draw(st.sampled_from(COMMANDS))
    command = _command(path)
    args = path.split() + FIXED.get(path, [])
    for param in command.params:
        if isinstance(param, click.Argument):
            known = st.sampled_from([CROSSING, "hyperliquid", "binance"])
            args.append(draw(st.one_of(known, known, known, awkward)))
            continue
        if param.opts[0] in ("--help", "--resume") or draw(st.integers(0, 3)):
            continue  # each option in one example of four
        if param.is_flag:
            args.append(param.opts[0])
        else:
            args += [param.opts[0], draw(_values(param, files))]
    if "--db" not in args:
        args += ["--db", files[0]]
    return args


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A good store first, then files that are not what their option wants."""
    root = tmp_path_factory.mktemp("fuzz")
    store = root / "sample.duckdb"
    done = CliRunner().invoke(cli, ["data", "sample", "--db", str(store), "--days", "20"])
    assert done.exit_code == 0, done.output
    damaged = root / "damaged.duckdb"
    damaged.write_bytes(store.read_bytes()[: 300_000])
    junk = root / "junk.csv"
    junk.write_text("ts,venue\n" + string.printable)
    (root / "folder").mkdir()
    return [str(store), str(damaged), str(junk), str(root / "folder"), str(root / "none.db")]


@settings(max_examples=int(os.environ.get("FLINT_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_option_value_ends_in_a_traceback(files, tmp_path, monkeypatch, crossing_code,
                                             data):
    monkeypatch.chdir(tmp_path)  # relative paths an example writes land here
    (tmp_path / CROSSING).write_text(crossing_code)
    args = data.draw(invocations(files))
    done = CliRunner().invoke(cli, args)
    shown = " ".join(map(repr, args))
    assert done.exit_code in (0, 1, 2), f"flint {shown}: exit {done.exit_code}\n{done.output}"
    assert done.exception is None or isinstance(done.exception, SystemExit), (
        f"flint {shown} raised {done.exception!r}"
    )
    assert "Traceback" not in done.output, f"flint {shown}\n{done.output}"
    if done.exit_code:
        errors = [line for line in done.output.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, f"flint {shown}\n{done.output}"


@pytest.mark.parametrize("cut", [20_000, 300_000, 0.5, 0.9])
@pytest.mark.parametrize("command", [["data", "status"], ["backtest", CROSSING,
                                                          "--no-journal"]])
def test_a_truncated_store_is_one_line(files, tmp_path, monkeypatch, crossing_code, cut,
                                       command):
    """DuckDB reads what a command needs: a cut it does not reach may go unnoticed, one it
    reaches is one line, never DuckDB's traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / CROSSING).write_text(crossing_code)
    whole = Path(files[0]).read_bytes()
    short = tmp_path / "short.duckdb"
    short.write_bytes(whole[: int(cut * len(whole)) if cut < 1 else cut])
    done = CliRunner().invoke(cli, [*command, "--db", str(short)])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    if cut == 300_000 or done.exit_code:
        assert done.exit_code == 1
        [line] = [x for x in done.output.splitlines() if x.strip()]
        assert line.startswith((f"Error: cannot open the store {short}: ",
                                f"Error: cannot read the store {short}: ")), line


@pytest.mark.parametrize("when", ["99999999999999999999", "9223372036854775807",
                                  "253402300800", "1969-12-31"])
def test_a_time_beyond_the_platforms_range_is_one_line(files, tmp_path, monkeypatch,
                                                       crossing_code, when):
    monkeypatch.chdir(tmp_path)
    (tmp_path / CROSSING).write_text(crossing_code)
    for option in ("--start", "--end"):
        done = CliRunner().invoke(cli, ["backtest", CROSSING, "--db", files[0],
                                        option, when, "--no-journal"])
        assert done.exit_code == 2 and isinstance(done.exception, SystemExit), done.output
        assert f"'{when}' is " in done.output and "Traceback" not in done.output
