"""The read-only ``/dashboard`` routes the web dashboard draws from: a filtered page of
the journal and a run's chart data, on a real store with journaled runs."""


import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from flint.server.app import PREFIX, ServerSettings, create_app
from flint.server.auth import add_token, token_book
from flint.server.routes_dashboard import thin

pytest.importorskip("flint_strategies", reason="its journal runs are of the built-in ma_crossover")


@given(st.lists(st.floats(-1e6, 1e6), max_size=400), st.integers(3, 60))
def test_thinning_keeps_ends_and_extremes_within_bounds(values, most):
    points = [(float(i), v) for i, v in enumerate(values)]
    kept = thin(points, most)
    assert len(kept) <= (len(points) if len(points) <= most else most + 1)
    if points:
        assert kept[0] == [*points[0]] and kept[-1] == [*points[-1]]
        assert min(v for _, v in kept) == min(values)
        assert max(v for _, v in kept) == max(values)
        assert [t for t, _ in kept] == sorted({t for t, _ in kept})  # in order, no repeats


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from flint.cli.backtest import backtest_record
    from flint.cli.inputs import builtin_strategy, load_research
    from flint.sample_data import generate
    from flint.store import FlintStore

    root = tmp_path_factory.mktemp("dashboard-api")
    path = root / "sample.duckdb"
    with FlintStore(path) as store:
        generate(days=20).save(store)
    record = backtest_record("ma_crossover", None, builtin_strategy("ma_crossover").cls,
                             {"fast_period": 5, "slow_period": 20}, load_research(path))
    with FlintStore(path) as store:
        for i in range(7):
            store.save_backtest_run({**record, "run_id": f"bt{i}", "created_at": 100 + i})
        store.save_backtest_run({"run_id": "opt", "kind": "optimization", "strategy": "x",
                                 "market": "SOL-PERP", "best_run_id": "bt0",
                                 "created_at": 50})
    subprocess.run([sys.executable, "-m", "flint", "walk-forward", "ma_crossover", "--windows",
                    "2", "--trials", "3", "--db", str(path)], check=True, capture_output=True,
                   timeout=300)
    settings = ServerSettings(store=path, state=root / "state", strategies=root / "s")
    token = add_token(settings.state, ("read",))
    with TestClient(create_app(settings, token_book(settings.state))) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def test_a_journal_page_says_how_many_match(client: TestClient) -> None:
    page = client.get(f"{PREFIX}/dashboard/runs", params={"limit": 3, "offset": 4}).json()
    # newest first: the walk-forward (journaled now), bt6 .. bt0, the optimisation
    assert [r["run_id"] for r in page["runs"]] == ["bt3", "bt2", "bt1"]
    assert (page["total"], page["offset"], page["limit"]) == (9, 4, 3)
    assert all("result" not in r and "metrics" not in r for r in page["runs"])
    studies = client.get(f"{PREFIX}/dashboard/runs", params={"kind": "optimization"}).json()
    assert [r["run_id"] for r in studies["runs"]] == ["opt"] and studies["total"] == 1
    recent = client.get(f"{PREFIX}/dashboard/runs", params={"since": 105, "until": 107}).json()
    assert client.get(f"{PREFIX}/dashboard/runs", params={"venue": "nowhere"}).json()["total"] \
        == 0
    assert [r["run_id"] for r in recent["runs"]] == ["bt6", "bt5"]


def test_bad_filters_are_refused(client: TestClient) -> None:
    for params in ({"kind": "live"}, {"limit": 0}, {"limit": 201}, {"offset": -1},
                   {"strategy": ""}):
        assert client.get(f"{PREFIX}/dashboard/runs", params=params).status_code == 422


def test_a_run_view_has_the_charts_of_its_tearsheet(client: TestClient) -> None:
    from flint.backtest.journal import tearsheet_from_record

    view = client.get(f"{PREFIX}/dashboard/runs/bt0/view").json()
    record = client.get(f"{PREFIX}/journal/runs/bt0").json()
    tear = tearsheet_from_record(record, monte_carlo_iterations=0)
    assert view["equity"][0] == [*tear.equity_curve[0]]
    assert view["equity"][-1] == [*tear.equity_curve[-1]]
    assert min(v for _, v in view["drawdown"]) == min(v for _, v in tear.drawdown_curve)
    assert view["trade_count"] == len(tear.trades) == len(view["trades"])
    assert view["monte_carlo"] is None
    assert view["metrics"]["total_trades"] == tear.metrics["total_trades"]
    assert sum(view["monthly_returns"]["2024"].values()) != 0
    fan = client.get(f"{PREFIX}/dashboard/runs/bt0/view", params={"monte_carlo": 50}).json()
    bands = fan["monte_carlo"]["bands"]
    assert fan["monte_carlo"]["iterations"] == 50 and set(bands) == {"5", "25", "50", "75", "95"}
    assert all(low[1] <= high[1] for low, high in zip(bands["5"], bands["95"], strict=True))


def test_a_view_of_an_optimisation_or_a_missing_run_is_refused(client: TestClient) -> None:
    study = client.get(f"{PREFIX}/dashboard/runs/opt/view")
    assert study.status_code == 400 and "bt0" in study.json()["detail"]
    assert client.get(f"{PREFIX}/dashboard/runs/nope/view").status_code == 404
    assert client.get(f"{PREFIX}/dashboard/runs/bt0/view",
                      params={"monte_carlo": 5000}).status_code == 422


def test_a_walk_forward_view_is_its_stitched_out_of_sample_run(client: TestClient) -> None:
    listed = client.get(f"{PREFIX}/dashboard/runs", params={"kind": "walk_forward"}).json()
    assert listed["total"] == 1
    run_id = listed["runs"][0]["run_id"]
    record = client.get(f"{PREFIX}/journal/runs/{run_id}").json()
    view = client.get(f"{PREFIX}/dashboard/runs/{run_id}/view").json()
    assert view["kind"] == "walk_forward"
    assert view["equity"][0] == [record["oos_timestamps"][0], record["oos_equity_curve"][0]]
    assert view["equity"][-1] == [record["oos_timestamps"][-1], record["oos_equity_curve"][-1]]
