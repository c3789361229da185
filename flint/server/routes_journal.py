"""``/journal``: the store's journaled runs: list, get, compare, delete."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from flint.server import queries
from flint.server.app import cached
from flint.server.models import Comparison, Deleted, Error, RunList
from flint.server.security import require

router = APIRouter(prefix="/journal", tags=["journal"])
READ = [Depends(require("read"))]
RESEARCH = [Depends(require("research"))]
RunId = Annotated[str, Path(max_length=100)]
#: Most runs one comparison reads.
MAX_COMPARED = 20


@router.get("/runs", dependencies=READ, response_model=RunList)
async def list_runs(request: Request,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> Response:
    """The newest journaled runs, scalar fields only."""
    return await cached(request, lambda store: RunList(runs=store.list_backtest_runs(limit)))


def _record(store: Any, run_id: str) -> dict[str, Any]:
    record: dict[str, Any] | None = store.get_backtest_run(run_id)
    if record is None:
        raise HTTPException(404, f"no journaled run {run_id}")
    return record


@router.get("/runs/{run_id}", dependencies=READ, responses={404: {"model": Error}},
            response_model=dict[str, Any])
async def get_run(run_id: RunId, request: Request) -> Response:
    """A whole journaled run (its record: metrics, curves, trades, ...)."""
    return await cached(request, lambda store: _record(store, run_id))


@router.delete("/runs/{run_id}", dependencies=RESEARCH, responses={404: {"model": Error}})
def delete_run(run_id: RunId, request: Request) -> Deleted:
    """Delete a journaled run."""
    from flint.store import FlintStore

    with FlintStore(request.app.state.settings.store, writer_wait_s=10) as store:
        if not store.delete_backtest_run(run_id):
            raise HTTPException(404, f"no journaled run {run_id}")
    return Deleted(deleted=True)


@router.get("/compare", dependencies=READ, responses={404: {"model": Error}},
            response_model=Comparison)
async def compare(request: Request, ids: Annotated[str, Query(
        max_length=2000, description="Comma-separated run ids.")]) -> Response:
    """Runs side by side: their parameters and metrics."""
    wanted = tuple(i.strip() for i in ids.split(",") if i.strip())
    if not wanted or len(wanted) > MAX_COMPARED:
        raise HTTPException(400, f"give 1 to {MAX_COMPARED} run ids")

    def read(store: Any) -> Comparison:
        records = [store.get_backtest_run(i) for i in wanted]
        missing = [i for i, r in zip(wanted, records, strict=True) if r is None]
        if missing:
            raise HTTPException(404, f"no journaled run {', '.join(missing)}")
        return Comparison(comparisons=queries.compare([r for r in records if r is not None]))

    return await cached(request, read)
