"""Pydantic models of every request and response body of the HTTP API (its OpenAPI)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flint.optimization.defaults import SAMPLERS
from flint.optimization.objective import METRICS
from flint.providers.base import DOWNLOAD_KINDS

Metric = Literal[METRICS]  # type: ignore[valid-type]
Sampler = Literal[SAMPLERS]  # type: ignore[valid-type]
DownloadKind = Literal[DOWNLOAD_KINDS]  # type: ignore[valid-type]
#: Largest strategy code accepted (characters).
MAX_CODE = 200_000


class Strict(BaseModel):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"]
    service: Literal["flint"]
    version: str


class Error(BaseModel):
    detail: Any = Field(description="What was wrong (a message, or validation errors).")


# Strategies


class StrategyInfo(BaseModel):
    name: str
    class_name: str
    category: str
    style: str
    description: str
    plugin: str | None
    parameters: dict[str, dict[str, Any]] = Field(
        description="parameters(): name -> {type, low, high, default, ...}")


class StrategyList(BaseModel):
    strategies: list[StrategyInfo]


class CodeBody(Strict):
    code: str = Field(max_length=MAX_CODE)


class UserStrategyBody(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    code: str = Field(max_length=MAX_CODE)


class Validation(BaseModel):
    valid: bool
    error: str | None = None
    class_name: str | None = None
    params: dict[str, dict[str, Any]] | None = None


class UserStrategy(BaseModel):
    name: str
    code: str
    class_name: str
    params: dict[str, dict[str, Any]]


class Saved(BaseModel):
    name: str
    saved: Literal[True]
    class_name: str
    params: dict[str, dict[str, Any]]


class UserStrategyNames(BaseModel):
    strategies: list[str]


class Deleted(BaseModel):
    deleted: Literal[True]


# Jobs


class StrategyChoice(Strict):
    strategy: str = Field("ma_crossover", max_length=200, description=(
        "A built-in strategy name, or user:NAME for a saved user strategy; ignored when "
        "code is given."))
    code: str | None = Field(None, max_length=MAX_CODE,
                             description="Strategy code, run only in the sandbox.")
    market: str = Field("SOL-PERP", max_length=64)
    resolution_s: int = Field(3600, ge=1)
    start: str | None = Field(None, max_length=40,
                              description="First day (UTC date), ISO time or unix seconds.")
    end: str | None = Field(None, max_length=40,
                            description="Last day (included), ISO time or unix seconds.")
    capital: float = Field(10_000.0, gt=0, le=1e12)


class BacktestRequest(StrategyChoice):
    venues: list[str] = Field(default_factory=list, max_length=8, description=(
        "Venues whose candles to use (default: the one with most bars); several make a "
        "multi-venue run."))
    period: str | None = Field(None, max_length=10, description="12h, 30d, 6w, 3m or 1y.")
    fee_rate: float | None = Field(None, ge=0, lt=1, description=(
        "Charged on maker and taker fills instead of each venue's own rates."))
    fill_model: str = Field("pipeline", max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class StudyRequest(StrategyChoice):
    venue: str | None = Field(None, max_length=64)
    metric: Metric = "sharpe_ratio"
    fee_rate: float | None = Field(None, ge=0, lt=1)
    sampler: Sampler = "tpe"
    seed: int = 0
    param_space: dict[str, Any] = Field(default_factory=dict)


class OptimizeRequest(StudyRequest):
    trials: int = Field(50, ge=1, le=10_000)


class WalkForwardRequest(StudyRequest):
    windows: int = Field(5, ge=1, le=100)
    train_pct: float = Field(0.7, gt=0, lt=1)
    anchored: bool = False
    trials: int = Field(30, ge=1, le=10_000, description="Trials per window.")
    warmup: int | None = Field(None, ge=0)


class DownloadRequest(Strict):
    """What ``flint data download`` takes (incremental: only spans not fetched before)."""

    venues: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=8,
        description="Venues to download from (default: configured, else every installed).")
    markets: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50,
        description="Markets, e.g. SOL-PERP (default: configured and already stored).")
    resolution_s: int = Field(3600, ge=1, le=31_536_000)
    start: str | None = Field(None, max_length=40, description=(
        "First day (default: where the store stops, else a year back)."))
    end: str | None = Field(None, max_length=40, description="Last day, included.")
    period: str | None = Field(None, max_length=10, description="12h, 30d, 6w, 3m or 1y back.")
    kinds: list[DownloadKind] = Field(default_factory=lambda: ["candles", "funding"],
                                      min_length=1, max_length=len(DOWNLOAD_KINDS))


class DownloadReport(BaseModel):
    report: str = Field(description="What `flint data download` printed: per series, the "
                                    "rows new or changed and the span fetched.")


class JobStatus(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "complete", "failed", "cancelled", "interrupted"]
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: dict[str, Any] = Field(description="{phase, done, total} while it runs.")
    run_ids: list[str] = Field(description="Its journal runs, once complete.")
    error: str | None
    note: str | None


class JobList(BaseModel):
    jobs: list[JobStatus]


class JobResult(BaseModel):
    id: str
    status: str
    run_ids: list[str]
    record: dict[str, Any] = Field(description="The job's main journal record.")


# Journal


class RunList(BaseModel):
    runs: list[dict[str, Any]] = Field(description="Newest first, scalar fields only.")


class RunComparison(BaseModel):
    run_id: str
    strategy: str | None
    market: str | None
    venue: str | None
    metrics: dict[str, Any]
    params: dict[str, Any]


class Comparison(BaseModel):
    comparisons: list[RunComparison]


class RunPage(BaseModel):
    runs: list[dict[str, Any]] = Field(description="Newest first, scalar fields only.")
    total: int = Field(description="Runs matching the filters, all pages.")
    offset: int
    limit: int


class MonteCarloFan(BaseModel):
    iterations: int
    method: str
    prob_profit: float
    bands: dict[str, list[list[float]]] = Field(
        description="Percentile -> [[step, equity], ...] of the resampled paths (a step "
                    "is a resampled trade or bar).")


class RunView(BaseModel):
    run_id: str
    kind: str
    metrics: dict[str, float | None] = Field(description="Null where a metric is undefined.")
    equity: list[list[float]] = Field(description="[[ts, equity], ...], thinned for charts.")
    drawdown: list[list[float]] = Field(description="[[ts, drawdown], ...], thinned.")
    monthly_returns: dict[str, dict[str, float]] = Field(description="year -> month -> return")
    trades: list[dict[str, Any]] = Field(description="The first closed trades.")
    trade_count: int
    per_venue: dict[str, dict[str, float]] = Field(
        description="venue -> {pnl, trades, funding_income, fees}")
    monte_carlo: MonteCarloFan | None


# Data


class CandleRow(BaseModel):
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Candles(BaseModel):
    market: str
    venue: str
    resolution_s: int
    count: int
    candles: list[CandleRow]


class FundingRow(BaseModel):
    ts: int
    rate: float
    rate_bps: float
    interval_s: int | None


class Funding(BaseModel):
    market: str
    count: int
    venues: dict[str, list[FundingRow]]


class OpenInterestRow(BaseModel):
    ts: int
    venue: str
    long_oi: float
    short_oi: float


class OpenInterest(BaseModel):
    market: str
    count: int
    records: list[OpenInterestRow]


class Series(BaseModel):
    kind: str
    venue: str
    market: str
    resolution_s: int | None
    rows: int
    first_ts: int
    last_ts: int
    gaps: int | None
    missing: int | None


class Markets(BaseModel):
    series: list[Series]
    markets: list[str]


class FreshnessRow(BaseModel):
    market: str
    source: str
    data_type: str
    resolution_s: int | None
    last_ts: int | None
    age_s: float | None
    fetched_until: int | None


class Freshness(BaseModel):
    freshness: list[FreshnessRow]


class Span(BaseModel):
    status: Literal["stored", "source_empty", "missing"]
    start_ts: int
    end_ts: int
    bars: int | None


class Coverage(BaseModel):
    venue: str
    market: str
    kind: str
    resolution_s: int | None
    spans: list[Span]


class Correlation(BaseModel):
    markets: list[str]
    matrix: dict[str, dict[str, float | None]] = Field(
        description="Pearson correlation of bar returns; null where undefined.")


# MCP tool results


class BacktestSummary(BaseModel):
    run_id: str
    journaled: bool
    strategy: str
    market: str
    venue: str
    resolution_s: int
    start_ts: int
    end_ts: int
    bars: int
    params: dict[str, Any]
    metrics: dict[str, float | None] = Field(description="Null where a metric is undefined.")
    warnings: list[str]


class TrialRow(BaseModel):
    number: int
    state: str
    value: float | None
    params: dict[str, Any]


class OptimisationSummary(BaseModel):
    run_id: str
    best_run_id: str
    journaled: bool
    metric: str
    best_value: float | None
    best_params: dict[str, Any]
    trials: int
    failed_trials: int
    top_trials: list[TrialRow]


class WindowRow(BaseModel):
    index: int
    test_start_ts: int
    test_end_ts: int
    best_params: dict[str, Any]
    in_sample: float | None
    out_of_sample: float | None


class WalkForwardSummary(BaseModel):
    run_id: str
    journaled: bool
    metric: str
    mean_in_sample: float | None
    mean_out_of_sample: float | None
    overfitting_ratio: float | None
    parameter_stability: float | None
    windows: list[WindowRow]


# Paper and live sessions

#: A session name as ``flint paper`` / ``flint live`` make them (it names files).
SESSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class SessionList(BaseModel):
    sessions: list[str] = Field(description="Session names, oldest first.")


class PaperStart(Strict):
    """What ``flint paper run`` takes, for a built-in strategy (never a strategy file)."""

    strategy: str = Field(max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$",
                          description="A built-in strategy's name.")
    venue: str = Field(max_length=64, description="Venue whose bars (and fees) it uses.")
    market: str = Field(max_length=64, description="Market, e.g. SOL-PERP.")
    resolution_s: int = Field(3600, ge=1, le=604_800)
    session: str | None = Field(None, pattern=SESSION_PATTERN, description=(
        "Session name (default: a new random one); a stopped session of this name resumes."))
    params: dict[str, Any] = Field(default_factory=dict)
    capital: float = Field(10_000.0, gt=0, le=1e12)
    fee_rate: float = Field(0.0005, ge=0, lt=1)
    fill_model: str | None = Field(None, max_length=64, description="Default: the venue's.")
    fill_options: dict[str, Any] = Field(default_factory=dict)
    warmup: int = Field(200, ge=0, le=100_000, description="Bars of history before trading.")
    allow_short: bool = False
    risk: bool = Field(False, description="Apply the configured risk limits.")
    provider: str | None = Field(None, max_length=64,
                                 description="Data provider of the bars (default: the venue).")
    provider_options: dict[str, Any] = Field(default_factory=dict, description=(
        "Only the file provider's path, inside the store's folder; other provider options "
        "are the server's flint.yaml."))
    start_ts: int | None = Field(None, ge=0, description="Replay from here (unix seconds).")
    speed: float = Field(1.0, gt=0, le=1e9, description="Replay speed (with start_ts).")
    end_ts: int | None = Field(None, ge=0, description="End after this bar (unix seconds).")
    poll_s: float = Field(5.0, gt=0, le=3600, description="Seconds between polls.")


class PaperStarted(BaseModel):
    session: str = Field(description="The session's name, for its status, stop and kill.")


class SessionState(BaseModel):
    """A session as ``flint paper status`` / ``flint live status --json`` show it; a
    running session's report may carry more fields (its process, its risk state)."""

    model_config = ConfigDict(extra="allow")

    session: str
    status: str = Field(description="running, stopped, killed, ended, ...")
    strategy: str | None = None
    market: str | None = None
    venue: str | None = None
    trading_state: str | None = Field(None, description="active, reduce_only or halted.")
    bars: int | None = None
    equity: float | None = None
    cash: float | None = None
    positions: list[dict[str, Any]] = Field(default_factory=list)
    orders: list[dict[str, Any]] = Field(default_factory=list)
