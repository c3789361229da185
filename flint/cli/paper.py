"""``flint paper`` and ``flint parity`` (the session machinery they share with ``flint
live`` is :mod:`flint.cli.sessions`).

``flint paper STRATEGY --venue V --market M`` runs a paper session (created, or
resumed when ``--session`` names one in the store) on the bars the venue's data
provider reports closed, with a live terminal view. The running process keeps a
status file and reads commands next to the store (``<db>.paper/<session>.*``), so
``flint paper status / stop / kill SESSION`` work while it runs (the store is held
open by it) and on a session that is not running.
"""

import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.live import Live

from flint.cli import sessions
from flint.cli.common import db_option, db_path, make_console, user_errors


@click.group("paper", cls=sessions.RunByDefault)
def paper_group() -> None:
    """Paper trading: `flint paper STRATEGY --venue V --market M` runs a session;
    `list`, `status`, `stop` (cancel orders, keep positions) and `kill` (flatten)
    manage sessions."""


@paper_group.command("run")
@click.argument("strategy")
@click.option("--venue", required=True, help="Venue whose bars (and fees) the session uses.")
@click.option("--market", "-m", required=True, help="Market, e.g. SOL-PERP.")
@click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1), default=3600,
              show_default=True, help="Bar resolution in seconds.")
@db_option
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Alias of --db.")
@click.option("--session", "session_id", default=None,
              help="Session name: resumed when the store has it, else created.")
@click.option("--params", default="{}", help="Strategy parameters as JSON.")
@click.option("--capital", type=float, default=10_000.0, show_default=True)
@click.option("--fee-rate", type=float, default=0.0005, show_default=True,
              help="Fee rate of candles with no venue (as in flint backtest).")
@click.option("--fill-model", default=None, help="Fill model (default: the venue's).")
@click.option("--fill-option", multiple=True, help="Fill model option KEY=VALUE.")
@click.option("--warmup", type=click.IntRange(min=0), default=200, show_default=True,
              help="Stored bars needed before the first live bar.")
@click.option("--allow-short", is_flag=True, help="v1 SELL opens shorts.")
@click.option("--risk", is_flag=True,
              help="Check orders with flint.yaml's risk settings, as live trading does.")
@click.option("--provider", default=None, help="Data provider of the bars (default: --venue).")
@click.option("--provider-option", multiple=True, help="Provider option KEY=VALUE.")
@click.option("--start", "start_ts", type=int, default=None,
              help="Replay from this unix time (with --speed) instead of now.")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Clock speed (with --start): 3600 plays an hour a second.")
@click.option("--end", "end_ts", type=int, default=None,
              help="End the session after the bar opening at this unix time.")
@click.option("--poll", "poll_s", type=float, default=5.0, show_default=True,
              help="Seconds between polls of the provider.")
@click.option("--no-view", is_flag=True, help="A line per bar instead of the live view.")
@click.option("--trust", is_flag=True, help="Run a strategy file in this process.")
@user_errors
def run_command(strategy: str, venue: str, market: str, resolution_s: int, db: Path | None,
                store_path: Path | None, session_id: str | None, params: str, capital: float,
                fee_rate: float, fill_model: str | None, fill_option: tuple[str, ...],
                warmup: int, allow_short: bool, risk: bool, provider: str | None,
                provider_option: tuple[str, ...], start_ts: int | None, speed: float,
                end_ts: int | None, poll_s: float, no_view: bool, trust: bool) -> None:
    """Paper-trade STRATEGY (a built-in name, or a .py file with --trust) on VENUE's bars."""
    from flint.paper.feed import ProviderFeed, SessionClock
    from flint.paper.session import PaperConfig, PaperSession, SessionError, list_sessions
    from flint.store import FlintStore

    path = db_path(store_path or db)
    config = PaperConfig(strategy, venue, market, resolution_s, json.loads(params), capital,
                         fee_rate, fill_model, sessions.key_values(fill_option), warmup_bars=warmup,
                         allow_short=allow_short, risk=risk)
    instance = sessions.make_strategy(strategy, config.params, trust)
    store = FlintStore(path, durable_journal=False)  # simulated venue: kill -9 safe suffices
    console = make_console()
    try:
        with store.hold_open():
            existing = session_id is not None and session_id in list_sessions(store)
            try:
                if existing:
                    assert session_id is not None
                    session = PaperSession.resume(store, session_id, config, instance)
                    origin, wall0, rate = session.clock_args
                else:
                    origin = float(start_ts) if start_ts is not None else time.time()
                    wall0, rate = time.time(), (speed if start_ts is not None else 1.0)
                    session = PaperSession.create(
                        store, config, instance, session=session_id, start_ts=start_ts,
                        clock=[origin, wall0, rate])
            except SessionError as exc:
                raise click.ClickException(str(exc)) from None
            clock = SessionClock(origin, wall0, rate)
            source = sessions.data_provider(provider or venue,
                                            sessions.key_values(provider_option), clock)
            feed = ProviderFeed(source, market, resolution_s, venue=session.candle_venue,
                                clock=clock)
            status_file, command_file = sessions.session_files(path, session.id)
            command_file.unlink(missing_ok=True)
            stopping: list[str] = []
            for number in (signal.SIGTERM, signal.SIGINT):  # a graceful stop
                signal.signal(number, lambda *_: stopping.append("stop"))
            session.start()
            console.print(f"paper session [bold]{session.id}[/bold] "
                          f"({'resumed' if existing else 'created'}), store {path}")
            view = Live(console=console, auto_refresh=False) if (
                console.is_terminal and not no_view) else None
            with view if view is not None else contextlib.nullcontext():
                sessions.run_loop(session, feed, (status_file, command_file), end_ts,
                                  poll_s, view, console, stopping)
            sessions.report_state(session, feed, status_file, None, console, bar_line=False)
            session.close()
            console.print(f"paper session {session.id}: {session.status}")
    finally:
        store.close()


