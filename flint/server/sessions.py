"""Paper sessions and read-only live status shaped as API models: the HTTP routes and
the MCP tools answer with these same functions, over what ``flint paper`` and ``flint
live`` record (a running session's status file, else its recording in the store).

Nothing here places a live order: a paper session is started as its own ``flint paper
run`` process, and can be stopped (resting orders cancelled, positions kept) or killed
(positions closed at the last close, on paper); live sessions are only listed and
looked at.
"""

import importlib
import json
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import click

from flint.server.models import PaperStart, PaperStarted, SessionList, SessionState

#: Seconds a started ``flint paper run`` may take to create (or resume) its session.
START_WAIT_S = 60.0
#: Sessions of ``flint paper`` or of ``flint live``: the modules ``flint.<kind>.session``
#: and ``flint.cli.<kind>`` list them and show one.
SessionKind = Literal["paper", "live"]


class UnknownSession(LookupError):
    """No session of that name in the store."""


def session_list(store: Path, kind: SessionKind) -> SessionList:
    """The store's paper or live sessions, oldest first."""
    from flint.store import FlintStore

    list_sessions = importlib.import_module(f"flint.{kind}.session").list_sessions
    with FlintStore(store, read_only=True) as reader:
        return SessionList(sessions=list_sessions(reader))


def session_state(store: Path, kind: SessionKind, session: str) -> SessionState:
    """Paper or live session ``session`` as ``flint paper status`` / ``flint live
    status`` shows it (a live one: as its run last reported)."""
    _known(store, kind, session)
    state = importlib.import_module(f"flint.cli.{kind}").session_state
    return SessionState(**state(store, session))


def paper_control(store: Path, session: str,
                  command: Literal["stop", "kill"]) -> SessionState:
    """Stop or kill paper session ``session`` (running or not), as ``flint paper stop`` /
    ``kill`` do; its state after."""
    from flint.cli.paper import control

    _known(store, "paper", session)
    control(session, store, command)  # its message is the CLI's; the state answers here
    return session_state(store, "paper", session)


def paper_args(request: dict[str, Any], store: Path, session: str) -> list[str]:
    """The options of ``flint paper run`` for ``request`` (a PaperStart's data)."""
    args = [request["strategy"], f"--venue={request['venue']}", f"--market={request['market']}",
            f"--resolution={request['resolution_s']}", f"--db={store}", f"--session={session}",
            f"--params={json.dumps(request['params'])}", f"--capital={request['capital']!r}",
            f"--fee-rate={request['fee_rate']!r}", f"--warmup={request['warmup']}",
            f"--speed={request['speed']!r}", f"--poll={request['poll_s']!r}", "--no-view"]
    for name, option in (("fill_model", "--fill-model"), ("provider", "--provider"),
                         ("start_ts", "--start"), ("end_ts", "--end")):
        if request[name] is not None:
            args.append(f"{option}={request[name]}")
    for name, option in (("fill_options", "--fill-option"),
                         ("provider_options", "--provider-option")):
        args += [f"{option}={key}={json.dumps(value)}" for key, value in request[name].items()]
    args += [flag for name, flag in (("allow_short", "--allow-short"), ("risk", "--risk"))
             if request[name]]
    return args


def _check_provider_options(store: Path, request: PaperStart) -> None:
    """A client may point the ``file`` provider at data in the store's folder, nothing
    else: other options (venue URLs, keys, paths elsewhere on the server) are the
    server's own, set in its flint.yaml."""
    options = request.provider_options
    if not options:
        return
    if request.provider != "file" or set(options) != {"path"}:
        raise click.ClickException(
            "provider_options may only give the file provider's path; set other provider "
            "options in the server's flint.yaml")
    folder = store.resolve().parent
    path = Path(str(options["path"])).resolve()
    if not path.is_relative_to(folder):
        raise click.ClickException(f"the file provider's path must be inside {folder}")


def start_paper(store: Path, state: Path, request: PaperStart) -> PaperStarted:
    """Start ``flint paper run`` for ``request`` as a process of its own (it outlives this
    one; what it prints is appended to ``state/paper/<session>.log``) and wait until it has
    created or resumed its session. The command checks the request: its error (a click
    exception, so a 400 / tool error) is the command's own."""
    _check_provider_options(store, request)
    session = request.session or secrets.token_hex(4)
    logs = state / "paper"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{session}.log"
    with log.open("a", encoding="utf-8") as out:  # appending: earlier starts' lines stay
        offset = out.tell()
        child = subprocess.Popen(
            [sys.executable, "-m", "flint", "paper", "run",
             *paper_args(request.model_dump(), store, session)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)

    def printed() -> str:
        with log.open("rb") as text:
            text.seek(offset)
            return text.read().decode("utf-8", errors="replace")

    started = re.compile(rf"paper session {re.escape(session)}\s+\((created|resumed)\)")
    deadline = time.monotonic() + START_WAIT_S
    while not started.search(printed()):
        if child.poll() is not None:
            said = printed().strip().splitlines()
            errors = [line for line in said if line.startswith("Error: ")]
            raise click.ClickException(errors[-1].removeprefix("Error: ") if errors else
                                       said[-1] if said else f"exit code {child.returncode}")
        if time.monotonic() > deadline:
            child.terminate()
            child.wait()
            raise click.ClickException(
                f"paper session {session} did not start within {START_WAIT_S:g} s")
        time.sleep(0.1)
    threading.Thread(target=child.wait, daemon=True).start()  # reaped when it ends
    return PaperStarted(session=session)


def _known(store: Path, kind: SessionKind, session: str) -> None:
    if session not in session_list(store, kind).sessions:
        raise UnknownSession(f"no {kind} session '{session}' in the store")
