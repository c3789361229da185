"""The dashboard's first paint on a journal of 1,000 runs (issue 16: under a second).

    python bench/bench_dashboard.py [--runs 1000] [--days 30] [--loads 10]

Journals ``--runs`` copies of one real backtest (``--days`` of hourly sample bars, so
each record carries its whole equity curve and fills) in a fresh sample store, starts
``flint serve`` on it, and opens the dashboard in headless Chromium (``/usr/bin/chromium``
via playwright) ``--loads`` times with the token already in the tab's session storage.
A load is timed from navigation to the journal table drawn with its first 50 runs.
The first load reads the store (the server keeps the answer until the store changes,
see ``flint/server/cache.py``) in a browser that has not loaded the page before; the
others get the kept answer. Then one more run is journaled (as a finished job does,
which changes the store) and the page loaded again in the same browser: the first
page read cold from the store. Prints the first, median, worst and after-a-change
loads and the journal-page API latency; exits 1 when the median or the after-a-change
load is a second or more. Needs the server extra and playwright.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_S = 1.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _journal(path: Path, runs: int, days: int) -> int:
    """A sample store with ``runs`` journaled backtests; the bytes of one record."""
    from flint.cli.backtest import backtest_record
    from flint.cli.inputs import builtin_strategy, load_research
    from flint.sample_data import generate
    from flint.store import FlintStore
    from flint.store.store import journal_json

    with FlintStore(path) as store:
        generate(days=days).save(store)
    record = backtest_record("ma_crossover", None, builtin_strategy("ma_crossover").cls,
                             {}, load_research(path))
    with FlintStore(path) as store, store.session():
        for i in range(runs):
            store.save_backtest_run({**record, "run_id": f"run{i:05d}",
                                     "created_at": 1_700_000_000 + i})
    return len(journal_json(record))


def _journal_one_more(path: Path) -> None:
    """Journal a copy of the newest run, as a job finishing does."""
    from flint.store import FlintStore

    with FlintStore(path, writer_wait_s=30) as store:
        newest = store.get_backtest_run(store.list_backtest_runs(1)[0]["run_id"])
        assert newest is not None
        store.save_backtest_run({**newest, "run_id": "one-more", "created_at": None})


def _loads(base: str, token: str, loads: int, store: Path) -> list[float]:
    """``loads`` page loads, then one after journaling a run (the last figure)."""
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium",
                                       args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()
        context.add_init_script(f"sessionStorage.setItem('flint-token', {token!r})")
        for n in range(loads + 1):
            if n == loads:
                _journal_one_more(store)
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/ui/#/journal")
            page.wait_for_selector("#runs tbody tr:nth-child(50)", timeout=60_000)
            seconds.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.duckdb"
        made = time.perf_counter()
        size = _journal(store, args.runs, args.days)
        print(f"journaled {args.runs} runs of {size / 1e3:,.0f} kB each in "
              f"{time.perf_counter() - made:.1f} s")
        token, port = secrets.token_urlsafe(24), _port()
        env = {**os.environ, "FLINT_API_TOKEN": token}
        server = subprocess.Popen(
            [sys.executable, "-m", "flint", "serve", "--port", str(port), "--store",
             str(store), "--state", str(Path(tmp) / "state")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/api/v1/health")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("flint serve did not start") from None
                    time.sleep(0.2)
            seconds = _loads(base, token, args.loads, store)
            *seconds, changed = seconds
            headers = {"Authorization": f"Bearer {token}"}
            api = []
            for _ in range(args.loads):
                start = time.perf_counter()
                page = httpx.get(f"{base}/api/v1/dashboard/runs?limit=50", headers=headers)
                api.append(time.perf_counter() - start)
                assert page.json()["total"] == args.runs + 1
        finally:
            server.terminate()
            server.wait(30)
    median = statistics.median(seconds)
    print(f"GET /dashboard/runs?limit=50: median {statistics.median(api) * 1e3:,.0f} ms, "
          f"worst {max(api) * 1e3:,.0f} ms")
    print(f"journal page drawn: first (read from the store) {seconds[0] * 1e3:,.0f} ms, "
          f"median {median * 1e3:,.0f} ms, worst {max(seconds) * 1e3:,.0f} ms over "
          f"{len(seconds)} loads (target < {TARGET_S * 1e3:,.0f} ms)")
    print(f"journal page drawn after a run was journaled (read from the store): "
          f"{changed * 1e3:,.0f} ms")
    raise SystemExit(0 if max(median, changed) < TARGET_S else 1)


if __name__ == "__main__":
    main()
