"""The FastAPI app of ``flint serve``: settings, error mapping, middleware, routers."""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import attrs
import click
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from flint.server.auth import TokenBook
from flint.server.cache import MAX_BYTES, KeptAnswers, ReadCache
from flint.server.jobs import JobManager, JobsFull
from flint.server.models import Error
from flint.server.security import BodyLimit, route_scopes
from flint.server.sessions import UnknownSession
from flint.server.strategies import UnknownStrategy
from flint.server.ui import Dashboard
from flint.server.upgrade import upgrade_store
from flint_core import __version__

PREFIX = "/api/v1"
#: What any route behind a token may answer besides its own responses.
GUARDED: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Bad input: the message says what was wrong."},
    401: {"model": Error, "description": "No valid bearer token."},
    403: {"model": Error, "description": "The token lacks the route's scope."},
}
#: Seconds a client refused for a full job queue is told to wait.
RETRY_AFTER_S = 10


@attrs.frozen
class ServerSettings:
    """Where the server keeps things and what it allows.

    ``state``: the server's folder (tokens, jobs); ``strategies``: saved user
    strategies; ``max_jobs``: jobs running at once; ``max_body``: bytes of a request
    body; ``cache_bytes``: bytes of read answers kept (:mod:`flint.server.cache`);
    ``trust``: run user code even where the host cannot confine it.
    """

    store: Path
    state: Path
    strategies: Path
    cors_origins: tuple[str, ...] = ()
    max_jobs: int = 2
    max_body: int = 1 << 20
    cache_bytes: int = MAX_BYTES
    trust: bool = False


def default_state(store: Path) -> Path:
    """The server's folder (tokens, jobs, paper session logs) when none is given:
    ``server/`` beside the store; ``flint mcp`` keeps its paper session logs there too."""
    return store.parent / "server"


@contextmanager
def reading(request: Request, wait: bool = True) -> Iterator[Any]:
    """The store, read-only, with one connection for all the reads of one request.

    Each server thread keeps its own read-only stores (one waiting for a busy file, one
    not; each schema-checked once), so a
    request costs one DuckDB connect, and none lasts beyond the request: other
    processes may write the file between requests. ``wait`` False: raise
    :class:`~flint.store.StoreLockedError` at once while another process holds the file.
    """
    from flint.store import FlintStore

    readers = request.app.state.readers
    name = "store" if wait else "eager"
    store = getattr(readers, name, None)
    if store is None:
        store = FlintStore(request.app.state.settings.store, read_only=True,
                           **({} if wait else {"timeout_s": 0.0}))
        setattr(readers, name, store)
    with store.session():
        yield store


async def cached(request: Request, read: Callable[[Any], Any]) -> Response:
    """The JSON answer of ``read(store)``, kept until the store changes for the same
    path and query, to tokens with the route's scopes (:mod:`flint.server.cache`)."""

    def compute(wait: bool) -> Any:
        with reading(request, wait) as store:
            return read(store)

    cache: ReadCache = request.app.state.cache
    return await cache.answer((request.scope["path"], request.scope["query_string"]),
                              route_scopes(request.scope["route"]), compute)


def jobs_of(request: Request) -> JobManager:
    manager: JobManager = request.app.state.jobs
    return manager


def create_app(settings: ServerSettings, tokens: TokenBook) -> FastAPI:
    """The app: every route under ``/api/v1``, each but health behind a token."""
    from flint.cli.common import user_error_types
    from flint.server import (
        routes_dashboard,
        routes_data,
        routes_jobs,
        routes_journal,
        routes_sessions,
        routes_strategies,
        routes_system,
    )

    upgrade_store(settings.store)
    jobs = JobManager(settings.store, settings.state / "jobs", settings.strategies,
                      limit=settings.max_jobs, trust=settings.trust)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(jobs.close)  # it may wait for a job's journal write

    app = FastAPI(title="flint", version=__version__, lifespan=lifespan,
                  description="Backtest, optimise and inspect crypto perps strategies.")
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.jobs = jobs
    app.state.readers = threading.local()
    app.state.cache = cache = ReadCache(settings.store, settings.cache_bytes)

    def bad_input(_: Request, exc: Exception) -> JSONResponse:
        text = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        return JSONResponse({"detail": text}, status_code=400)

    def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc.args[0]) if exc.args else "not found"},
                            status_code=404)

    def full(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(RETRY_AFTER_S)})

    for kind in (click.ClickException, *user_error_types()):
        app.add_exception_handler(kind, bad_input)
    app.add_exception_handler(UnknownStrategy, not_found)
    app.add_exception_handler(UnknownSession, not_found)
    app.add_exception_handler(JobsFull, full)
    app.include_router(routes_system.router, prefix=PREFIX)
    for router in (routes_strategies.router, routes_jobs.router, routes_journal.router,
                   routes_data.router, routes_dashboard.router, routes_sessions.paper,
                   routes_sessions.live):
        app.include_router(router, prefix=PREFIX, responses=GUARDED)
    app.add_middleware(KeptAnswers, cache=cache)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                       allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(Dashboard)
    return app
