"""Paper sessions (list, state, stop, kill) and read-only live status over the HTTP API
and the MCP tools, on a store holding a real paper session recorded on real candles."""

import os
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("mcp")
from fastapi.testclient import TestClient
from mcp import Client

from flint.server.app import PREFIX, ServerSettings, create_app
from flint.server.auth import add_token, token_book

DATA = Path(os.environ.get("FLINT_TEST_DATA", Path(__file__).parents[1] / ".." / "shared" / "data"))
CANDLES = DATA / "hyperliquid-SOL-3600.csv"
pytestmark = pytest.mark.skipif(not CANDLES.exists(), reason=f"no test data at {DATA} "
                                "(set FLINT_TEST_DATA)")


def _cross() -> Any:
    from flint.indicators import sma
    from flint.models import Signal
    from flint.strategy.base import Strategy

    class Cross(Strategy):
        """All-in long above the slow average, short below."""

        name = "cross"

        def reset(self) -> None:
            pass

        def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
            if len(history) < 25:
                return Signal.HOLD
            return Signal.BUY if sma(history, 5) > sma(history, 20) else Signal.SELL

    return Cross()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store whose paper session ``p`` (not running) holds a position."""
    from flint.paper.session import PaperConfig, PaperSession
    from flint.providers.files import FileProvider
    from flint.store import FlintStore

    candles = list(FileProvider(CANDLES).fetch_candles("SOL-PERP", 3600, 0, 2**40))[:400]
    path = tmp_path / "s.duckdb"
    config = PaperConfig("cross", "hyperliquid", "SOL-PERP", fill_model="close",
                         warmup_bars=100)
    with FlintStore(path) as writer:
        writer.upsert_candles(candles[:100])
        session = PaperSession.create(writer, config, _cross(), session="p")
        session.start()
        for bar in candles[100:260]:
            session.step(bar)
        assert session.ctx.positions
        session.close()
    return path


@pytest.fixture
def api(store: Path, tmp_path: Path):
    settings = ServerSettings(store=store, state=tmp_path / "state",
                              strategies=tmp_path / "strategies")
    tokens = {"paper": add_token(settings.state, ("read", "paper")),
              "read": add_token(settings.state, ("read", "research")),
              "live": add_token(settings.state, ("live",))}
    with TestClient(create_app(settings, token_book(settings.state))) as client:
        def call(method: str, path: str, token: str | None = "paper",
                 body: Any = None) -> Any:
            headers = {} if token is None else {"Authorization": f"Bearer {tokens[token]}"}
            return client.request(method, PREFIX + path, headers=headers, json=body)

        yield call


def test_paper_sessions_are_listed_and_shown(api) -> None:
    assert api("GET", "/paper/sessions").json() == {"sessions": ["p"]}
    state = api("GET", "/paper/sessions/p").json()
    assert state["session"] == "p" and state["market"] == "SOL-PERP"
    assert state["venue"] == "hyperliquid" and state["positions"]
    assert state["equity"] > 0


def test_paper_stop_keeps_positions_and_kill_flattens(api) -> None:
    stopped = api("POST", "/paper/sessions/p/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["positions"] and not stopped.json()["orders"]
    killed = api("POST", "/paper/sessions/p/kill").json()
    assert killed["status"] == "killed" and not killed["positions"]
    assert api("GET", "/paper/sessions/p").json()["status"] == "killed"


@pytest.mark.parametrize("method,path", [("GET", "/paper/sessions"),
                                         ("GET", "/paper/sessions/p"),
                                         ("POST", "/paper/sessions/p/stop"),
                                         ("POST", "/paper/sessions/p/kill"),
                                         ("POST", "/paper/sessions")])
def test_paper_routes_need_the_paper_scope(api, method: str, path: str) -> None:
    assert api(method, path, token=None).status_code == 401
    refused = api(method, path, token="read")
    assert refused.status_code == 403 and "'paper' scope" in refused.json()["detail"]
    assert api("GET", "/paper/sessions/p").json()["status"] != "stopped"


@pytest.mark.parametrize("path", ["/paper/sessions/nope", "/paper/sessions/nope/stop"])
def test_an_unknown_paper_session_is_404(api, path: str) -> None:
    method = "POST" if path.endswith("stop") else "GET"
    missing = api(method, path)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no paper session 'nope' in the store"}


def test_a_session_name_cannot_name_another_file(api) -> None:
    assert api("GET", "/paper/sessions/..%2Fx").status_code in (404, 422)
    assert api("GET", "/paper/sessions/.hidden").status_code == 422


def test_live_status_is_read_only_and_needs_the_live_scope(api) -> None:
    assert api("GET", "/live/sessions", token="live").json() == {"sessions": []}
    missing = api("GET", "/live/sessions/p", token="live")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no live session 'p' in the store"}
    assert api("GET", "/live/sessions", token="paper").status_code == 403
    assert api("GET", "/live/sessions", token=None).status_code == 401


def test_one_listing_and_one_state_serve_both_kinds_of_session(store: Path) -> None:
    from flint.server.sessions import UnknownSession, session_list, session_state

    assert session_list(store, "paper").sessions == ["p"]
    assert session_list(store, "live").sessions == []  # a paper session is no live one
    assert session_state(store, "paper", "p").market == "SOL-PERP"
    with pytest.raises(UnknownSession, match="no live session 'p' in the store"):
        session_state(store, "live", "p")


def test_mcp_paper_tools(store: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    from flint.mcp.server import build_server

    server = build_server(store, tmp_path / "strategies")

    async def steps() -> list[Any]:
        async with Client(server) as client:
            return [await client.call_tool("list_paper_sessions", {}),
                    await client.call_tool("paper_status", {"session": "p"}),
                    await client.call_tool("paper_stop", {"session": "p"}),
                    await client.call_tool("paper_status", {"session": "nope"})]

    listed, status, stopped, missing = anyio.run(steps)
    assert listed.structured_content == {"sessions": ["p"]}
    assert status.structured_content["positions"]
    assert stopped.structured_content["status"] == "stopped"
    assert stopped.structured_content["positions"]
    assert missing.is_error and "no paper session 'nope'" in missing.content[0].text
    assert capsys.readouterr().out == ""  # stdout is the channel of a stdio MCP server


def _start_request(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """A paper session of ma_crossover replaying 12 bars of the real candles (from a
    copy of their file) as fast as it can."""
    import shutil

    from flint.providers.files import FileProvider

    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    shutil.copy(CANDLES, data)
    candles = list(FileProvider(CANDLES).fetch_candles("SOL-PERP", 3600, 0, 2**40))
    return {"strategy": "ma_crossover", "venue": "hyperliquid", "market": "SOL-PERP",
            "session": "api1", "fill_model": "close", "warmup": 100,
            "provider": "file", "provider_options": {"path": str(data)},
            "start_ts": candles[500].ts, "end_ts": candles[511].ts, "speed": 1e7,
            "poll_s": 0.02, **changes}


def _ended(log: Path, session: str) -> None:
    """Wait for the session's process to say it ended."""
    import time

    deadline = time.monotonic() + 120
    while f"paper session {session}: ended" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_a_paper_session_started_over_the_api_runs_and_is_listed(api, tmp_path: Path) -> None:
    pytest.importorskip("flint_strategies")
    started = api("POST", "/paper/sessions", body=_start_request(tmp_path))
    assert started.status_code == 202, started.text
    assert started.json() == {"session": "api1"}
    _ended(tmp_path / "state" / "paper" / "api1.log", "api1")
    assert api("GET", "/paper/sessions").json() == {"sessions": ["p", "api1"]}
    state = api("GET", "/paper/sessions/api1").json()
    assert state["status"] == "ended" and state["strategy"] == "ma_crossover"
    assert state["bars"] >= 12


