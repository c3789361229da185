"""HTTP API load test: many clients reading while backtest jobs run.

    python bench/bench_api.py [--clients 50] [--seconds 30] [--days 90]

Starts ``flint serve`` (its own process, 127.0.0.1, two job slots) on a fresh sample
store; from this process, keeps two backtest jobs running and has ``--clients``
concurrent clients read the journal and candles for ``--seconds``. Prints the read
latencies, the errors, and what became of job submissions beyond the two slots
(429 expected). Needs the server extra.
"""

import argparse
import asyncio
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

READS = ("/journal/runs?limit=20", "/data/ohlcv?market=SOL-PERP&limit=500",
         "/data/funding?market=SOL-PERP&start_ts=1704067200&end_ts=1704672000")
SLOTS = 2


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _strategy() -> dict[str, object]:
    """A built-in when flint-strategies is installed, else the same logic as code."""
    try:
        import flint_strategies  # noqa: F401
    except ImportError:
        return {"code": (Path(__file__).resolve().parents[1] / "tests" / "user_strategies"
                         / "golden_cross.py").read_text()}
    return {"strategy": "ma_crossover"}


async def _reader(base: str, token: str, stop: float, latencies: list[float],
                  errors: list[str], index: int) -> None:
    """One client on its own keep-alive connection, reading until ``stop``.

    It speaks HTTP/1.1 itself (a request line, the token; the answer by its
    Content-Length): a general client library costs more CPU per request than the
    server's answer does, and on a small host the load generator would be measured."""
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    n = index
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < stop:
        path = READS[n % len(READS)]
        n += 1
        request = (f"GET {url.path}{path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Authorization: Bearer {token}\r\n\r\n").encode()
        started = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            reader, writer = connection
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
            errors.append(f"{path}: {exc!r}")
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        latencies.append(time.perf_counter() - started)
        if head[9:12] != b"200":
            errors.append(f"{path}: {head[9:12].decode()}")
    if connection is not None:
        connection[1].close()


async def _jobs(client: httpx.AsyncClient, stop: float, body: dict[str, object],
                outcomes: dict[str, int]) -> None:
    """Keep both job slots busy; one more submission each round must get 429."""
    running: set[str] = set()
    while time.monotonic() < stop:
        for job_id in list(running):
            status = (await client.get(f"/jobs/{job_id}")).json()["status"]
            if status not in ("queued", "running"):
                running.discard(job_id)
                outcomes[status] = outcomes.get(status, 0) + 1
        while len(running) < SLOTS:
            started = await client.post("/backtest/run", json=body)
            if started.status_code != 202:
                break
            running.add(started.json()["id"])
        extra = await client.post("/backtest/run", json=body)
        if extra.status_code == 202:  # a slot freed since the last look: not beyond it
            running.add(extra.json()["id"])
        key = f"one more submission: {extra.status_code}"
        outcomes[key] = outcomes.get(key, 0) + 1
        await asyncio.sleep(0.5)


async def _load(base: str, token: str, clients: int, seconds: float, jobs: bool) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        stop = time.monotonic() + seconds
        latencies: list[float] = []
        errors: list[str] = []
        outcomes: dict[str, int] = {}
        await asyncio.gather(
            *([_jobs(client, stop, _strategy(), outcomes)] if jobs else []),
            *(_reader(base, token, stop, latencies, errors, i) for i in range(clients)),
        )
    ms = np.array(latencies) * 1000
    print(f"{len(ms)} reads by {clients} clients in {seconds:g} s "
          f"({len(ms) / seconds:.0f}/s), {len(errors)} errors")
    for q in (50, 90, 99):
        print(f"  p{q}: {np.percentile(ms, q):.1f} ms")
    print(f"  max: {ms.max():.1f} ms")
    print(f"jobs: {outcomes}")
    for error in errors[:5]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--no-jobs", action="store_true", help="Reads only (to compare).")
    args = parser.parse_args()
    from flint.sample_data import generate
    from flint.store import FlintStore

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "sample.duckdb"
        with FlintStore(store) as writer:
            generate(days=args.days).save(writer)
        token, port = secrets.token_urlsafe(24), _port()
        env = {**os.environ, "FLINT_API_TOKEN": token}
        server = subprocess.Popen(
            [sys.executable, "-m", "flint", "serve", "--port", str(port), "--store",
             str(store), "--max-jobs", str(SLOTS)],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/health")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("flint serve did not start") from None
                    time.sleep(0.2)
            asyncio.run(_load(base, token, args.clients, args.seconds, not args.no_jobs))
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
