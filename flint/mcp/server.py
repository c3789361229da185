"""The MCP server: the operations of the CLI and the HTTP API as tools.

Tools answer with models (structured output); bad input comes back as a tool error
saying what was wrong. Read-only tools are annotated so; the ones that write the
journal are not destructive (they only add runs); ``paper_start`` and ``paper_stop``
are (they start or stop a paper session); no tool places live orders. User
strategy code runs only in the sandbox, as everywhere else. Resources:
``flint://guide`` (how to use the tools) and ``flint://markets`` (what the store holds).
"""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import click
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from flint.server import queries
from flint.server.models import (
    BacktestSummary,
    Candles,
    Comparison,
    Correlation,
    DownloadKind,
    DownloadReport,
    DownloadRequest,
    Freshness,
    Funding,
    Markets,
    OpenInterest,
    OptimisationSummary,
    PaperStart,
    PaperStarted,
    RunList,
    SessionList,
    SessionState,
    StrategyList,
    TrialRow,
    WalkForwardSummary,
    WindowRow,
)

T = TypeVar("T")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
#: Tools that add runs to the journal: they change the store, deleting nothing.
ADDS_RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=False,
                            idempotent_hint=False, open_world_hint=False)
#: Tools that fetch from venues into the store (only what it lacks; nothing is deleted).
FETCHES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                          open_world_hint=True)
#: Seconds a download may take.
DOWNLOAD_TIMEOUT_S = 3600
#: Tools that change a paper session (never a live one): they cannot be undone.
CHANGES_PAPER = ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                idempotent_hint=True, open_world_hint=False)
#: The tool that starts a paper session (a process that trades on paper until stopped).
STARTS_PAPER = ToolAnnotations(read_only_hint=False, destructive_hint=True,
                               idempotent_hint=False, open_world_hint=True)
#: Candles a tool returns when no limit is given (each one is a token cost).
DEFAULT_CANDLES = 100

GUIDE = """\
flint backtests, optimises and inspects crypto perpetual-futures strategies on a local store.

1. list_strategies: the built-in strategies and their parameters (name, range, default).
2. get_data_freshness or the flint://markets resource: which markets, venues and
   resolutions the store holds, and up to when.
3. run_backtest: a built-in by name (params override its defaults) or your own code
   (a class deriving flint.strategy.Strategy; it runs in a sandbox without network
   or files). The run is saved to the journal; the answer has its run_id and metrics.
4. optimise / walk_forward: search parameters (and test them out of sample).
5. list_journal_runs / compare_runs: what was run, side by side.
6. download_market_data: fetch what the store lacks from the venues.
7. paper_start / list_paper_sessions / paper_status / paper_stop: paper sessions of a
   built-in strategy, as `flint paper` runs them (no tool places a live order).
Times are UTC dates (2024-03-01), ISO times or unix seconds.
"""

Text = Annotated[str, Field(max_length=200)]
Code = Annotated[str | None, Field(max_length=200_000, description=(
    "Strategy code (a Strategy subclass); runs only in the sandbox. Overrides strategy."))]
