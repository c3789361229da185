"""``/dashboard``: read-only views the web dashboard draws: a filtered page of the
journal and a run's charts, shaped from the same store reads and tearsheet as
``flint journal`` and ``flint report``."""

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from flint.server.app import cached
from flint.server.models import Error, MonteCarloFan, RunPage, RunView
from flint.server.security import require

router = APIRouter(prefix="/dashboard", tags=["dashboard"],
                   dependencies=[Depends(require("read"))])
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Ts = Annotated[int | None, Query(ge=0, le=253_402_300_799)]
#: Most points of one chart line (a curve is thinned to about this many).
CHART_POINTS = 1500
#: Most trades one run view lists.
MAX_TRADES = 500


@router.get("/runs", response_model=RunPage)
async def run_page(request: Request, strategy: Text = None,
             kind: Literal["backtest", "optimization", "walk_forward"] | None = None,
             market: Text = None, venue: Text = None,
             since: Annotated[Ts, Query(description="Journaled at or after (unix s).")] = None,
             until: Annotated[Ts, Query(description="Journaled before (unix s).")] = None,
             offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """One page of the journal, newest first, with the number of runs matching."""
    filters = {"strategy": strategy, "kind": kind, "market": market, "venue": venue,
               "since": since, "until": until}

    def read(store: Any) -> RunPage:
        runs = store.list_backtest_runs(limit, offset=offset, **filters)
        total = store.count_backtest_runs(**filters)
        return RunPage(runs=runs, total=total, offset=offset, limit=limit)

    return await cached(request, read)


def thin(points: list[tuple[float, float]], most: int = CHART_POINTS) -> list[list[float]]:
    """About ``most`` of ``points`` for a chart: each stretch keeps its first, lowest and
    highest point (so no drawdown trough or peak is lost) and the last point stays."""
    if len(points) <= most:
        return [[t, v] for t, v in points]
    size = math.ceil(len(points) / (most // 3))
    kept: list[int] = []
    for start in range(0, len(points), size):
        chunk = range(start, min(start + size, len(points)))
        low = min(chunk, key=lambda i: points[i][1])
        high = max(chunk, key=lambda i: points[i][1])
        kept += sorted({start, low, high})
    if kept[-1] != len(points) - 1:
        kept.append(len(points) - 1)
    return [[points[i][0], points[i][1]] for i in kept]


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


@router.get("/runs/{run_id}/view", responses={404: {"model": Error}, 400: {"model": Error}},
            response_model=RunView)
async def run_view(run_id: Annotated[str, Path(max_length=100)], request: Request,
             monte_carlo: Annotated[int, Query(ge=0, le=2000, description=(
                 "Monte Carlo paths to resample (0: no fan)."))] = 0,
             seed: int = 42) -> Response:
    """A backtest's (or a walk-forward's stitched out-of-sample) charts: equity,
    drawdown, monthly returns, trades, per-venue costs and optionally the Monte Carlo fan
    (what ``flint report`` draws). 400 for an optimisation: it has no single run."""
    return await cached(request, lambda store: _view(store, run_id, monte_carlo, seed))


def _view(store: Any, run_id: str, monte_carlo: int, seed: int) -> RunView:
    from flint.cli.report import record_tearsheet

    record = store.get_backtest_run(run_id)
    if record is None:
        raise HTTPException(404, f"no journaled run {run_id}")
    kind = record.get("kind", "backtest")
    if kind == "optimization":
        raise HTTPException(400, f"run {run_id} is an optimisation; its best run is "
                                 f"{record.get('best_run_id')}")
    tear = record_tearsheet(record, monte_carlo, seed)
    fan = None
    if tear.monte_carlo is not None:
        mc = tear.monte_carlo
        fan = MonteCarloFan(iterations=mc.iterations, method=mc.method,
                            prob_profit=mc.prob_profit,
                            bands={str(p): thin(list(enumerate(band)))
                                   for p, band in mc.equity_bands.items()})
    return RunView(
        run_id=run_id, kind=kind,
        metrics={k: _finite(v) for k, v in tear.metrics.items()},
        equity=thin(tear.equity_curve), drawdown=thin(tear.drawdown_curve),
        monthly_returns={str(y): {str(m): r for m, r in months.items()}
                         for y, months in tear.monthly_returns.items()},
        trades=tear.trades[:MAX_TRADES], trade_count=len(tear.trades),
        per_venue=tear.per_venue, monte_carlo=fan,
    )