def stored_state(path: Path, session: str) -> dict[str, Any]:
    """Paper session ``session`` as its recording in the store at ``path`` has it."""
    from flint.paper.session import PaperConfig, PaperSession, SessionError, read_recording
    from flint.store import FlintStore

    with FlintStore(path, read_only=True) as store:
        try:
            config = PaperConfig(**read_recording(store, session).config)
            return PaperSession.resume(store, session, config, None).view()
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None


def session_state(path: Path, session: str) -> dict[str, Any]:
    """Paper session ``session``: as it last reported when running, else as stored."""
    return sessions.running_state(path, session) or stored_state(path, session)


@paper_group.command("status")
@click.argument("session")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@user_errors
def status_command(session: str, db: Path | None, as_json: bool) -> None:
    """The state of paper session SESSION (running or not)."""
    state = session_state(db_path(db), session)
    if as_json:
        click.echo(json.dumps(state))
    else:
        make_console().print(sessions.render(state))


@paper_group.command("list")
@db_option
@user_errors
def list_command(db: Path | None) -> None:
    """Paper sessions in the store."""
    from flint.paper.session import list_sessions
    from flint.store import FlintStore

    with FlintStore(db_path(db), read_only=True) as store:
        for name in list_sessions(store):
            click.echo(name)


def control(session: str, db: Path | None, command: str) -> str:
    """``stop`` or ``kill`` paper session ``session``: told to the running process, or
    done here on a session that is not running; what to tell the user."""
    path = db_path(db)
    told = sessions.tell(path, session, command)
    if told is not None:
        return told
    from flint.paper.session import PaperConfig, PaperSession, SessionError, read_recording
    from flint.store import FlintStore

    with FlintStore(path) as store:
        try:
            config = PaperConfig(**read_recording(store, session).config)
            paper = PaperSession.resume(store, session, config, None)
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None
        paper.start()
        paper.obey(command)
        paper.close()
    return f"paper session {session}: {paper.status}"


@paper_group.command("stop")
@click.argument("session")
@db_option
@user_errors
def stop_command(session: str, db: Path | None) -> None:
    """Stop SESSION: cancel its resting orders, keep its positions (resumable)."""
    click.echo(control(session, db, "stop"))


@paper_group.command("kill")
@click.argument("session")
@db_option
@user_errors
def kill_command(session: str, db: Path | None) -> None:
    """Kill SESSION: cancel its resting orders and close its positions at the last close."""
    click.echo(control(session, db, "kill"))


@click.command("parity")
@click.argument("session")
@db_option
@click.option("--tolerance", type=float, default=0.0, show_default=True,
              help="Relative tolerance of prices, sizes and fees (0: exact).")
@click.option("--trust", is_flag=True, help="Run a strategy file in this process.")
@user_errors
def parity_command(session: str, db: Path | None, tolerance: float, trust: bool) -> None:
    """Replay paper session SESSION through the backtest and compare orders and fills
    bar by bar (exit 1 at the first bar that differs)."""
    from flint.backtest.parity import compare_session
    from flint.paper.session import SessionError, read_recording
    from flint.store import FlintStore

    with FlintStore(db_path(db), read_only=True) as store:
        try:
            rec = read_recording(store, session)
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None
        strategy = sessions.make_strategy(rec.config["strategy"], rec.config["params"], trust)
        report = compare_session(store, session, strategy, tolerance=tolerance)
    click.echo(report.summary())
    if not report.exact:
        raise SystemExit(1)