@pytest.mark.parametrize("changes,status,said", [
    ({"provider_options": {"path": "/etc"}}, 400, "path must be inside"),
    ({"provider_options": {"path": "data/../../.."}}, 400, "path must be inside"),
    ({"provider": "hyperliquid", "provider_options": {"api_url": "http://10.0.0.1"}}, 400,
     "only give the file provider's path"),
    ({"strategy": "no_such_strategy"}, 400, "no_such_strategy"),
    ({"session": "p"}, 400, "another configuration"),  # p exists: resumed as it was made
    ({"strategy": "../x.py"}, 422, "pattern"),
    ({"session": ".hidden"}, 422, "pattern"),
    ({"code": "import os"}, 422, "Extra inputs"),
])
def test_a_paper_start_that_cannot_run_says_why(api, tmp_path: Path, changes: dict[str, Any],
                                               status: int, said: str) -> None:
    pytest.importorskip("flint_strategies")
    refused = api("POST", "/paper/sessions", body=_start_request(tmp_path, **changes))
    assert refused.status_code == status, refused.text
    assert said in str(refused.json()["detail"])
    assert api("GET", "/paper/sessions").json() == {"sessions": ["p"]}


def test_mcp_paper_start(store: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("flint_strategies")
    from flint.mcp.server import build_server
    from flint.server.app import default_state

    server = build_server(store, tmp_path / "strategies")

    async def start(request: dict[str, Any]) -> Any:
        async with Client(server) as client:
            return await client.call_tool("paper_start", {"request": request})

    started = anyio.run(start, _start_request(tmp_path, session="mcp1"))
    assert started.structured_content == {"session": "mcp1"}
    _ended(default_state(store) / "paper" / "mcp1.log", "mcp1")  # where flint serve's go
    refused = anyio.run(start, _start_request(tmp_path, strategy="no_such_strategy",
                                              session="mcp2"))
    assert refused.is_error and "no_such_strategy" in refused.content[0].text
    assert capsys.readouterr().out == ""
