"""``/paper`` and ``/live``: paper sessions (start, list, state, stop, kill; the
``paper`` scope) and read-only live status (list, state; the ``live`` scope). No route
starts a live session or places a live order (:mod:`flint.server.sessions`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from flint.server import sessions
from flint.server.models import (
    SESSION_PATTERN,
    Error,
    PaperStart,
    PaperStarted,
    SessionList,
    SessionState,
)
from flint.server.security import require

paper = APIRouter(prefix="/paper", tags=["paper"], dependencies=[Depends(require("paper"))])
live = APIRouter(prefix="/live", tags=["live"], dependencies=[Depends(require("live"))])
Session = Annotated[str, Path(pattern=SESSION_PATTERN)]
UNKNOWN = {404: {"model": Error, "description": "No session of that name."}}


@paper.get("/sessions")
def paper_sessions(request: Request) -> SessionList:
    """The store's paper sessions, oldest first."""
    return sessions.session_list(request.app.state.settings.store, "paper")


@paper.post("/sessions", status_code=202,
            responses={400: {"model": Error, "description": "The session did not start."}})
def paper_start(body: PaperStart, request: Request) -> PaperStarted:
    """Start a paper session (``flint paper run``, in a process of its own) of a built-in
    strategy; answers once the session exists, with its name."""
    settings = request.app.state.settings
    return sessions.start_paper(settings.store, settings.state, body)


@paper.get("/sessions/{session}", responses=UNKNOWN)
def paper_state(session: Session, request: Request) -> SessionState:
    """A paper session: status, equity, positions, orders (live while it runs)."""
    return sessions.session_state(request.app.state.settings.store, "paper", session)


@paper.post("/sessions/{session}/stop", responses=UNKNOWN)
def paper_stop(session: Session, request: Request) -> SessionState:
    """Stop a paper session: cancel its resting orders, keep its positions (resumable)."""
    return sessions.paper_control(request.app.state.settings.store, session, "stop")


@paper.post("/sessions/{session}/kill", responses=UNKNOWN)
def paper_kill(session: Session, request: Request) -> SessionState:
    """Kill a paper session: cancel its orders and close its positions at the last close
    (on paper)."""
    return sessions.paper_control(request.app.state.settings.store, session, "kill")


@live.get("/sessions")
def live_sessions(request: Request) -> SessionList:
    """The store's live sessions, oldest first."""
    return sessions.session_list(request.app.state.settings.store, "live")


@live.get("/sessions/{session}", responses=UNKNOWN)
def live_state(session: Session, request: Request) -> SessionState:
    """A live session as its run last reported it (read-only)."""
    return sessions.session_state(request.app.state.settings.store, "live", session)
