"""``flint serve`` and ``flint mcp`` as processes: what they print, refuse and answer."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("mcp")
import httpx
from click.testing import CliRunner
from mcp import Client, StdioServerParameters

from flint.cli.main import cli


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flint.sample_data import generate
    from flint.store import FlintStore

    path = tmp_path_factory.mktemp("serve") / "sample.duckdb"
    with FlintStore(path) as store:
        generate(days=10).save(store)
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    """The environment without flint settings (the test's cwd has no flint.yaml)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLINT_")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_refuses_other_addresses_without_a_token(store_path: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLINT_API_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--store", str(store_path),
                                      "--state", str(tmp_path / "state")])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without a token" in result.output
    assert not (tmp_path / "state" / "tokens.json").exists()


def test_add_token_makes_a_scoped_token(tmp_path: Path) -> None:
    from flint.server.auth import token_book

    state = tmp_path / "state"
    made = CliRunner().invoke(cli, ["serve", "--add-token", "read", "--state", str(state),
                                    "--db", str(tmp_path / "x.duckdb")])
    assert made.exit_code == 0, made.output
    token = made.output.strip().rsplit(" ", 1)[-1]
    assert token_book(state).scopes(token) == ("read",)
    bad = CliRunner().invoke(cli, ["serve", "--add-token", "admin", "--state", str(state)])
    assert bad.exit_code == 1 and "scopes must be some of" in bad.output


def test_without_state_tokens_go_where_flint_mcp_keeps_its_paper_logs(tmp_path: Path) -> None:
    from flint.server.app import default_state
    from flint.server.auth import token_book

    db = tmp_path / "x.duckdb"
    made = CliRunner().invoke(cli, ["serve", "--add-token", "read", "--db", str(db)])
    assert made.exit_code == 0, made.output
    token = made.output.strip().rsplit(" ", 1)[-1]
    assert token_book(default_state(db)).scopes(token) == ("read",)
    assert default_state(db) == tmp_path / "server"


def test_mcp_over_http_refuses_other_addresses(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["mcp", "--transport", "http", "--host", "0.0.0.0",
                                      "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 1
    assert "refusing to serve MCP on 0.0.0.0" in result.output


def test_serve_prints_a_token_once_and_guards_the_api(store_path: Path,
                                                      tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "flint", "serve", "--port", str(port),
               "--store", str(store_path), "--state", str(tmp_path / "state")]
    proc = subprocess.Popen(command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.fullmatch(r"API token \(shown once, keep it\): (\S+)\n", first)
        assert match, first
        token = match.group(1)
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"{base}/data/markets").status_code == 401
        markets = httpx.get(f"{base}/data/markets",
                            headers={"Authorization": f"Bearer {token}"})
        assert markets.json()["markets"] == ["BTC-PERP", "ETH-PERP", "SOL-PERP"]
    finally:
        proc.terminate()
        proc.wait(30)
    again = subprocess.Popen(command, cwd=tmp_path, env=_env(tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert again.stdout is not None
        assert "API token" not in again.stdout.readline()  # made once, never shown again
    finally:
        again.terminate()
        again.wait(30)


def test_python_m_flint_mcp_speaks_stdio(store_path: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "flint.mcp", "--db", str(store_path)],
        env=_env(tmp_path), cwd=str(tmp_path),
    )

    async def main() -> tuple[set[str], dict]:
        async with Client(params) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            candles = await client.call_tool("get_candles", {"market": "SOL-PERP", "limit": 3})
            return tools, candles.structured_content

    tools, candles = anyio.run(main)
    assert {"run_backtest", "list_strategies", "get_candles"} <= tools
    assert candles["count"] == 3


def test_flint_mcp_speaks_streamable_http(store_path: Path, tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flint.mcp", "--transport", "http", "--port", str(port),
         "--db", str(store_path)],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)

        async def main() -> dict:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                result = await client.call_tool("get_funding_rates", {"market": "ETH-PERP"})
                return result.structured_content

        funding = anyio.run(main)
        assert set(funding["venues"]) == {"binance", "hyperliquid"}
    finally:
        proc.terminate()
        proc.wait(30)
