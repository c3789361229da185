"""The web dashboard in headless Chromium, against ``flint serve`` as a process over a
sample store with journaled runs and a paper session: journal, run page, comparison, a
study, data coverage, sessions (a paper session stopped after a confirmation), and a
backtest started from the form and followed until it finishes.

Screenshots of each page are kept in the test's tmp folder (``dashboard-*.png``).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("flint_strategies", reason="its journal runs are of the built-in ma_crossover")

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
DAYS = 30


def _chromium() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run does) to drive the dashboard")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample candles and funding; in the journal two backtests, an optimisation and
    its best run's backtest."""
    from flint.cli.backtest import backtest_record
    from flint.cli.inputs import builtin_strategy, load_research
    from flint.sample_data import generate
    from flint.store import FlintStore

    path = tmp_path_factory.mktemp("dashboard") / "sample.duckdb"
    with FlintStore(path) as store:
        generate(days=DAYS).save(store)
    cls = builtin_strategy("ma_crossover").cls
    records = [backtest_record("ma_crossover", None, cls, params, load_research(path))
               for params in ({"fast_period": 5, "slow_period": 20},
                              {"fast_period": 10, "slow_period": 40})]
    with FlintStore(path) as store:
        for record in records:
            store.save_backtest_run(record)
    subprocess.run([sys.executable, "-m", "flint", "optimize", "ma_crossover", "--trials", "6",
                    "--db", str(path)], check=True, capture_output=True, timeout=300)
    _paper_session(path)
    return path


def _paper_session(path: Path) -> None:
    """Paper session ``demo``, long over the last sample bars (not running)."""
    from flint.models import Signal
    from flint.paper.session import PaperConfig, PaperSession
    from flint.store import FlintStore
    from flint.strategy.base import Strategy

    class AlwaysLong(Strategy):
        name = "always_long"

        def reset(self) -> None:
            pass

        def on_candle(self, candle, history, ctx=None):
            return Signal.BUY

    config = PaperConfig("always_long", "hyperliquid", "SOL-PERP", fill_model="close",
                         warmup_bars=0)
    with FlintStore(path) as store:
        bars = list(store.query_candles("SOL-PERP", 3600, venue="hyperliquid"))[-20:]
        session = PaperSession.create(store, config, AlwaysLong(), session="demo")
        session.start()
        for bar in bars:
            session.step(bar)
        assert session.ctx.positions
        session.close()


@pytest.fixture(scope="module")
def server(store_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """``flint serve`` on a free port: (base url, token)."""
    port = _free_port()
    state = tmp_path_factory.mktemp("state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLINT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flint", "serve", "--port", str(port), "--store",
         str(store_path), "--state", str(state)],
        cwd=state, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        match = re.fullmatch(r"API token \(shown once, keep it\): (\S+)\n",
                             proc.stdout.readline())
        assert match
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/health")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        yield base, match.group(1)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture
def page(server: tuple[str, str], tmp_path: Path):
    """A Chromium page signed in to the dashboard; ``page.shot(name)`` saves a screenshot.
    The test fails on any script error or console error (a CSP violation among them)."""
    base, token = server
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=_chromium(),
                                       args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1300, "height": 1000})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
        tab.goto(f"{base}/")
        tab.fill("#token", token)
        tab.click("#login-form button")
        tab.wait_for_selector("#runs")

        def shot(name: str) -> Path:
            out = tmp_path / f"dashboard-{name}.png"
            tab.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 10_000, name  # something was drawn
            return out

        tab.shot = shot  # type: ignore[attr-defined]
        tab.errors = errors  # type: ignore[attr-defined]
        yield tab
        browser.close()
        assert errors == []


def _open(page, hash_: str, page_name: str) -> None:
    page.evaluate(f"location.hash = {hash_!r}")
    page.wait_for_selector(f"#view[data-page={page_name}], #error")
    assert page.locator("#error").count() == 0, page.inner_text("#error")