When = Annotated[str | None, Field(max_length=40, description=(
    "UTC date (2024-03-01), ISO time or unix seconds."))]


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if not math.isfinite(value) else float(value)


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a worker thread; bad input becomes a tool error with its message."""
    from flint.cli.common import user_error_types
    from flint.server.sessions import UnknownSession
    from flint.server.strategies import UnknownStrategy

    def run() -> T:
        try:
            return fn(*args, **kwargs)
        except click.ClickException as exc:
            raise ToolError(exc.format_message()) from None
        except (UnknownStrategy, UnknownSession, *user_error_types()) as exc:
            raise ToolError(str(exc)) from None

    return await anyio.to_thread.run_sync(run)


class Tools:
    """The tools and resources, over the store at ``store`` (``strategies``: the folder of
    saved user strategies, runnable as ``user:NAME``)."""

    def __init__(self, store: Path, strategies: Path, trust: bool) -> None:
        self.store = store
        self.strategies = strategies
        self.trust = trust

    def reading(self) -> Any:
        from flint.store import FlintStore

        return FlintStore(self.store, read_only=True)

    def journal(self, records: list[dict[str, Any]]) -> tuple[list[str], bool]:
        """Save ``records`` to the journal: their ids and whether they are in it."""
        from rich.console import Console

        from flint.cli.journal import save_records

        return save_records(records, self.store, 60.0, Console(quiet=True))

    async def list_strategies(self) -> StrategyList:
        """The built-in strategies with their category and parameters (type, range,
        default)."""
        return StrategyList(strategies=await _call(queries.catalogue))

    async def run_backtest(
        self,
        strategy: Text = "ma_crossover", code: Code = None, market: Text = "SOL-PERP",
        venues: list[str] | None = None, resolution_s: int = 3600, start: When = None,
        end: When = None, period: Annotated[str | None, Field(
            max_length=10, description="12h, 30d, 6w, 3m or 1y")] = None,
        capital: float = 10_000.0, fee_rate: float | None = None,
        fill_model: Text = "pipeline", params: dict[str, Any] | None = None,
    ) -> BacktestSummary:
        """Backtest a strategy (a built-in name, user:NAME, or code) on stored candles and
        funding, and save the run to the journal."""
        from flint.cli.backtest import backtest_record
        from flint.cli.inputs import load_research
        from flint.server.strategies import resolve, source_of

        def run() -> BacktestSummary:
            label, source = source_of(strategy, code, self.strategies)
            cls = resolve(label, None, self.strategies).cls if source is None else None
            data = load_research(
                self.store, market=market, venues=venues or (), resolution_s=resolution_s,
                start=start, end=end, period=period, capital=capital, fee_rate=fee_rate,
                fill_model=fill_model,
            )
            record = backtest_record(label, source, cls, params or {}, data, self.trust)
            [run_id], saved = self.journal([record])
            return BacktestSummary(
                run_id=run_id, journaled=saved, strategy=record["strategy"],
                market=record["market"], venue=record["venue"],
                resolution_s=record["resolution_s"], start_ts=record["start_ts"],
                end_ts=record["end_ts"], bars=record["bars"], params=record["params"],
                metrics={k: _finite(v) for k, v in record["metrics"].items()},
                warnings=record["result"]["strategy_warnings"][:20],
            )

        return await _call(run)

    async def optimise(
        self,
        strategy: Text = "ma_crossover", code: Code = None, market: Text = "SOL-PERP",
        venue: str | None = None, resolution_s: int = 3600, start: When = None,
        end: When = None, metric: Text = "sharpe_ratio",
        trials: Annotated[int, Field(ge=1, le=2000)] = 30, seed: int = 0,
        param_space: dict[str, Any] | None = None,
    ) -> OptimisationSummary:
        """Search a strategy's parameters on stored candles; journal the study and a
        backtest of the best parameters."""
        from flint.cli.inputs import load_research
        from flint.cli.optimize import optimise as search
        from flint.server.strategies import resolve

        def run() -> OptimisationSummary:
            spec = resolve(strategy, code, self.strategies, trust=self.trust)
            data = load_research(self.store, market=market, venues=(venue,) if venue else (),
                                 resolution_s=resolution_s, start=start, end=end)
            study = search(spec, data, trials=trials, metric=metric, seed=seed,
                           param_space=param_space)
            (run_id, best_id), saved = self.journal(study.records)
            result = study.result
            return OptimisationSummary(
                run_id=run_id, best_run_id=best_id, journaled=saved, metric=metric,
                best_value=_finite(result.best_value), best_params=result.best_params,
                trials=len(result.trials), failed_trials=result.failed_trials,
                top_trials=[TrialRow(number=t.number, state=t.state, value=_finite(t.value),
                                     params=t.params) for t in result.trials[:5]],
            )

        return await _call(run)

    async def walk_forward(
        self,
        strategy: Text = "ma_crossover", code: Code = None, market: Text = "SOL-PERP",
        venue: str | None = None, resolution_s: int = 3600, start: When = None,
        end: When = None, metric: Text = "sharpe_ratio",
        windows: Annotated[int, Field(ge=1, le=50)] = 5,
        train_pct: Annotated[float, Field(gt=0, lt=1)] = 0.7,
        trials: Annotated[int, Field(ge=1, le=500)] = 20, seed: int = 0,
    ) -> WalkForwardSummary:
        """Optimise window after window and test each winner out of sample; journal it."""
        from flint.cli.inputs import load_research
        from flint.cli.optimize import walk_forward as walk
        from flint.server.strategies import resolve

        def run() -> WalkForwardSummary:
            spec = resolve(strategy, code, self.strategies, trust=self.trust)
            data = load_research(self.store, market=market, venues=(venue,) if venue else (),
                                 resolution_s=resolution_s, start=start, end=end)
            study = walk(spec, data, windows=windows, train_pct=train_pct, trials=trials,
                         metric=metric, seed=seed)
            [run_id], saved = self.journal(study.records)
            result = study.result
            return WalkForwardSummary(
                run_id=run_id, journaled=saved, metric=metric,
                mean_in_sample=_finite(result.mean_in_sample),
                mean_out_of_sample=_finite(result.mean_out_of_sample),
                overfitting_ratio=_finite(result.overfitting_ratio),
                parameter_stability=_finite(result.parameter_stability),
                windows=[WindowRow(index=w.index, test_start_ts=w.test_start_ts,
                                   test_end_ts=w.test_end_ts, best_params=w.best_params,
                                   in_sample=_finite(w.in_sample),
                                   out_of_sample=_finite(w.out_of_sample))
                         for w in result.windows],
            )

        return await _call(run)

    async def list_journal_runs(self, limit: Annotated[int, Field(ge=1, le=500)] = 20) -> RunList:
        """The newest journaled runs (scalar fields: strategy, market, metrics...)."""

        def run() -> RunList:
            with self.reading() as s:
                return RunList(runs=s.list_backtest_runs(limit))

        return await _call(run)

    async def compare_runs(self, run_ids: Annotated[list[str], Field(min_length=1,
                                                               max_length=20)]) -> Comparison:
        """Journaled runs side by side: parameters and metrics."""

        def run() -> Comparison:
            with self.reading() as s:
                records = [s.get_backtest_run(i) for i in run_ids]
            missing = [i for i, r in zip(run_ids, records, strict=True) if r is None]
            if missing:
                raise ToolError(f"no journaled run {', '.join(missing)}")
            return Comparison(comparisons=queries.compare([r for r in records if r]))

        return await _call(run)

    async def get_candles(self, market: Text = "SOL-PERP", resolution_s: int = 3600,
                          start_ts: int | None = None, end_ts: int | None = None,
                          limit: Annotated[int, Field(ge=1, le=queries.MAX_CANDLES)] = (
                              DEFAULT_CANDLES),
                          venue: str | None = None) -> Candles:
        """Stored candles (the most recent ``limit`` unless start_ts is given)."""

        def run() -> Candles:
            with self.reading() as s:
                return queries.candles(s, market, resolution_s, start_ts, end_ts, limit, venue)

        return await _call(run)

    async def get_funding_rates(self, market: Text = "SOL-PERP", start_ts: int | None = None,
                                end_ts: int | None = None,
                                venue: str | None = None) -> Funding:
        """Funding settlements by venue, each with its own interval (rate per interval)."""

        def run() -> Funding:
            with self.reading() as s:
                return queries.funding(s, market, start_ts, end_ts, venue)

        return await _call(run)

    async def get_open_interest(self, market: Text = "SOL-PERP", start_ts: int | None = None,
                                end_ts: int | None = None,
                                venue: str | None = None) -> OpenInterest:
        """Open interest records of a market."""

        def run() -> OpenInterest:
            with self.reading() as s:
                return queries.open_interest(s, market, start_ts, end_ts, venue)

        return await _call(run)

    async def get_correlation(
        self,
        markets: Annotated[list[str], Field(min_length=2, max_length=20)],
        resolution_s: int = 3600, start_ts: int | None = None, end_ts: int | None = None,
    ) -> Correlation:
        """Correlation of the markets' bar returns on their shared timestamps."""

        def run() -> Correlation:
            with self.reading() as s:
                return queries.correlation(s, markets, resolution_s, start_ts, end_ts)

        return await _call(run)

    async def get_data_freshness(self) -> Freshness:
        """Per stored series: the newest time, its age in seconds, how far it was fetched."""

        def run() -> Freshness:
            with self.reading() as s:
                return queries.freshness(s)

        return await _call(run)

    async def download_market_data(
        self, venues: list[Text] | None = None, markets: list[Text] | None = None,
        resolution_s: Annotated[int, Field(ge=1, le=31_536_000)] = 3600,
        start: When = None, end: When = None,
        period: Annotated[str | None, Field(max_length=10)] = None,
        kinds: list[DownloadKind] | None = None,
    ) -> DownloadReport:
        """Download venues' candles and funding (or open_interest, orderbook) into the store:
        only what it lacks. Default venues: configured, else every installed one; default
        markets: configured and already stored; default start: where the store stops."""
        import subprocess
        import sys

        from flint.server.worker import download_args

        request = DownloadRequest(venues=venues or [], markets=markets or [],
                                  resolution_s=resolution_s, start=start, end=end,
                                  period=period, kinds=kinds or ["candles", "funding"])

        def run() -> DownloadReport:
            # its own process: the command prints, and stdout may be this server's channel
            done = subprocess.run(
                [sys.executable, "-m", "flint", "data", "download",
                 *download_args(request.model_dump(), self.store)],
                capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False)
            if done.returncode != 0:
                said = (done.stderr.strip() or done.stdout.strip()).splitlines()
                raise ToolError(said[-1] if said else f"exit code {done.returncode}")
            return DownloadReport(report=done.stdout)

        return await _call(run)

    async def list_paper_sessions(self) -> SessionList:
        """The store's paper sessions (names, oldest first)."""
        from flint.server import sessions

        return await _call(sessions.session_list, self.store, "paper")

    async def paper_status(self, session: Text) -> SessionState:
        """A paper session's status, equity, positions and resting orders."""
        from flint.server import sessions

        return await _call(sessions.session_state, self.store, "paper", session)

    async def paper_start(self, request: PaperStart) -> PaperStarted:
        """Start a paper session of a built-in strategy on a venue's bars (`flint paper
        run`, in a process of its own that keeps running); answers with its name once it
        exists. Paper only: no live order is ever placed."""
        from flint.server import sessions
        from flint.server.app import default_state

        return await _call(sessions.start_paper, self.store, default_state(self.store), request)

    async def paper_stop(self, session: Text) -> SessionState:
        """Stop a paper session: cancel its resting orders and keep its positions (it can
        be resumed with `flint paper`). Paper only: no live order is ever placed."""
        from flint.server import sessions

        return await _call(sessions.paper_control, self.store, session, "stop")

    def guide(self) -> str:
        """How to use flint's tools."""
        return GUIDE

    def markets(self) -> str:
        """Every stored series: kind, venue, market, resolution, rows, span, gaps."""
        with self.reading() as s:
            found: Markets = queries.markets(s)
        return found.model_dump_json()


