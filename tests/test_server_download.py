"""``POST /data/download`` and the MCP ``download_market_data`` tool: ``flint data
download`` as a job of the HTTP API and as a tool, from the fake Hyperliquid (on
127.0.0.1, through the real provider) into the server's store."""

import os
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("flint_hyperliquid")
from fastapi.testclient import TestClient
from flint_hyperliquid.testing import FakeHyperliquid

from flint.server.app import PREFIX, ServerSettings, create_app
from flint.server.auth import add_token, token_book

DATA = Path(os.environ.get("FLINT_TEST_DATA", Path(__file__).parents[1] / ".." / "shared" / "data"))
CANDLES = DATA / "hyperliquid-SOL-3600.csv"
pytestmark = pytest.mark.skipif(not CANDLES.exists(), reason=f"no test data at {DATA} "
                                "(set FLINT_TEST_DATA)")
#: Two days the files hold (2025-07-01 and 2025-07-02, UTC).
START, END = 1_751_328_000, 1_751_500_800


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A sample store, in a folder whose flint.yaml and environment point at the fake."""
    from flint.sample_data import generate
    from flint.store import FlintStore

    path = tmp_path / "s.duckdb"
    with FlintStore(path) as writer:
        generate(days=2).save(writer)
    (tmp_path / "flint.yaml").write_text(
        "providers:\n  hyperliquid:\n    history_limit: null\n    rate_limit: false\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLINT_CONFIG", "")
    with FakeHyperliquid.from_data(DATA, coins=("SOL",), candle_window=None) as fake:
        monkeypatch.setenv("FLINT_HYPERLIQUID_API_URL", fake.url)
        yield path


@pytest.fixture
def api(store: Path, tmp_path: Path):
    settings = ServerSettings(store=store, state=tmp_path / "state",
                              strategies=tmp_path / "strategies")
    tokens = {"research": add_token(settings.state, ("read", "research")),
              "read": add_token(settings.state, ("read",))}
    with TestClient(create_app(settings, token_book(settings.state))) as client:
        def call(method: str, path: str, body: Any = None, token: str = "research") -> Any:
            return client.request(method, PREFIX + path, json=body,
                                  headers={"Authorization": f"Bearer {tokens[token]}"})

        yield call


def _wait(api: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = api("GET", f"/jobs/{job_id}").json()
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status}")


def test_a_download_job_stores_the_venues_candles(api) -> None:
    from flint.providers.files import FileProvider

    before = api("GET", f"/data/ohlcv?market=SOL-PERP&venue=hyperliquid&start_ts={START}"
                        f"&end_ts={END}")
    assert before.status_code == 400  # nothing of that venue yet
    started = api("POST", "/data/download", {
        "venues": ["hyperliquid"], "markets": ["SOL-PERP"], "start": "2025-07-01",
        "end": "2025-07-02", "kinds": ["candles", "funding"]})
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "download"
    done = _wait(api, started.json()["id"])
    assert done["status"] == "complete", done
    assert done["run_ids"] == [] and done["progress"]["phase"] == "download"
    got = api("GET", f"/data/ohlcv?market=SOL-PERP&venue=hyperliquid&start_ts={START}"
                     f"&end_ts={END}").json()
    expected = list(FileProvider(CANDLES).fetch_candles("SOL-PERP", 3600, START, END - 1))
    assert got["count"] == len(expected) == 48
    assert [c["close"] for c in got["candles"]] == [c.close for c in expected]
    funding = api("GET", f"/data/funding?market=SOL-PERP&venue=hyperliquid"
                         f"&start_ts={START}&end_ts={END}").json()
    assert funding["count"] > 0
    result = api("GET", f"/jobs/{done['id']}/result")
    assert result.status_code == 404 and "journals no run" in result.json()["detail"]


def test_a_download_from_a_venue_without_a_provider_fails_with_the_reason(api) -> None:
    started = api("POST", "/data/download", {"venues": ["nowhere"], "markets": ["SOL-PERP"]})
    done = _wait(api, started.json()["id"])
    assert done["status"] == "failed"
    assert "no data provider for venue 'nowhere'" in done["error"]


def test_a_download_needs_the_research_scope_and_known_kinds(api) -> None:
    body = {"venues": ["hyperliquid"], "markets": ["SOL-PERP"]}
    assert api("POST", "/data/download", body, token="read").status_code == 403
    assert api("POST", "/data/download", {**body, "kinds": ["trades"]}).status_code == 422
    assert api("POST", "/data/download", {**body, "kinds": []}).status_code == 422
    assert api("POST", "/data/download", {**body, "speed": 2}).status_code == 422


def test_the_mcp_download_tool_fetches_what_the_store_lacks(store: Path, tmp_path: Path) -> None:
    import anyio
    from mcp import Client

    from flint.mcp.server import build_server
    from flint.store import FlintStore

    server = build_server(store, tmp_path / "strategies")
    args = {"venues": ["hyperliquid"], "markets": ["SOL-PERP"], "start": "2025-07-01",
            "end": "2025-07-02", "kinds": ["candles"]}

    async def steps() -> list[Any]:
        async with Client(server) as client:
            return [await client.call_tool("download_market_data", args),
                    await client.call_tool("download_market_data",
                                           {**args, "venues": ["nowhere"]})]

    done, refused = anyio.run(steps)
    assert not done.is_error, done.content
    assert "SOL-PERP" in done.structured_content["report"]
    with FlintStore(store, read_only=True) as reader:
        stored = reader.require_candles("SOL-PERP", 3600, START, END, venue="hyperliquid")
    assert len(stored.timestamps) == 48
    assert refused.is_error and "no data provider for venue 'nowhere'" in \
        refused.content[0].text
