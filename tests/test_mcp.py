"""The MCP server through the SDK's own in-memory client, on a store of sample data."""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")
from mcp import Client

from flint.mcp.server import build_server

READ_ONLY = {"list_strategies", "list_journal_runs", "compare_runs", "get_candles",
             "get_funding_rates", "get_open_interest", "get_correlation",
             "get_data_freshness", "list_paper_sessions", "paper_status"}
ADDS_RUNS = {"run_backtest", "optimise", "walk_forward"}
CHANGES_PAPER = {"paper_start", "paper_stop"}
FETCHES = {"download_market_data"}
DAYS = 30


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flint.sample_data import generate
    from flint.store import FlintStore

    path = tmp_path_factory.mktemp("mcp") / "sample.duckdb"
    with FlintStore(path) as store:
        generate(days=DAYS).save(store)
    return path


@pytest.fixture
def session(store_path: Path, tmp_path: Path) -> Callable[[Callable[[Client], Awaitable[Any]]],
                                                          Any]:
    """Run ``steps(client)`` against a fresh server over the sample store."""
    server = build_server(store_path, tmp_path / "strategies")

    def run(steps: Callable[[Client], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            async with Client(server) as client:
                return await steps(client)

        return anyio.run(main)

    return run


def _tool(session, name: str, arguments: dict[str, Any] | None = None) -> Any:
    return session(lambda client: client.call_tool(name, arguments or {}))


def test_tool_list_schemas_and_annotations(session) -> None:
    tools = {t.name: t for t in session(lambda c: c.list_tools()).tools}
    assert set(tools) == READ_ONLY | ADDS_RUNS | CHANGES_PAPER | FETCHES
    for name, tool in tools.items():
        assert tool.description, name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", name
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
        assert tool.annotations.destructive_hint is (name in CHANGES_PAPER), name
    assert tools["paper_stop"].input_schema["required"] == ["session"]
    assert tools["download_market_data"].annotations.open_world_hint is True
    assert {"venues", "markets", "start", "end", "kinds"} <= set(
        tools["download_market_data"].input_schema["properties"])
    assert {"session", "status", "positions", "orders"} <= set(
        tools["paper_status"].output_schema["properties"])
    backtest = tools["run_backtest"]
    props = backtest.input_schema["properties"]
    assert {"strategy", "code", "market", "venues", "start", "end", "period", "capital",
            "fee_rate", "fill_model", "params"} <= set(props)
    assert props["market"]["default"] == "SOL-PERP"
    assert {"run_id", "metrics", "bars", "journaled"} <= set(
        backtest.output_schema["properties"])
    assert tools["get_correlation"].input_schema["required"] == ["markets"]
    assert tools["compare_runs"].input_schema["required"] == ["run_ids"]
    candles = tools["get_candles"].output_schema
    assert {"market", "venue", "count", "candles"} <= set(candles["properties"])


def test_list_strategies_is_the_registry(session) -> None:
    from flint.cli.strategies import strategy_listing

    result = _tool(session, "list_strategies")
    assert not result.is_error
    names = [s["name"] for s in result.structured_content["strategies"]]
    assert names == [s["name"] for s in strategy_listing()]
    for row in result.structured_content["strategies"]:
        assert isinstance(row["parameters"], dict)


def test_run_backtest_of_code_is_journaled(session, crossing_code: str) -> None:
    async def steps(client: Client) -> tuple[Any, Any]:
        ran = await client.call_tool("run_backtest", {
            "code": crossing_code, "market": "ETH-PERP", "venues": ["hyperliquid"],
            "params": {"fast_period": 4}, "capital": 5000})
        listed = await client.call_tool("list_journal_runs", {"limit": 5})
        return ran, listed

    ran, listed = session(steps)
    assert not ran.is_error, ran.content
    summary = ran.structured_content
    assert summary["journaled"] is True and summary["venue"] == "hyperliquid"
    assert summary["bars"] == DAYS * 24 and summary["params"] == {"fast_period": 4}
    assert summary["metrics"]["total_trades"] > 0
    assert [r["run_id"] for r in listed.structured_content["runs"]] == [summary["run_id"]]


def test_run_backtest_of_a_builtin(session) -> None:
    pytest.importorskip("flint_strategies")
    ran = _tool(session, "run_backtest", {"strategy": "ma_crossover", "period": "14d"})
    assert not ran.is_error, ran.content
    assert ran.structured_content["strategy"] == "ma_crossover"
    assert ran.structured_content["bars"] == 14 * 24 + 1


def test_bad_input_is_a_tool_error(session, crossing_code: str) -> None:
    missing = _tool(session, "get_candles", {"market": "DOGE-PERP"})
    assert missing.is_error and "DOGE-PERP" in missing.content[0].text
    refused = _tool(session, "run_backtest", {"code": "import os\n" + crossing_code})
    assert refused.is_error and "os" in refused.content[0].text
    unknown = _tool(session, "run_backtest", {"strategy": "no_such_strategy"})
    assert unknown.is_error and "no_such_strategy" in unknown.content[0].text
    not_run = _tool(session, "compare_runs", {"run_ids": ["nope"]})
    assert not_run.is_error and "nope" in not_run.content[0].text


def test_optimise_and_compare(session, crossing_code: str) -> None:
    async def steps(client: Client) -> tuple[Any, Any]:
        opt = await client.call_tool("optimise", {"code": crossing_code, "trials": 3})
        best = opt.structured_content["best_run_id"]
        compared = await client.call_tool("compare_runs", {"run_ids": [best]})
        return opt, compared

    opt, compared = session(steps)
    assert not opt.is_error, opt.content
    assert opt.structured_content["trials"] == 3
    [row] = compared.structured_content["comparisons"]
    assert row["params"] == opt.structured_content["best_params"]


def test_market_data_tools(session) -> None:
    funding = _tool(session, "get_funding_rates", {"market": "BTC-PERP"}).structured_content
    assert set(funding["venues"]) == {"binance", "hyperliquid"}
    oi = _tool(session, "get_open_interest", {"market": "BTC-PERP"}).structured_content
    assert oi["count"] > 0
    corr = _tool(session, "get_correlation",
                 {"markets": ["BTC-PERP", "SOL-PERP"]}).structured_content
    assert 0 < corr["matrix"]["BTC-PERP"]["SOL-PERP"] < 1
    fresh = _tool(session, "get_data_freshness").structured_content["freshness"]
    assert {f["market"] for f in fresh} == {"BTC-PERP", "ETH-PERP", "SOL-PERP"}


def test_resources(session) -> None:
    async def steps(client: Client) -> tuple[Any, Any, Any]:
        listed = await client.list_resources()
        guide = await client.read_resource("flint://guide")
        markets = await client.read_resource("flint://markets")
        return listed, guide, markets

    listed, guide, markets = session(steps)
    assert {str(r.uri) for r in listed.resources} == {"flint://guide", "flint://markets"}
    assert "run_backtest" in guide.contents[0].text
    assert json.loads(markets.contents[0].text)["markets"] == ["BTC-PERP", "ETH-PERP",
                                                              "SOL-PERP"]
