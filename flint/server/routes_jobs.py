"""Backtests, optimisations, walk-forwards and market data downloads as jobs: start (202),
status, result, cancel, and a server-sent-events stream of a job's progress."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import StreamingResponse

from flint.server.app import jobs_of, reading
from flint.server.jobs import TERMINAL, Job
from flint.server.models import (
    BacktestRequest,
    DownloadRequest,
    Error,
    JobList,
    JobResult,
    JobStatus,
    OptimizeRequest,
    WalkForwardRequest,
)
from flint.server.security import require

router = APIRouter(tags=["jobs"])
READ = [Depends(require("read"))]
RESEARCH = [Depends(require("research"))]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
STARTED = {202: {"model": JobStatus}, 404: {"model": Error, "description": "No such "
                                                           "user strategy."},
           429: {"model": Error, "description": "As many jobs as allowed are running; "
                                                "see Retry-After."}}
#: Seconds between two looks at a job followed by an event stream.
POLL_S = 0.25


def _status(job: Job) -> JobStatus:
    data = job.to_dict()
    del data["request"], data["version"], data["journaling"]
    return JobStatus(**data)


def _job(request: Request, job_id: str) -> Job:
    job = jobs_of(request).get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job


def _check_strategy(request: Request, body: Any) -> None:
    """Refuse a strategy that cannot run (404 for a user strategy that is not saved)
    before a job starts for it."""
    from flint.cli.inputs import builtin_strategy
    from flint.server.strategies import USER_PREFIX, code_of

    if body.code is not None:
        return
    if body.strategy.startswith(USER_PREFIX):
        code_of(request.app.state.settings.strategies, body.strategy.removeprefix(USER_PREFIX))
    else:
        builtin_strategy(body.strategy)


def _start(request: Request, kind: str, body: Any) -> JobStatus:
    _check_strategy(request, body)
    return _status(jobs_of(request).submit(kind, body.model_dump()))


@router.post("/backtest/run", status_code=202, dependencies=RESEARCH, responses=STARTED)
def run_backtest(body: BacktestRequest, request: Request) -> JobStatus:
    """Start a backtest; its record goes to the journal."""
    return _start(request, "backtest", body)


@router.post("/optimize/run", status_code=202, dependencies=RESEARCH, responses=STARTED)
def run_optimize(body: OptimizeRequest, request: Request) -> JobStatus:
    """Start a parameter search; the study and a backtest of the best go to the journal."""
    return _start(request, "optimize", body)


@router.post("/optimize/walk-forward", status_code=202, dependencies=RESEARCH,
             responses=STARTED)
def run_walk_forward(body: WalkForwardRequest, request: Request) -> JobStatus:
    """Start a walk-forward; its record goes to the journal."""
    return _start(request, "walk_forward", body)


@router.post("/data/download", status_code=202, dependencies=RESEARCH,
             responses={k: v for k, v in STARTED.items() if k != 404})
def run_download(body: DownloadRequest, request: Request) -> JobStatus:
    """Start ``flint data download``: venues' candles, funding, open interest or books
    into the store (only what it lacks); the job journals no run."""
    return _status(jobs_of(request).submit("download", body.model_dump()))


@router.get("/jobs", dependencies=READ)
def list_jobs(request: Request) -> JobList:
    """Every job this server knows, the newest first."""
    return JobList(jobs=[_status(j) for j in jobs_of(request).listing()])


@router.get("/jobs/{job_id}", dependencies=READ, responses={404: {"model": Error}})
def job_status(job_id: JobId, request: Request) -> JobStatus:
    """A job's status and progress."""
    return _status(_job(request, job_id))


@router.get("/jobs/{job_id}/result", dependencies=READ,
            responses={404: {"model": Error}, 409: {"model": Error}})
def job_result(job_id: JobId, request: Request) -> JobResult:
    """A complete job's main journal record (409 while it is not complete; 404 for a
    download, which journals none)."""
    job = _job(request, job_id)
    if job.status != "complete":
        raise HTTPException(409, f"job {job_id} is {job.status}" +
                            (f": {job.error}" if job.error else ""))
    if not job.run_ids:
        raise HTTPException(404, f"job {job_id} ({job.kind}) journals no run; what it "
                                 f"fetched is in the store")
    with reading(request) as store:
        record = store.get_backtest_run(job.run_ids[0])
    if record is None:
        raise HTTPException(404, f"run {job.run_ids[0]} of job {job_id} is no longer in the "
                                 f"journal" + (f" ({job.note})" if job.note else ""))
    return JobResult(id=job.id, status=job.status, run_ids=job.run_ids, record=record)


@router.post("/jobs/{job_id}/cancel", dependencies=RESEARCH, responses={404: {"model": Error}})
def cancel_job(job_id: JobId, request: Request) -> JobStatus:
    """Stop a queued or running job: it ends `cancelled` and journals nothing. A job
    already journaling its results (progress phase `journal`) is not stopped: it stays
    `running`, its note says the cancel came too late, and it ends `complete` with every
    run in `run_ids`. A finished job is left as it is."""
    _job(request, job_id)
    job = jobs_of(request).cancel(job_id)
    assert job is not None
    return _status(job)


@router.get("/jobs/{job_id}/events", dependencies=READ, response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "A `status` event (a JobStatus) at each change "
                                            "until the job ends."},
                       404: {"model": Error}})
async def job_events(job_id: JobId, request: Request) -> StreamingResponse:
    """Server-sent events: the job's status each time it changes, until it ends."""
    job = _job(request, job_id)

    async def events() -> AsyncIterator[str]:
        seen = -1
        while not await request.is_disconnected():
            if job.version != seen:
                seen = job.version
                yield f"event: status\ndata: {json.dumps(_status(job).model_dump())}\n\n"
                if job.status in TERMINAL:
                    return
            await asyncio.sleep(POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
