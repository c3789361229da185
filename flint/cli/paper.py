"""``flint paper`` and ``flint parity`` (``flint live`` reuses the session machinery).

``flint paper STRATEGY --venue V --market M`` runs a paper session (created, or
resumed when ``--session`` names one in the store) on the bars the venue's data
provider reports closed, with a live terminal view. The running process keeps a
status file and reads commands next to the store (``<db>.paper/<session>.*``), so
``flint paper status / stop / kill SESSION`` work while it runs (the store is held
open by it) and on a session that is not running.
"""

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, user_errors, when

_CONTROL_WAIT_S = 30.0


class _RunByDefault(click.Group):
    """``flint paper STRATEGY ...`` is ``flint paper run STRATEGY ...``."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


@click.group("paper", cls=_RunByDefault)
def paper_group() -> None:
    """Paper trading: `flint paper STRATEGY --venue V --market M` runs a session;
    `list`, `status`, `stop` (cancel orders, keep positions) and `kill` (flatten)
    manage sessions."""


def _files(db: Path, session: str, kind: str = "paper") -> tuple[Path, Path]:
    """The status and command files of a running ``kind`` (paper / live) session."""
    folder = db.with_name(f"{db.name}.{kind}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{session}.status.json", folder / f"{session}.cmd"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def make_strategy(spec: str, params: dict[str, Any], trust: bool) -> Any:
    """A built-in strategy by name, or (``trust`` only) the class of a ``.py`` file,
    run in this process."""
    from flint.plugins import PluginNotFound, get_strategy
    from flint.strategy.loader import StrategyLoadError, load_user_strategy

    path = Path(spec)
    if path.suffix == ".py" or path.is_file():
        if not trust:
            raise click.ClickException(
                f"paper trading runs {path} in this process, outside the sandbox: pass "
                f"--trust for code you trust")
        try:
            return load_user_strategy(path.read_text(encoding="utf-8"), params,
                                      filename=str(path))
        except (OSError, StrategyLoadError) as exc:
            raise click.ClickException(str(exc)) from None
    try:
        return get_strategy(spec)(**params)
    except PluginNotFound as exc:
        raise click.ClickException(f"'{spec}' is neither a strategy file nor a built-in "
                                   f"strategy: {exc}") from None


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
                         fee_rate, fill_model, _options(fill_option), warmup_bars=warmup,
                         allow_short=allow_short, risk=risk)
    instance = make_strategy(strategy, config.params, trust)
    store = FlintStore(path)
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
            source = _provider(provider or venue, _options(provider_option), clock)
            feed = ProviderFeed(source, market, resolution_s, venue=session.candle_venue,
                                clock=clock)
            status_file, command_file = _files(path, session.id)
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
                _loop(session, feed, (status_file, command_file), end_ts, poll_s, view,
                      console, stopping)
            _report(session, feed, status_file, None, console, bar_line=False)
            session.close()
            console.print(f"paper session {session.id}: {session.status}")
    finally:
        store.close()


def _provider(name: str, options: dict[str, Any], clock: Any) -> Any:
    """The data provider ``name``, on the session's clock when it takes one (a replayed
    period is then "now" to it, e.g. for how far back the venue keeps candles)."""
    from flint.plugins import get_data_provider

    try:
        return get_data_provider(name, **{"clock": clock, **options})
    except TypeError as exc:
        if "clock" not in str(exc):
            raise
        return get_data_provider(name, **options)


def _loop(session: Any, feed: Any, files: tuple[Path, Path], end_ts: int | None,
          poll_s: float, view: Any, console: Any, stopping: list[str],
          kind: str = "paper") -> None:
    """Poll, step every closed bar, obey stop/kill (and a live session's resume)
    commands, until told or ``end_ts``."""
    from flint.providers.feeds import wait

    status_file, command_file = files
    res = session.config.resolution_s
    failing = False
    while True:
        try:
            bars = feed.closed_bars(session.last_ts or 0)
        except Exception as exc:  # the feed's health is shown; keep polling
            feed.errors += 1
            feed.last_error = f"{type(exc).__name__}: {exc}"
            bars = []
            if not failing and view is None:  # the first of a streak, where no view shows it
                console.print(f"[yellow]feed: {feed.last_error}; polling again every "
                              f"{poll_s:g} s[/yellow]")
            failing = True
        else:
            if failing and view is None:
                console.print("feed: answering again")
            failing = False
        if bars:  # the funding of the whole batch in one request, then bar by bar
            rates = feed.settlements((session.last_ts or bars[0].ts - res) + res,
                                     bars[-1].ts + res)
        for bar in bars:
            due = [r for r in rates if r.ts <= bar.ts + res]
            rates = rates[len(due):]
            session.step(bar, due)
            _report(session, feed, status_file, view, console)
            if end_ts is not None and bar.ts >= end_ts:
                break
        if command_file.exists():
            stopping.append(command_file.read_text().strip())
            command_file.unlink()
        if stopping == ["resume"]:
            session.ctx.resume()
            stopping.clear()
        if stopping:
            if stopping[0] == "kill":
                session.kill(f"flint {kind} kill")
            else:
                session.stop()
            return
        if end_ts is not None and (session.last_ts or 0) >= end_ts:
            session.end()
            return
        _report(session, feed, status_file, view, console, bar_line=False)
        wait(poll_s, lambda: bool(stopping) or command_file.exists())


def _report(session: Any, feed: Any, status_file: Path, view: Any, console: Any,
            bar_line: bool = True) -> None:
    state = session.view()
    state.update(pid=os.getpid(), updated=time.time(), polls=feed.polls,
                 feed_errors=feed.errors, feed_error=feed.last_error)
    tmp = status_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(status_file)
    if view is not None:
        view.update(render(state), refresh=True)
    elif bar_line and state["last_bar"]:
        console.print(f"{when(state['last_bar'][0])} close {state['last_bar'][4]:g} "
                      f"equity {state['equity']:.2f} positions {len(state['positions'])} "
                      f"orders {len(state['orders'])}", highlight=False)


def render(state: dict[str, Any]) -> Group:
    """The live view of a session's state."""
    head = Table.grid(padding=(0, 2))
    bar = state.get("last_bar")
    age = f"{time.time() - (bar[0]):.0f} s since its open" if bar else "-"
    head.add_row("session", f"{state['session']} ({state['status']}, "
                            f"{state.get('trading_state', '-')})")
    head.add_row("strategy", f"{state['strategy']} on {state['venue']} {state['market']}")
    head.add_row("equity", f"{state['equity']:.2f} (cash {state['cash']:.2f})")
    head.add_row("last bar", f"{when(bar[0])} close {bar[4]:g}, {age}" if bar else "-")
    head.add_row("feed", f"{state.get('polls', 0)} polls, {state.get('feed_errors', 0)} "
                         f"errors {state.get('feed_error', '')}")
    positions = Table("market", "side", "size", "entry", "unrealized", title="positions")
    for p in state["positions"]:
        positions.add_row(p["market"], p["side"], f"{p['size']:g}", f"{p['entry_price']:g}",
                          f"{p['unrealized_pnl']:.2f}")
    orders = Table("id", "type", "side", "size", "price", title="orders")
    for o in state["orders"]:
        orders.add_row(o["id"], o["type"], o["side"], f"{o['size']:g}", f"{o['price']:g}")
    return Group(head, positions, orders)


def _stored_state(path: Path, session: str) -> dict[str, Any]:
    from flint.paper.session import PaperConfig, PaperSession, SessionError, read_recording
    from flint.store import FlintStore

    with FlintStore(path, read_only=True) as store:
        try:
            config = PaperConfig(**read_recording(store, session).config)
            return PaperSession.resume(store, session, config, None).view()
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None


def _running(path: Path, session: str, kind: str = "paper") -> dict[str, Any] | None:
    status_file, _ = _files(path, session, kind)
    if not status_file.exists():
        return None
    state: dict[str, Any] = json.loads(status_file.read_text())
    return state if _alive(int(state["pid"])) and state["status"] == "running" else None


@paper_group.command("status")
@click.argument("session")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@user_errors
def status_command(session: str, db: Path | None, as_json: bool) -> None:
    """The state of paper session SESSION (running or not)."""
    path = db_path(db)
    state = _running(path, session) or _stored_state(path, session)
    if as_json:
        click.echo(json.dumps(state))
    else:
        make_console().print(render(state))


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


def _tell(path: Path, session: str, command: str, kind: str = "paper") -> bool:
    """Have the running session ``session`` obey ``command`` (False: not running)."""
    running = _running(path, session, kind)
    if running is None:
        return False
    status_file, command_file = _files(path, session, kind)
    command_file.write_text(command)
    deadline = time.monotonic() + _CONTROL_WAIT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(status_file.read_text())
            if (state["status"] != "running" or (command == "resume"
                    and state["trading_state"] == "active" and not command_file.exists())):
                click.echo(f"{kind} session {session}: {command} done")
                return True
        time.sleep(0.1)
    raise click.ClickException(f"{kind} session {session} did not {command} within "
                               f"{_CONTROL_WAIT_S:g} s (pid {running['pid']})")


def _control(session: str, db: Path | None, command: str) -> None:
    path = db_path(db)
    if _tell(path, session, command):
        return
    from flint.paper.session import PaperConfig, PaperSession, SessionError, read_recording
    from flint.store import FlintStore

    with FlintStore(path) as store:
        try:
            rec = read_recording(store, session)
            config = PaperConfig(**rec.config)
            paper = PaperSession.resume(store, session, config, None)
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None
        paper.start()
        if command == "kill":
            paper.kill("flint paper kill")
        else:
            paper.stop()
        paper.close()
    click.echo(f"paper session {session}: {paper.status}")


@paper_group.command("stop")
@click.argument("session")
@db_option
@user_errors
def stop_command(session: str, db: Path | None) -> None:
    """Stop SESSION: cancel its resting orders, keep its positions (resumable)."""
    _control(session, db, "stop")


@paper_group.command("kill")
@click.argument("session")
@db_option
@user_errors
def kill_command(session: str, db: Path | None) -> None:
    """Kill SESSION: cancel its resting orders and close its positions at the last close."""
    _control(session, db, "kill")


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
        strategy = make_strategy(rec.config["strategy"], rec.config["params"], trust)
        report = compare_session(store, session, strategy, tolerance=tolerance)
    click.echo(report.summary())
    if not report.exact:
        raise SystemExit(1)