def test_static_files_need_no_token_and_hold_no_data(server: tuple[str, str]) -> None:
    base, _ = server
    root = httpx.get(f"{base}/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/ui/"
    index = httpx.get(f"{base}/ui/")
    assert index.status_code == 200 and "app.js" in index.text
    assert "script-src" not in index.headers["content-security-policy"]  # default: 'self'
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    assert httpx.get(f"{base}/ui/app.js").status_code == 200
    assert httpx.get(f"{base}/ui/missing.js").status_code == 404
    assert httpx.get(f"{base}/api/v1/dashboard/runs").status_code == 401


def test_a_refused_token_asks_again_and_shows_no_data(server: tuple[str, str]) -> None:
    base, _ = server
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=_chromium(),
                                       args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        tab.goto(f"{base}/ui/#/journal")
        tab.fill("#token", "not-a-token")
        tab.click("#login-form button")
        tab.wait_for_selector("#login-error:has-text('That token was refused.')")
        assert tab.locator("#runs").count() == 0
        assert tab.evaluate("sessionStorage.getItem('flint-token')") is None
        browser.close()


def test_journal_filters_and_pages(page) -> None:
    assert page.locator("#runs tbody tr").count() == 4  # the optimisation's best run too
    assert "1-4 of 4" in page.inner_text("#count")
    page.shot("journal")
    page.select_option("#filters select[name=kind]", "optimization")
    page.click("#filters button")
    page.wait_for_selector("#count:has-text('1-1 of 1')")
    assert "optimization" in page.inner_text("#runs tbody")
    page.fill("#filters input[name=market]", "BTC-PERP")
    page.click("#filters button")
    page.wait_for_selector("text=0-0 of 0")


def test_run_page_draws_equity_drawdown_monthly_and_the_fan(page) -> None:
    page.click("#runs tbody tr:has-text('backtest') a >> nth=0")
    page.wait_for_selector("#equity svg path.line")
    assert "ma_crossover" in page.inner_text("#run-title")
    assert page.locator("#drawdown svg path.line").count() == 1
    assert page.locator("#monthly tbody tr").count() >= 1
    assert page.locator("#venues tbody tr").count() == 1  # the run's one venue: fees, funding
    page.click("#mc button")
    page.wait_for_selector("#mc svg polygon")
    assert page.locator("#mc svg polygon").count() == 2
    page.shot("run")


def test_compare_two_runs_side_by_side(page) -> None:
    for box in page.locator("#runs tbody tr:has-text('backtest') input.pick").all()[:2]:
        box.check()
    page.click("#compare")
    page.wait_for_selector("#side-by-side")
    sync_api.expect(page.locator(".run-chart svg path.line")).to_have_count(2)
    text = page.inner_text("#side-by-side")
    assert "param fast_period" in text and "sharpe_ratio" in text
    page.shot("compare")


def test_study_and_data_pages(page) -> None:
    _open(page, "#/studies", "studies")
    page.click("#runs tbody a >> nth=0")
    page.wait_for_selector("#trials")
    assert page.locator("#trials tbody tr").count() == 6
    assert page.locator("#importance svg rect").count() >= 1 or \
        page.locator("text=too few completed trials").count() == 1
    page.shot("study")
    _open(page, "#/data", "data")
    sync_api.expect(page.locator("#series .bar:not(:has(span.stored))")).to_have_count(
        0, timeout=60_000)
    assert "SOL-PERP" in page.inner_text("#series")
    page.shot("data")


def test_sessions_page_stops_a_paper_session_only_after_a_confirmation(page) -> None:
    _open(page, "#/sessions", "sessions")
    row = page.locator("#paper tbody tr", has_text="demo")
    assert "SOL-PERP" in row.inner_text() and "long" in row.inner_text()
    before = row.locator("td >> nth=1").inner_text()
    assert before != "stopped"
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button.session-stop").click()
    page.wait_for_timeout(300)  # a dismissed confirmation sends nothing
    assert page.locator("#paper tbody tr", has_text="demo").locator(
        "td >> nth=1").inner_text() == before
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#paper tbody tr", has_text="demo").locator("button.session-stop").click()
    sync_api.expect(page.locator("#paper tbody tr", has_text="demo").locator(
        "td >> nth=1")).to_have_text("stopped", timeout=30_000)
    assert "long" in page.locator("#paper tbody tr", has_text="demo").inner_text()  # kept
    page.click("#show-live")
    sync_api.expect(page.locator("#view .error")).to_contain_text("'live' scope")
    expected = [e for e in page.errors if "403" in e]  # the browser logs the refusal
    assert len(expected) == 1
    page.errors.remove(expected[0])
    page.shot("sessions")


def test_start_a_backtest_and_follow_it_to_its_run(page) -> None:
    _open(page, "#/new", "new")
    page.select_option("#new-run select[name=strategy]", "ma_crossover")
    page.fill("#params input[name='param.fast_period']", "7")
    page.select_option("#new-run select[name=venue]", "hyperliquid")
    page.click("#start")
    page.wait_for_selector("#job-state[data-status=complete]", timeout=120_000)
    page.shot("job")
    page.click("a.job-run")
    page.wait_for_selector("#equity svg path.line")
    assert "fast_period=7" in page.inner_text("#run-title")
    assert "on hyperliquid/SOL-PERP" in page.inner_text("#run-title")
    page.shot("new-run")


def test_start_an_optimisation_and_open_its_study(page) -> None:
    _open(page, "#/new", "new")
    page.select_option("#new-run select[name=what]", "optimize")
    page.fill("#new-run input[name=trials]", "3")
    page.click("#start")
    page.wait_for_selector("#job-state[data-status=complete]", timeout=120_000)
    assert page.locator("a.job-run").count() == 2  # the study and its best run
    page.click("a.job-run >> nth=0")
    page.wait_for_selector("#trials")
    assert page.locator("#trials tbody tr").count() == 3
