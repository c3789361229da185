import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flint.testing.strategy_files import crossing_strategy

pytest_plugins = ["flint.testing.plugin"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    """The checkout these tests belong to."""
    return REPO


class FakeDists:
    """Installs tiny plugin distributions (module + dist-info) into a folder on sys.path."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self._monkeypatch = monkeypatch
        monkeypatch.syspath_prepend(str(root))

    def add(self, dist: str, module: str, code: str, entry_point: str | None = None,
            version: str = "1.0") -> None:
        """Install distribution ``dist`` whose module ``module`` holds ``code``."""
        (self.root / f"{module}.py").write_text(textwrap.dedent(code))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        )
        (info / "entry_points.txt").write_text(
            f"[flint]\n{entry_point or module} = {module}\n"
        )
        sys.modules.pop(module, None)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that sees these distributions."""
        path = os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path}


@pytest.fixture
def fake_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDists:
    """Install throwaway plugin distributions visible to this test (and its subprocesses)."""
    root = tmp_path / "site"
    root.mkdir()
    return FakeDists(root, monkeypatch)


@pytest.fixture
def process_plugins(fake_dists: FakeDists) -> Iterator[FakeDists]:
    """``fake_dists`` whose plugins the process-wide host (``flint.plugins.get_host``,
    behind every getter) loads: it is rebuilt on first use, and again after the test."""
    from flint.plugins import get_host

    get_host.cache_clear()
    yield fake_dists
    get_host.cache_clear()


class RecordingContext:
    """The order calls a v2 strategy makes, with a position per market after an entry.

    Stands in for the execution context until the engine provides one.
    """

    def __init__(self):
        self.orders = []
        self.open = {}

    def market_order(self, market, side, size, reduce_only=False, tag="", venue="default"):
        self.orders.append(("market", market, side, size))
        self.open[market] = side
        return str(len(self.orders))

    def stop_order(self, market, side, size, trigger_price, tag="", venue="default"):
        self.orders.append(("stop", market, side, trigger_price))
        return str(len(self.orders))

    def take_profit_order(self, market, side, size, trigger_price, tag="", venue="default"):
        self.orders.append(("take_profit", market, side, trigger_price))
        return str(len(self.orders))

    def close_position(self, market, venue="default"):
        self.orders.append(("close", market))
        return self.open.pop(market, None) and str(len(self.orders))

    def cancel_all(self, market=None):
        return 0

    def position(self, market, venue="default"):
        return self.open.get(market)


@pytest.fixture
def recording_context() -> type[RecordingContext]:
    """A stand-in execution context that records v2 orders (until the engine provides one)."""
    return RecordingContext


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


@pytest.fixture
def screenshot(tmp_path: Path):
    """``screenshot(page, height)``: the page rendered by headless Chromium, as RGB floats.

    Skips when Chromium is missing, except in CI (``.ci/run`` installs it).
    """
    matplotlib_image = pytest.importorskip("matplotlib.image")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run does) to check reports render")
        pytest.skip("chromium is not installed (apt-get install chromium)")

    def take(page: Path, height: int = 2600):
        shot = tmp_path / f"{page.parent.name}-shot.png"
        subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             f"--screenshot={shot}", f"--window-size=1200,{height}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
        return matplotlib_image.imread(shot)[:, :, :3]

    return take


POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server for shared studies: ``FLINT_TEST_POSTGRES_URL`` or the local one.

    Unreachable (or no driver): a skip with the reason, a failure in CI (``CI=true``),
    whose ``.ci/run`` starts the server.
    """
    url = os.environ.get("FLINT_TEST_POSTGRES_URL") or POSTGRES_DEFAULT
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=5).close()
    except Exception as exc:  # no driver, no server, no database, no login
        reason = (f"PostgreSQL at {url} is not usable for the shared-study tests: "
                  f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


CROSSING = crossing_strategy({"fast_period": {"type": "int", "low": 2, "high": 20},
                              "slow_period": {"type": "int", "low": 20, "high": 60}},
                             defaults=(5, 20))


@pytest.fixture(scope="session")
def crossing_code() -> str:
    """A moving-average cross strategy file (fast_period, slow_period) for command-line
    tests that must not depend on the built-in strategies being installed."""
    return CROSSING


# Fresh virtualenvs (the ``fresh_venv`` tests): pip's cache and configured wheel folders
# are reused; flint-sdk is built pure.

#: Not part of a checkout a third party would copy.
LEFT_OUT = {".git", ".nox", ".pytest_cache", "__pycache__", "build", "dist", "data", "reports"}


@pytest.fixture
def clean_env() -> dict[str, str]:
    """This process's environment without ``FLINT_*``, ``PYTHON*`` and ``VIRTUAL_ENV``."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("FLINT_", "PYTHON", "VIRTUAL_ENV"))}


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Path:
    """A copy of this checkout as a third party gets it (no build output, venvs or local
    data), at ``tmp_path/work/flint``."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == REPO
        return {n for n in names if n in LEFT_OUT or n.startswith(".venv") or n.endswith(
            ".egg-info") or (top and n == "strategies")}

    target = tmp_path / "work" / "flint"
    shutil.copytree(REPO, target, ignore=ignore)
    return target


@pytest.fixture
def make_venv(clean_env: dict[str, str]) -> Callable[..., Path]:
    """``make_venv(where, *requirements, cwd=...)``: a new virtualenv with ``requirements``
    pip-installed (paths relative to ``cwd``); returns its Python."""
    def make(where: Path, *requirements: str, cwd: Path) -> Path:
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
        python = where / "bin" / "python"
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements],
                              cwd=cwd, env=clean_env, capture_output=True, text=True,
                              timeout=1800, check=False)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        return python

    return make


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 30 days of generated sample data (``flint data sample``); copy it
    (fixture ``db``) before writing to it."""
    from click.testing import CliRunner

    from flint.cli.main import cli

    path = tmp_path_factory.mktemp("store") / "sample.duckdb"
    done = CliRunner().invoke(cli, ["data", "sample", "--days", "30", "--db", str(path)])
    assert done.exit_code == 0, done.output
    return path


@pytest.fixture
def db(sample_store: Path, tmp_path: Path) -> Path:
    """A fresh copy of the 30-day sample store (the journal starts empty)."""
    path = tmp_path / "flint.duckdb"
    shutil.copy(sample_store, path)
    return path
