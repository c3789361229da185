"""The HTTP API of ``flint serve``: auth on every route, jobs, journal, data, limits.

Runs the real app (FastAPI's test client, in-process) over a real store holding
flint's sample data; jobs run in real child processes and user code in the sandbox.
"""

import json
import stat
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from flint.server.app import PREFIX, ServerSettings, create_app
from flint.server.auth import AuthError, add_token, startup_tokens, token_book
from flint.server.jobs import JobManager
from flint.server.security import route_scopes
from flint.server.worker import JOURNAL_GATE_ENV

DAYS = 30
SAMPLE_FIRST_TS = 1_704_067_200


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flint.sample_data import generate
    from flint.store import FlintStore

    path = tmp_path_factory.mktemp("store") / "sample.duckdb"
    with FlintStore(path) as store:
        generate(days=DAYS).save(store)
    return path


class Api:
    """A running app and tokens of each kind."""

    def __init__(self, store: Path, root: Path, max_jobs: int = 2, **extra: object) -> None:
        self.settings = ServerSettings(store=store, state=root / "state",
                                       strategies=root / "strategies", max_jobs=max_jobs,
                                       **extra)  # type: ignore[arg-type]
        self.token = add_token(self.settings.state, ("read", "research"))
        self.reader = add_token(self.settings.state, ("read",))
        self.app = create_app(self.settings, token_book(self.settings.state))
        self.client = TestClient(self.app)
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: object):
        return self.client.get(PREFIX + path, headers=self.auth, **kw)

    def post(self, path: str, body: object = None, **kw: object):
        return self.client.post(PREFIX + path, json=body, headers=self.auth, **kw)

    def delete(self, path: str):
        return self.client.delete(PREFIX + path, headers=self.auth)

    def wait(self, job_id: str, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/jobs/{job_id}").json()
            if status["status"] not in ("queued", "running"):
                return status
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {status}")

    def wait_for_phase(self, job_id: str, phase: str, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/jobs/{job_id}").json()
            if status["progress"].get("phase") == phase:
                return status
            assert status["status"] in ("queued", "running"), status
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never reached {phase}: {status}")


@pytest.fixture
def api(store_path: Path, tmp_path: Path):
    api = Api(store_path, tmp_path)
    with api.client:
        yield api


#: Routes FastAPI adds: the schema and its viewers (no data), open by design.
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes(app) -> list:
    """Every route the app answers, as FastAPI resolves included routers."""
    return [r for r in iter_route_contexts(app.routes) if r.path not in DOCS]


def _concrete(path: str) -> str:
    """A route's path with its parameters filled in validly."""
    return (path.replace("{job_id}", "0" * 32).replace("{run_id}", "r1")
            .replace("{name}", "abc").replace("{market}", "SOL-PERP"))


# Auth


def test_every_route_but_health_requires_a_scope(api: Api) -> None:
    routes = _routes(api.app)
    assert len(routes) >= 27
    open_routes = [r.path for r in routes if not route_scopes(r)]
    assert open_routes == [f"{PREFIX}/health"]
    assert all(r.path.startswith(PREFIX) for r in routes)
    assert {r.path for r in iter_route_contexts(api.app.routes)} - {r.path for r in routes} \
        == DOCS
    for path, operations in api.app.openapi()["paths"].items():
        for method, operation in operations.items():
            assert ("security" in operation) == (path != f"{PREFIX}/health"), (method, path)


def test_every_protected_route_answers_401_without_a_token(api: Api) -> None:
    for route in _routes(api.app):
        if not route_scopes(route):
            continue
        for method in route.methods:
            response = api.client.request(method, _concrete(route.path))
            assert response.status_code == 401, (method, route.path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            bad = api.client.request(method, _concrete(route.path),
                                     headers={"Authorization": "Bearer not-a-token"})
            assert bad.status_code == 401, (method, route.path)


def test_health_is_open(api: Api) -> None:
    response = api.client.get(f"{PREFIX}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_read_token_cannot_start_jobs_or_delete(api: Api, crossing_code: str) -> None:
    read = {"Authorization": f"Bearer {api.reader}"}
    assert api.client.get(f"{PREFIX}/journal/runs", headers=read).status_code == 200
    started = api.client.post(f"{PREFIX}/backtest/run", json={"code": crossing_code},
                              headers=read)
    assert started.status_code == 403
    assert "research" in started.json()["detail"]
    assert api.client.delete(f"{PREFIX}/journal/runs/x", headers=read).status_code == 403


def test_first_start_makes_one_private_token(tmp_path: Path) -> None:
    book, token = startup_tokens(tmp_path / "state", "127.0.0.1")
    assert token is not None and book.scopes(token) == ("read", "research", "paper")
    mode = stat.S_IMODE((tmp_path / "state" / "tokens.json").stat().st_mode)
    assert mode == 0o600
    assert token not in (tmp_path / "state" / "tokens.json").read_text()
    again, none = startup_tokens(tmp_path / "state", "127.0.0.1")
    assert none is None and again.scopes(token) is not None


def test_listening_elsewhere_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match=r"refusing to listen on 0\.0\.0\.0"):
        startup_tokens(tmp_path / "state", "0.0.0.0")
    assert not (tmp_path / "state" / "tokens.json").exists()
    book, made = startup_tokens(tmp_path / "state", "0.0.0.0", configured="s3cret-token")
    assert made is None and book.scopes("s3cret-token") == ("read", "research", "paper")


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    add_token(tmp_path)
    (tmp_path / "tokens.json").chmod(0o644)
    with pytest.raises(AuthError, match="chmod 600"):
        token_book(tmp_path)


# Limits


def test_oversized_bodies_are_refused(store_path: Path, tmp_path: Path) -> None:
    api = Api(store_path, tmp_path, max_body=1000)
    with api.client:
        response = api.post("/user-strategies/validate", {"code": "x" * 5000})
        assert response.status_code == 413
        chunks = (b"x" * 400 for _ in range(5))  # no content-length: counted as it comes
        streamed = api.client.post(f"{PREFIX}/user-strategies/validate", content=chunks,
                                   headers={**api.auth, "content-type": "application/json"})
        assert streamed.status_code == 413


def test_cors_allows_only_the_configured_origins(store_path: Path, tmp_path: Path) -> None:
    api = Api(store_path, tmp_path, cors_origins=("http://localhost:5173",))
    with api.client:
        asked = {"Access-Control-Request-Method": "GET"}
        ok = api.client.options(f"{PREFIX}/journal/runs",
                                headers={**asked, "Origin": "http://localhost:5173"})
        assert ok.headers.get("access-control-allow-origin") == "http://localhost:5173"
        other = api.client.options(f"{PREFIX}/journal/runs",
                                   headers={**asked, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_unknown_fields_are_an_error(api: Api) -> None:
    response = api.post("/backtest/run", {"strategy": "x", "capitol": 5})
    assert response.status_code == 422


# Strategies


def test_strategy_catalogue_has_parameter_schemas(api: Api) -> None:
    from flint.cli.strategies import strategy_listing

    listing = api.get("/strategies").json()["strategies"]
    assert [s["name"] for s in listing] == [s["name"] for s in strategy_listing()]
    for row in listing:
        assert api.get(f"/strategies/{row['name']}").json()["parameters"] == row["parameters"]
    assert api.get("/strategies/no_such_strategy").status_code == 404


def test_user_strategies_round_trip_through_the_sandbox(api: Api, crossing_code: str) -> None:
    valid = api.post("/user-strategies/validate", {"code": crossing_code}).json()
    assert valid["valid"] is True and valid["class_name"] == "Crossing"
    assert set(valid["params"]) == {"fast_period", "slow_period"}
    refused = api.post("/user-strategies/validate",
                       {"code": "import os\n" + crossing_code}).json()
    assert refused["valid"] is False and "os" in refused["error"]

    saved = api.post("/user-strategies", {"name": "cross", "code": crossing_code})
    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert api.get("/user-strategies").json() == {"strategies": ["cross"]}
    got = api.get("/user-strategies/cross").json()
    assert got["code"] == crossing_code and set(got["params"]) == {"fast_period", "slow_period"}
    assert api.delete("/user-strategies/cross").json() == {"deleted": True}
    assert api.get("/user-strategies/cross").status_code == 404
    assert api.delete("/user-strategies/cross").status_code == 404


def test_refused_code_is_not_saved(api: Api) -> None:
    response = api.post("/user-strategies", {"name": "bad", "code": "import socket\n"})
    assert response.status_code == 400
    assert api.get("/user-strategies").json() == {"strategies": []}


def test_names_are_never_paths(api: Api) -> None:
    assert api.post("/user-strategies", {"name": "../evil", "code": "x"}).status_code == 422
    assert api.get("/user-strategies/..%2Fevil").status_code in (404, 422)
    response = api.post("/backtest/run", {"strategy": "user:../../etc/passwd"})
    assert response.status_code == 400
    assert api.get("/jobs").json() == {"jobs": []}


def test_unknown_strategies_are_refused_before_a_job_starts(api: Api) -> None:
    assert api.post("/backtest/run", {"strategy": "user:not_saved"}).status_code == 404
    unknown = api.post("/optimize/run", {"strategy": "no_such_strategy"})
    assert unknown.status_code == 400 and "no_such_strategy" in unknown.json()["detail"]
    assert api.get("/jobs").json() == {"jobs": []}


# Jobs


def test_backtest_job_ends_in_the_journal(api: Api, crossing_code: str) -> None:
    started = api.post("/backtest/run", {"code": crossing_code, "market": "SOL-PERP",
                                         "venues": ["binance"], "params": {"fast_period": 4}})
    assert started.status_code == 202
    job = started.json()
    assert job["status"] == "queued" and job["kind"] == "backtest"
    done = api.wait(job["id"])
    assert done["status"] == "complete", done
    assert done["progress"] == {"phase": "journal", "done": 1, "total": 1}
    result = api.get(f"/jobs/{job['id']}/result").json()
    record = result["record"]
    assert record["run_id"] == done["run_ids"][0]
    assert record["venue"] == "binance" and record["params"] == {"fast_period": 4}
    assert record["bars"] == DAYS * 24
    stored = api.get(f"/journal/runs/{record['run_id']}").json()
    assert stored["metrics"] == record["metrics"]
    assert [j["id"] for j in api.get("/jobs").json()["jobs"]] == [job["id"]]


def test_saved_user_strategy_runs_by_name(api: Api, crossing_code: str) -> None:
    api.post("/user-strategies", {"name": "cross", "code": crossing_code})
    job = api.post("/backtest/run", {"strategy": "user:cross"}).json()
    done = api.wait(job["id"])
    assert done["status"] == "complete", done
    assert api.get(f"/jobs/{job['id']}/result").json()["record"]["strategy"] == "user:cross"


def test_a_failing_job_says_why(api: Api, crossing_code: str) -> None:
    job = api.post("/backtest/run", {"code": crossing_code, "market": "DOGE-PERP"}).json()
    done = api.wait(job["id"])
    assert done["status"] == "failed"
    assert "DOGE-PERP" in done["error"]
    assert api.get(f"/jobs/{job['id']}/result").status_code == 409


def test_unknown_jobs_are_404(api: Api) -> None:
    assert api.get(f"/jobs/{'0' * 32}").status_code == 404
    assert api.post(f"/jobs/{'0' * 32}/cancel").status_code == 404


def test_event_stream_follows_a_job_to_its_end(api: Api, crossing_code: str) -> None:
    job = api.post("/backtest/run", {"code": crossing_code}).json()
    with api.client.stream("GET", f"{PREFIX}/jobs/{job['id']}/events",
                           headers=api.auth) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line.removeprefix("data: "))
                  for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1]["status"] == "complete"
    assert {e["id"] for e in events} == {job["id"]}


def test_jobs_beyond_the_limit_get_429_and_cancel_stops_one(
        store_path: Path, tmp_path: Path, crossing_code: str) -> None:
    api = Api(store_path, tmp_path, max_jobs=1)
    with api.client:
        slow = {"code": crossing_code, "trials": 5000}
        first = api.post("/optimize/run", slow)
        assert first.status_code == 202
        second = api.post("/optimize/run", slow)
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) > 0
        job_id = first.json()["id"]
        deadline = time.monotonic() + 60
        while api.get(f"/jobs/{job_id}").json()["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc = api.app.state.jobs._procs[job_id]
        cancelled = api.post(f"/jobs/{job_id}/cancel").json()
        assert cancelled["status"] == "cancelled"
        assert proc.wait(30) is not None
        assert api.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
        assert api.post("/optimize/run", {"code": crossing_code, "trials": 2}).status_code == 202


def _journaled(store: Path) -> set[str]:
    from flint.store import FlintStore

    with FlintStore(store, read_only=True) as reader:
        return {r["run_id"] for r in reader.list_backtest_runs(10_000)}


def test_a_cancel_during_the_journal_phase_keeps_every_run_and_records_them(
        store_path: Path, tmp_path: Path, crossing_code: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv(JOURNAL_GATE_ENV, str(gate))  # the child waits there, deaf to SIGTERM
    before = _journaled(store_path)
    api = Api(store_path, tmp_path)
    with api.client:
        job_id = api.post("/optimize/run", {"code": crossing_code, "trials": 2}).json()["id"]
        journaling = api.wait_for_phase(job_id, "journal")
        assert journaling["progress"] == {"phase": "journal", "done": 0, "total": 2}
        cancelled = api.post(f"/jobs/{job_id}/cancel").json()
        assert cancelled["status"] == "running" and "kept" in cancelled["note"]
        api.app.state.jobs._procs[job_id].terminate()  # a SIGTERM from elsewhere: ignored
        gate.touch()
        done = api.wait(job_id)
        assert done["status"] == "complete" and done["note"] == cancelled["note"]
        assert api.get(f"/jobs/{job_id}/result").json()["record"]["kind"] == "optimization"
    assert len(done["run_ids"]) == 2
    assert _journaled(store_path) - before == set(done["run_ids"])


def test_a_job_cancelled_before_its_journal_phase_writes_nothing(
        store_path: Path, tmp_path: Path, crossing_code: str) -> None:
    before = _journaled(store_path)
    api = Api(store_path, tmp_path)
    with api.client:
        job_id = api.post("/optimize/run", {"code": crossing_code, "trials": 2000}).json()["id"]
        api.wait_for_phase(job_id, "trials")
        assert api.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
        proc = api.app.state.jobs._procs[job_id]
        assert proc.wait(30) is not None
        assert api.wait(job_id)["run_ids"] == []
    assert _journaled(store_path) == before


@pytest.mark.parametrize("gate_opens", [True, False])
def test_a_stopping_server_waits_for_a_job_in_its_journal_phase(
        store_path: Path, tmp_path: Path, crossing_code: str,
        monkeypatch: pytest.MonkeyPatch, gate_opens: bool) -> None:
    import threading

    from flint.server import jobs

    monkeypatch.setattr(jobs, "JOURNAL_GRACE_S", 2.0)
    gate = tmp_path / "gate"
    monkeypatch.setenv(JOURNAL_GATE_ENV, str(gate))
    before = _journaled(store_path)
    api = Api(store_path, tmp_path)
    with api.client:
        job_id = api.post("/optimize/run", {"code": crossing_code, "trials": 2}).json()["id"]
        api.wait_for_phase(job_id, "journal")
        if gate_opens:  # while the server waits for it to finish
            threading.Timer(0.5, gate.touch).start()
    job = JobManager(store_path, api.settings.state / "jobs", tmp_path).get(job_id)
    if gate_opens:  # it finished in time: complete, with its runs
        assert job.status == "complete" and len(job.run_ids) == 2
        assert _journaled(store_path) - before == set(job.run_ids)
    else:  # killed at the deadline, the store as it was
        assert job.status == "interrupted" and job.run_ids == []
        assert _journaled(store_path) == before


def test_a_restart_records_the_runs_a_cut_off_job_had_journaled(
        store_path: Path, tmp_path: Path) -> None:
    from flint.server import jobs
    from flint.store import FlintStore

    with FlintStore(store_path) as store:
        written = store.save_backtest_runs([{"strategy": "x"}, {"strategy": "y"}])
    folder = tmp_path / "jobs"
    folder.mkdir()
    for job_id, journaling in (("a" * 32, written), ("b" * 32, ["never-written"])):
        job = jobs.Job(job_id, "optimize", {}, status="running", journaling=journaling)
        (folder / f"{job_id}.json").write_text(json.dumps(job.to_dict()))
    manager = JobManager(store_path, folder, tmp_path)
    assert (manager.get("a" * 32).status, manager.get("a" * 32).run_ids) == ("complete", written)
    assert manager.get("b" * 32).status == "interrupted"
    assert manager.get("b" * 32).run_ids == []


def test_optimisation_and_walk_forward_jobs(api: Api, crossing_code: str) -> None:
    opt = api.post("/optimize/run", {"code": crossing_code, "trials": 3, "seed": 1}).json()
    walk = api.post("/optimize/walk-forward", {"code": crossing_code, "windows": 2,
                                               "trials": 2}).json()
    done = api.wait(opt["id"])
    assert done["status"] == "complete", done
    assert done["progress"] == {"phase": "journal", "done": 2, "total": 2}
    study = api.get(f"/jobs/{opt['id']}/result").json()["record"]
    assert study["kind"] == "optimization" and len(done["run_ids"]) == 2
    assert study["best_run_id"] == done["run_ids"][1]
    walked = api.wait(walk["id"])
    assert walked["status"] == "complete", walked
    assert api.get(f"/jobs/{walk['id']}/result").json()["record"]["kind"] == "walk_forward"


def test_jobs_survive_a_restart_and_cut_off_ones_are_interrupted(
        store_path: Path, tmp_path: Path, crossing_code: str) -> None:
    api = Api(store_path, tmp_path)
    with api.client:
        job = api.post("/backtest/run", {"code": crossing_code}).json()
        assert api.wait(job["id"])["status"] == "complete"
    folder = api.settings.state / "jobs"
    cut = json.loads((folder / f"{job['id']}.json").read_text())
    cut.update(id="f" * 32, status="running", run_ids=[], journaling=[])
    (folder / f"{'f' * 32}.json").write_text(json.dumps(cut))

    again = Api(store_path, tmp_path)
    with again.client:
        assert again.get(f"/jobs/{job['id']}/result").json()["record"]["run_id"]
        interrupted = again.get(f"/jobs/{'f' * 32}").json()
        assert interrupted["status"] == "interrupted" and "server stopped" in interrupted["error"]
    assert JobManager(store_path, folder, tmp_path).get("f" * 32).status == "interrupted"
    (folder / "broken.json").write_text("{not json")
    assert len(JobManager(store_path, folder, tmp_path).listing()) == 2


def test_only_the_newest_finished_jobs_are_kept(store_path: Path, tmp_path: Path) -> None:
    from flint.server import jobs

    folder = tmp_path / "jobs"
    folder.mkdir()
    for i in range(5):
        job = jobs.Job(f"{i:032x}", "backtest", {}, status="complete", created_at=float(i))
        (folder / f"{job.id}.json").write_text(json.dumps(job.to_dict()))
        (folder / f"{job.id}.log").write_text("output")
    kept = jobs.JobManager(store_path, folder, tmp_path, keep=3).listing()
    assert [j.id for j in kept] == [f"{i:032x}" for i in (4, 3, 2)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{i:032x}{s}" for i in (2, 3, 4) for s in (".json", ".log"))


# Journal


def test_journal_list_get_compare_delete(api: Api, crossing_code: str) -> None:
    ids = []
    for fast in (3, 6):
        job = api.post("/backtest/run", {"code": crossing_code,
                                         "params": {"fast_period": fast}}).json()
        ids += api.wait(job["id"])["run_ids"]
    listed = [r["run_id"] for r in api.get("/journal/runs", params={"limit": 1000}).json()["runs"]]
    assert set(ids) <= set(listed)
    compared = api.get("/journal/compare", params={"ids": ",".join(ids)}).json()["comparisons"]
    assert [c["params"]["fast_period"] for c in compared] == [3, 6]
    assert all("sharpe_ratio" in c["metrics"] for c in compared)
    assert api.get("/journal/compare", params={"ids": "nope"}).status_code == 404
    assert api.delete(f"/journal/runs/{ids[0]}").json() == {"deleted": True}
    assert api.get(f"/journal/runs/{ids[0]}").status_code == 404
    assert api.delete(f"/journal/runs/{ids[0]}").status_code == 404


# Data


def test_candles(api: Api) -> None:
    latest = api.get("/data/ohlcv", params={"market": "BTC-PERP", "venue": "hyperliquid",
                                            "limit": 5}).json()
    assert latest["count"] == 5 and latest["venue"] == "hyperliquid"
    ts = [c["ts"] for c in latest["candles"]]
    assert ts == sorted(ts) and ts[-1] == SAMPLE_FIRST_TS + (DAYS * 24 - 1) * 3600
    ranged = api.get("/data/ohlcv", params={"market": "BTC-PERP", "start_ts": SAMPLE_FIRST_TS,
                                            "end_ts": SAMPLE_FIRST_TS + 7200}).json()
    assert [c["ts"] for c in ranged["candles"]] == [SAMPLE_FIRST_TS + i * 3600 for i in range(3)]
    missing = api.get("/data/ohlcv", params={"market": "DOGE-PERP"})
    assert missing.status_code == 400 and "DOGE-PERP" in missing.json()["detail"]
    assert api.get("/data/ohlcv", params={"market": "BTC-PERP", "limit": 10_001}
                   ).status_code == 422


def test_funding_by_venue_keeps_each_interval(api: Api) -> None:
    day = {"market": "SOL-PERP", "start_ts": SAMPLE_FIRST_TS,
           "end_ts": SAMPLE_FIRST_TS + 86_400 - 1}
    venues = api.get("/data/funding", params=day).json()["venues"]
    assert set(venues) == {"binance", "hyperliquid"}
    assert {r["interval_s"] for r in venues["hyperliquid"]} == {3600}
    assert {r["interval_s"] for r in venues["binance"]} == {28_800}
    # settled at the end of each interval: 01:00 .. 23:00 and 08:00, 16:00 of the first day
    assert len(venues["hyperliquid"]) == 23 and len(venues["binance"]) == 2
    for row in venues["binance"]:
        assert row["rate_bps"] == pytest.approx(row["rate"] * 1e4)
    one = api.get("/data/funding", params={**day, "venue": "binance"}).json()
    assert list(one["venues"]) == ["binance"] and one["count"] == 2


def test_open_interest_markets_freshness_coverage(api: Api) -> None:
    oi = api.get("/data/open-interest/ETH-PERP").json()
    assert oi["count"] > 0 and {r["venue"] for r in oi["records"]} == {"binance", "hyperliquid"}
    markets = api.get("/data/markets").json()
    assert markets["markets"] == ["BTC-PERP", "ETH-PERP", "SOL-PERP"]
    candles = [s for s in markets["series"] if s["kind"] == "candles"]
    assert {s["rows"] for s in candles} == {DAYS * 24} and {s["gaps"] for s in candles} == {0}
    fresh = api.get("/data/freshness").json()["freshness"]
    assert {(f["market"], f["data_type"]) for f in fresh} >= {("SOL-PERP", "candles")}
    span = {"venue": "binance", "market": "SOL-PERP", "start_ts": SAMPLE_FIRST_TS - 7200,
            "end_ts": SAMPLE_FIRST_TS + 7200}
    spans = api.get("/data/coverage", params=span).json()["spans"]
    assert [(s["status"], s["bars"]) for s in spans] == [("missing", 2), ("stored", 2)]


def test_correlation(api: Api) -> None:
    found = api.get("/data/correlation", params={"markets": "BTC-PERP,ETH-PERP"}).json()
    matrix = found["matrix"]
    assert matrix["BTC-PERP"]["BTC-PERP"] == pytest.approx(1.0)
    assert 0 < matrix["BTC-PERP"]["ETH-PERP"] < 1
    assert api.get("/data/correlation", params={"markets": "BTC-PERP"}).status_code == 400



OLD_RECORD = {"kind": "backtest", "strategy": "s", "market": "SOL-PERP", "total_pnl": 1.5,
              "result": {"equity": [1.0]}, "run_id": "old", "created_at": 1_700_000_000}


def _version_4_store(path: Path) -> Path:
    """A store as the previous release left it (schema 4), with one journaled run."""
    import duckdb

    from flint.store import schema as store_schema

    conn = duckdb.connect(str(path))
    store_schema.migrate(conn, store_schema.MIGRATIONS[:4])
    conn.execute("INSERT INTO backtest_runs VALUES ('old', 's', 'SOL-PERP', 1700000000, ?)",
                 [json.dumps(OLD_RECORD)])
    conn.close()
    return path


def test_a_store_of_the_previous_schema_is_readable_once_the_server_starts(tmp_path) -> None:
    """The server and the MCP server migrate a store journaled by the previous release
    at start; their reads answer at once."""
    import anyio
    from mcp import Client

    from flint.mcp.server import build_server

    listed = [{k: v for k, v in OLD_RECORD.items() if k != "result"}]
    state = tmp_path / "state"
    token = add_token(state, ("read",))
    app = create_app(ServerSettings(store=_version_4_store(tmp_path / "api.duckdb"),
                                    state=state, strategies=tmp_path / "s"),
                     token_book(state))
    with TestClient(app) as client:
        answer = client.get(PREFIX + "/journal/runs",
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["runs"] == listed

    async def mcp_list():
        server = build_server(_version_4_store(tmp_path / "mcp.duckdb"), tmp_path / "s")
        async with Client(server) as client:
            return await client.call_tool("list_journal_runs", {})

    assert anyio.run(mcp_list).structured_content["runs"] == listed
