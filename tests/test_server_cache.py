"""Kept answers of the read routes (:mod:`flint.server.cache`): the same bytes while the
store is unchanged, fresh ones once any process writes it, and never to a request the
route itself would refuse."""

import math
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from flint.server.app import PREFIX, ServerSettings, create_app
from flint.server.auth import add_token, token_book
from flint.server.cache import change_marker, render


@pytest.fixture
def api(tmp_path: Path):
    from flint.sample_data import generate
    from flint.store import FlintStore

    store = tmp_path / "sample.duckdb"
    with FlintStore(store) as writer:
        generate(days=5).save(writer)
        writer.save_backtest_run({"run_id": "first", "strategy": "x", "market": "SOL-PERP",
                                  "created_at": 100, "metrics": {"profit_factor": math.inf}})
    settings = ServerSettings(store=store, state=tmp_path / "state",
                              strategies=tmp_path / "strategies")
    tokens = {scope: add_token(settings.state, (scope,)) for scope in ("read", "paper")}
    tokens["research"] = add_token(settings.state, ("read", "research"))
    client = TestClient(create_app(settings, token_book(settings.state)))
    with client:
        yield client, store, tokens


def _get(client: TestClient, path: str, token: str | None):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.get(PREFIX + path, headers=headers)


def _wait_past_racy_window(store: Path) -> None:
    """Age the file's timestamps so that answers read from it are kept for good."""
    import os

    for path in (store, store.with_name(store.name + ".wal")):
        if path.exists():
            os.utime(path, (1_000_000_000, 1_000_000_000))


def test_an_unchanged_store_gives_the_same_answer(api) -> None:
    client, store, tokens = api
    _wait_past_racy_window(store)
    first = _get(client, "/journal/runs/first", tokens["read"])
    assert client.app.state.cache.kept((PREFIX + "/journal/runs/first", b"")) is not None
    again = _get(client, "/journal/runs/first", tokens["read"])
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["content-type"] == "application/json"
    assert first.json()["metrics"]["profit_factor"] is None  # not finite: null, as before


def test_a_write_by_another_store_is_seen_at_once(api) -> None:
    from flint.store import FlintStore

    client, store, tokens = api
    _wait_past_racy_window(store)
    before = _get(client, "/journal/runs?limit=10", tokens["read"]).json()["runs"]
    assert [r["run_id"] for r in before] == ["first"]
    marker = change_marker(store)[0]
    with FlintStore(store) as writer:
        writer.save_backtest_run({"run_id": "second", "strategy": "y", "created_at": 200})
    assert change_marker(store)[0] != marker
    after = _get(client, "/journal/runs?limit=10", tokens["read"]).json()["runs"]
    assert [r["run_id"] for r in after] == ["second", "first"]
    assert _get(client, "/journal/runs/second", tokens["read"]).status_code == 200


def test_a_delete_through_the_api_is_seen_by_the_next_read(api) -> None:
    client, store, tokens = api
    research = tokens["research"]
    _wait_past_racy_window(store)
    assert _get(client, "/journal/runs/first", research).status_code == 200
    headers = {"Authorization": f"Bearer {research}"}
    assert client.delete(f"{PREFIX}/journal/runs/first", headers=headers).status_code == 200
    assert _get(client, "/journal/runs/first", research).status_code == 404


@pytest.mark.parametrize("path", ["/journal/runs?limit=5", "/data/markets",
                                  "/data/ohlcv?market=SOL-PERP&limit=50"])
def test_a_kept_answer_needs_the_routes_token_and_scope(api, path: str) -> None:
    client, store, tokens = api
    _wait_past_racy_window(store)
    assert _get(client, path, tokens["read"]).status_code == 200
    route, _, query = path.partition("?")
    assert client.app.state.cache.kept((PREFIX + route, query.encode())) is not None
    assert _get(client, path, tokens["read"]).status_code == 200  # now kept
    assert _get(client, path, None).status_code == 401
    assert _get(client, path, "not-a-token").status_code == 401
    assert _get(client, path, tokens["paper"]).status_code == 403


