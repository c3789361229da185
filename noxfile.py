"""The test matrix. CI (``nox -t ci``): the core tests without plugins on the
mypyc-compiled kernel and with every plugin on the pure one, each plugin's tests alone
on the compiled kernel, the fresh-virtualenv guides, ruff and mypy.

    nox -l            list sessions
    nox -t ci         what CI runs (.ci/run)
    nox -s "core(mypyc)" "plugin(flint-drift, mypyc)"
    nox -s bench_peers   peer benchmark (not in CI): writes bench/README.md's table
    nox -s bench_naive   a naive v2 strategy against backtesting.py (not in CI)

The flint-sdk wheel of each build is made once per source state into
.nox/_wheels/ and installed (never editable: tests import the installed package).
Every session checks that flint-sdk came from this checkout, never from an
index (PyPI's `flint`, `flint-core`, `flint-trading` and `python-flint` are other
projects), and that the kernel's compiled flag matches the session.
"""

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_venv = "no"

ROOT = Path(__file__).resolve().parent
PY = "3.11"
PLUGINS = ["flint-drift", "flint-hyperliquid", "flint-binance", "flint-strategies", "_template"]
PYTEST = ["pytest", "-q", "-p", "no:cacheprovider"]
#: What tests/test_server_schemathesis.py fuzzes the HTTP API with (tests only).
API_TESTING = ["schemathesis>=4,<5"]
#: Installed without their dependencies in the flint-drift session (see its pyproject).
DRIFT_NO_DEPS = ["driftpy==0.8.89", "anchorpy==0.21.0"]

_CHECK_INSTALL = """
import json, sys
from importlib import metadata
from pathlib import Path
from flint_core.compiled import compiled_modules, is_compiled
root, expect = Path(sys.argv[1]), sys.argv[2] == "1"
origin = metadata.distribution("flint-sdk").read_text("direct_url.json")
assert origin, "flint-sdk was installed from an index, not from this checkout"
url = json.loads(origin)["url"]
assert Path(url.removeprefix("file://")).resolve().is_relative_to(root), url
assert is_compiled() is expect, f"expected compiled={expect}, got {compiled_modules()}"
print(f"flint-sdk from {url}; compiled: {is_compiled()}")
"""