def build_server(store: str | Path, strategies: Path = Path("strategies/user"), *,
                 trust: bool = False) -> MCPServer:
    """The MCP server over the store at ``store`` (``strategies``: saved user strategies;
    ``trust``: run user code even where the host cannot confine it)."""
    from flint.server.upgrade import upgrade_store
    from flint_core import __version__

    upgrade_store(Path(store))
    server: MCPServer = MCPServer("flint", version=__version__, instructions=GUIDE)
    tools = Tools(Path(store), strategies, trust)
    for annotations, name in TOOLS:
        server.add_tool(getattr(tools, name), annotations=annotations)
    for uri, mime_type, name in RESOURCES:
        server.resource(uri, mime_type=mime_type)(getattr(tools, name))
    return server


#: Each tool with its annotations.
TOOLS = (
    (READ_ONLY, "list_strategies"),
    (ADDS_RUNS, "run_backtest"),
    (ADDS_RUNS, "optimise"),
    (ADDS_RUNS, "walk_forward"),
    (READ_ONLY, "list_journal_runs"),
    (READ_ONLY, "compare_runs"),
    (READ_ONLY, "get_candles"),
    (READ_ONLY, "get_funding_rates"),
    (READ_ONLY, "get_open_interest"),
    (READ_ONLY, "get_correlation"),
    (READ_ONLY, "get_data_freshness"),
    (FETCHES, "download_market_data"),
    (READ_ONLY, "list_paper_sessions"),
    (READ_ONLY, "paper_status"),
    (STARTS_PAPER, "paper_start"),
    (CHANGES_PAPER, "paper_stop"),
)
#: Each resource: its URI, MIME type and method.
RESOURCES = (
    ("flint://guide", "text/markdown", "guide"),
    ("flint://markets", "application/json", "markets"),
)