def test_a_bad_request_is_not_kept(api) -> None:
    client, store, tokens = api
    _wait_past_racy_window(store)
    for _ in range(2):
        missing = _get(client, "/journal/runs/nope", tokens["read"])
        assert missing.status_code == 404
        assert "no journaled run nope" in missing.json()["detail"]


def test_render_matches_the_models_json() -> None:
    from flint.server.models import RunList

    assert render(RunList(runs=[{"run_id": "a"}])) == RunList(runs=[{"run_id": "a"}]) \
        .model_dump_json().encode()
    assert render({"x": [1.5, math.nan]}) == b'{"x":[1.5,null]}'


def test_while_a_writer_holds_the_store_the_previous_answer_is_given(api) -> None:
    from flint.store import FlintStore

    client, store, tokens = api
    _wait_past_racy_window(store)
    before = _get(client, "/journal/runs?limit=10", tokens["read"]).json()["runs"]
    with FlintStore(store) as writer, writer.hold_open():
        writer.save_backtest_run({"run_id": "held", "strategy": "z", "created_at": 300})
        during = _get(client, "/journal/runs?limit=10", tokens["read"])
        assert during.status_code == 200
        assert during.json()["runs"] == before  # from before the write: not acknowledged yet
    after = _get(client, "/journal/runs?limit=10", tokens["read"]).json()["runs"]
    assert [r["run_id"] for r in after] == ["held", "first"]


# The cache itself: what it keeps and for how many


def _cache(tmp_path: Path, max_bytes: int):
    from flint.server.cache import ReadCache
    from flint.store import FlintStore

    store = tmp_path / "c.duckdb"
    FlintStore(store).close()
    _wait_past_racy_window(store)
    return ReadCache(store, max_bytes)


def _answer(cache, name: str, size: int) -> bytes:
    import anyio

    async def ask() -> bytes:
        response = await cache.answer((name, b""), ("read",), lambda _: "x" * size)
        return response.body

    return anyio.run(ask)


def test_the_least_recently_used_answers_go_first_once_the_bytes_are_spent(
        tmp_path: Path) -> None:
    cache = _cache(tmp_path, max_bytes=400)
    for name in ("a", "b", "c", "d"):
        _answer(cache, name, 88)  # 90 bytes each with the quotes: 360 kept
    assert cache.kept(("a", b"")) is not None  # now the most recently used
    _answer(cache, "e", 88)  # 450 > 400: the least recently used, b, goes
    assert [k for k in ("a", "b", "c", "d", "e") if cache.kept((k, b""))] == \
        ["a", "c", "d", "e"]
    assert _answer(cache, "big", 101) == b'"' + b"x" * 101 + b'"'  # > a quarter: answered,
    assert cache.kept(("big", b"")) is None  # not kept, and nothing pushed out for it
    assert [k for k in ("a", "c", "d", "e") if cache.kept((k, b""))] == ["a", "c", "d", "e"]


def test_requests_for_an_answer_being_computed_share_that_computation(
        tmp_path: Path) -> None:
    import threading

    import anyio

    cache = _cache(tmp_path, max_bytes=1 << 20)
    computing, release = threading.Event(), threading.Event()
    calls: list[bool] = []

    def compute(wait: bool) -> dict:
        calls.append(wait)
        computing.set()
        assert release.wait(30)
        return {"n": len(calls)}

    async def both() -> list[bytes]:
        bodies: list[bytes] = []

        async def ask() -> None:
            bodies.append((await cache.answer(("k", b""), ("read",), compute)).body)

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            await anyio.to_thread.run_sync(computing.wait)  # the first is computing
            group.start_soon(ask)
            await anyio.sleep(0.05)  # let the second find it pending
            release.set()
        return bodies

    assert anyio.run(both) == [b'{"n":1}', b'{"n":1}']
    assert calls == [True]


def test_the_server_keeps_as_many_bytes_as_its_settings_say(tmp_path: Path) -> None:
    settings = ServerSettings(store=tmp_path / "s.duckdb", state=tmp_path / "state",
                              strategies=tmp_path / "strategies", cache_bytes=1234)
    app = create_app(settings, token_book(settings.state))
    assert app.state.cache.max_bytes == 1234