def _source_digest() -> str:
    files = [ROOT / n for n in ("pyproject.toml", "setup.py", "mypy-mypyc.ini", "MANIFEST.in")]
    files += sorted((ROOT / "flint_core").rglob("*.py")) + sorted((ROOT / "flint").rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def core_wheel(session: nox.Session, build: str) -> Path:
    """The flint-sdk wheel for ``build`` ("pure" or "mypyc"), built if not built yet."""
    out = ROOT / ".nox" / "_wheels" / f"{build}-{_source_digest()}"
    wheels = sorted(out.glob("flint_sdk-*.whl"))
    if wheels:
        return wheels[0]
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # stale objects of the other build
    session.install("build[uv]>=1.2")
    session.run(
        "python", "-m", "build", "--wheel", "--installer", "uv", "--outdir", str(out), str(ROOT),
        env={"FLINT_MYPYC": "1" if build == "mypyc" else "0"},
    )
    for leftover in (ROOT / "build", ROOT / "flint_sdk.egg-info"):
        shutil.rmtree(leftover, ignore_errors=True)
    return sorted(out.glob("flint_sdk-*.whl"))[0]


def install(session: nox.Session, build: str, *extra: str) -> None:
    """Install flint-sdk[testing,postgres,server] of ``build`` plus ``extra``, then verify
    it (the postgres extra: the driver the shared-study tests reach PostgreSQL with; the
    server extra: what the HTTP API and MCP tests run)."""
    wheel = core_wheel(session, build)
    session.install(f"flint-sdk[testing,postgres,server] @ {wheel.as_uri()}", *extra)
    expect = "1" if build == "mypyc" else "0"
    session.env["FLINT_EXPECT_COMPILED"] = expect
    session.run("python", "-I", "-c", _CHECK_INSTALL, str(ROOT), expect)


def plugin_path(name: str) -> str:
    return str(ROOT / "plugins" / name)


@nox.session(python=PY, tags=["core"])
@nox.parametrize("build", [nox.param("pure", id="pure"),
                           nox.param("mypyc", id="mypyc", tags=["ci"])])
def core(session: nox.Session, build: str) -> None:
    """Core tests, no plugin installed, against the pure or the mypyc-compiled kernel
    (CI runs the compiled one; ``all_plugins`` runs the same tests on the pure kernel)."""
    install(session, build, *API_TESTING)
    session.run(*PYTEST, "tests", "-m", "not fresh_venv", *session.posargs)


@nox.session(python=PY, tags=["ci", "plugins"])
@nox.parametrize("build", [nox.param("mypyc", id="mypyc")])
@nox.parametrize("plugin", PLUGINS)
def plugin(session: nox.Session, plugin: str, build: str) -> None:
    """One plugin, alone in its environment, on the compiled kernel."""
    extras = "test,live" if plugin == "flint-drift" else "test"
    install(session, build, f"{plugin_path(plugin)}[{extras}]")
    if plugin == "flint-drift":  # driftpy's own pins clash with flint-sdk's (pyproject)
        session.install("--no-deps", *DRIFT_NO_DEPS)
    session.run(*PYTEST, "-p", "no:anchorpy", f"plugins/{plugin}/tests", *session.posargs)


@nox.session(python=PY, tags=["ci"])
def all_plugins(session: nox.Session) -> None:
    """Every first-party plugin installed together on the pure kernel: no clashes, all load
    strictly, and the core tests pass beside them (each plugin's own tests run in its
    ``plugin`` session)."""
    first_party = [p for p in PLUGINS if not p.startswith("_")]
    install(session, "pure", *API_TESTING, *(f"{plugin_path(p)}[test]" for p in first_party))
    listing = session.run("flint", "plugins", "--json", silent=True,
                          env={"FLINT_STRICT_PLUGINS": "1"})
    rows = {row["dist"]: row for row in json.loads(listing or "[]")}
    for dist in first_party:
        assert rows.get(dist, {}).get("status") == "loaded", f"{dist}: {rows.get(dist)}"
    session.run("flint", "--version")
    session.run(*PYTEST, "tests", "-m", "not fresh_venv", *session.posargs)


@nox.session(python=PY, tags=["ci"])
def plugin_guide(session: nox.Session) -> None:
    """docs/writing-plugins.md, verbatim, in a fresh virtualenv (the fresh_venv tests)."""
    install(session, "pure")
    session.run(*PYTEST, "tests", "-m", "fresh_venv", *session.posargs)


#: Folders flint itself writes into a checkout (store, reports, `flint new` files).
FLINT_WRITES = ("data", "reports", "strategies/user")


@nox.session(python=PY, tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff over the whole tree, also as it is once flint has written into it."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    def skip(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == ROOT
        return {n for n in names if n in (".git", ".nox", "__pycache__", "build")
                or n.startswith(".venv") or (top and n in ("data", "reports", "strategies"))}

    with tempfile.TemporaryDirectory() as tmp:  # outside .nox, which ruff never reads
        scratch = Path(tmp) / "tree"
        shutil.copytree(ROOT, scratch, ignore=skip)
        for folder in FLINT_WRITES:
            (scratch / folder).mkdir(parents=True, exist_ok=True)
            (scratch / folder / "written_by_flint.py").write_text("import sys, os\n")
        session.run("ruff", "check", str(scratch))


@nox.session(python=PY, tags=["ci"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the kernel (mypyc needs it clean anyway)."""
    session.install("mypy==2.4.1", "numpy>=2.0", "attrs>=24.1", "pluggy>=1.5", "click>=8.1")
    session.run("mypy")


BENCH = ROOT / "bench" / "peers"
BENCH_MINUTES = 18  # the whole session, environments included, stays under 20 minutes
PEER_ENVS = ["backtesting", "backtrader", "vectorbt", "nautilus", "flint-trading"]


def bench_env(session: nox.Session, name: str, *requirements: str) -> str:
    """A virtualenv of its own under .nox/_bench_envs; rebuilt when its requirements change."""
    location = ROOT / ".nox" / "_bench_envs" / name
    stamp = location / "bench-requirements.txt"
    wanted = "\n".join(requirements)
    python = location / "bin" / "python"
    if not (python.is_file() and stamp.is_file() and stamp.read_text() == wanted):
        shutil.rmtree(location, ignore_errors=True)
        session.run("uv", "venv", "-q", "--python", PY, str(location), external=True)
        session.run("uv", "pip", "install", "-q", "--python", str(python), *requirements,
                    external=True)
        stamp.write_text(wanted)
    return str(python)


def flint_bench_envs(session: nox.Session) -> list[str]:
    """``--env`` arguments naming a virtualenv with the pure and one with the mypyc wheel."""
    args: list[str] = []
    for build in ("pure", "mypyc"):
        wheel = core_wheel(session, build)
        python = bench_env(session, f"flint-{build}", f"flint-sdk @ {wheel.as_uri()}",
                           "-r", str(BENCH / "requirements" / "flint.txt"))
        args += ["--env", f"flint-{build}={python}"]
    return args


@nox.session(python=PY, default=False)
def bench_naive(session: nox.Session) -> None:
    """A naive v2 strategy against backtesting.py and the v1 runner (bench/bench_naive_v2.py).

    Extra arguments go to the script (e.g. --rounds 5 --bars 200000).
    """
    session.install("uv", "-r", str(BENCH / "requirements" / "harness.txt"))
    peer = bench_env(session, "backtesting", "-r", str(BENCH / "requirements" / "backtesting.txt"))
    session.run("python", str(ROOT / "bench" / "bench_naive_v2.py"), "--env",
                f"backtesting={peer}", *flint_bench_envs(session),
                "--out", str(ROOT / ".nox" / "bench_naive.json"), *session.posargs)


@nox.session(python=PY, default=False)
def bench_peers(session: nox.Session) -> None:
    """flint against backtesting.py, backtrader, vectorbt, NautilusTrader, flint-trading.

    Each framework gets its own virtualenv (flint-trading also imports as `flint`);
    flint runs from its pure and mypyc wheels once flint.backtest.engine exists.
    Extra arguments go to bench/peers/run.py (e.g. --datasets sol_1h --runs 1).
    """
    started = time.monotonic()
    session.install("uv", "-r", str(BENCH / "requirements" / "harness.txt"))
    args: list[str] = []
    for name in PEER_ENVS:
        python = bench_env(session, name, "-r", str(BENCH / "requirements" / f"{name}.txt"))
        args += ["--env", f"{name}={python}"]
    if (ROOT / "flint" / "backtest" / "engine.py").is_file():
        args += flint_bench_envs(session)
    else:
        reason = "pending: flint.backtest.engine is not in this checkout yet"
        args += ["--pending", f"flint-pure={reason};flint-mypyc={reason}"]
    results = BENCH / "results.json"
    cells_budget = BENCH_MINUTES * 60 - (time.monotonic() - started)
    args += ["--time-budget", f"{cells_budget:.0f}"]
    session.run("python", str(BENCH / "run.py"), *args, "--out", str(results), *session.posargs)
    session.run("python", str(BENCH / "report.py"), str(results))
