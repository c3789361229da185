"""Paper sessions and read-only live status shaped as API models: the HTTP routes and
the MCP tools answer with these same functions, over what ``flint paper`` and ``flint
live`` record (a running session's status file, else its recording in the store).

Nothing here starts a session or places an order: paper sessions can be stopped
(resting orders cancelled, positions kept) or killed (positions closed at the last
close, on paper); live sessions are only listed and looked at.
"""

import contextlib
import io
from pathlib import Path
from typing import Literal

from flint.server.models import SessionList, SessionState

#: A session name as ``flint paper`` / ``flint live`` make them (it names files).
SESSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class UnknownSession(LookupError):
    """No session of that name in the store."""


def paper_sessions(store: Path) -> SessionList:
    """The store's paper sessions, oldest first."""
    from flint.paper.session import list_sessions
    from flint.store import FlintStore

    with FlintStore(store, read_only=True) as reader:
        return SessionList(sessions=list_sessions(reader))


def paper_state(store: Path, session: str) -> SessionState:
    """Paper session ``session`` as ``flint paper status`` shows it."""
    from flint.cli.paper import session_state

    _known(paper_sessions(store), session, "paper")
    return SessionState(**session_state(store, session))


def paper_control(store: Path, session: str,
                  command: Literal["stop", "kill"]) -> SessionState:
    """Stop or kill paper session ``session`` (running or not), as ``flint paper stop`` /
    ``kill`` do; its state after."""
    from flint.cli.paper import control

    _known(paper_sessions(store), session, "paper")
    with contextlib.redirect_stdout(io.StringIO()):  # what it echoes; stdout may be MCP's
        control(session, store, command)
    return paper_state(store, session)


def live_sessions(store: Path) -> SessionList:
    """The store's live sessions, oldest first."""
    from flint.live.session import list_sessions
    from flint.store import FlintStore

    with FlintStore(store, read_only=True) as reader:
        return SessionList(sessions=list_sessions(reader))


def live_state(store: Path, session: str) -> SessionState:
    """Live session ``session`` as ``flint live status`` shows it (its last report)."""
    from flint.cli.live import session_state

    _known(live_sessions(store), session, "live")
    return SessionState(**session_state(store, session))


def _known(sessions: SessionList, session: str, kind: str) -> None:
    if session not in sessions.sessions:
        raise UnknownSession(f"no {kind} session '{session}' in the store")
