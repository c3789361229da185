"""``flint live``: run a strategy live on one or more venues, and manage the session.

``flint live STRATEGY --venue V [--venue W] --market M`` passes the real-money gate
(testnet and dry run by default; mainnet needs ``live: {network: mainnet}`` in
flint.yaml, ``--network mainnet``, ``--send`` and a typed confirmation or
``--i-understand-real-money``), then runs a :class:`~flint.live.session.LiveSession`
on every venue's own closed bars and funding (:class:`~flint.live.feed.VenueFeeds`;
the first venue's bar is the strategy's candle) with the paper sessions' loop, status
file and terminal view (:mod:`flint.cli.sessions`). The risk settings of flint.yaml are
stored with a new session; a resumed one keeps its own. ``flint live status / stop / kill / resume
SESSION`` work on a running session (through its command file) and on a stopped one;
``flint live parity SESSION`` replays a session's recorded inputs through the backtest
(:func:`~flint.backtest.parity.compare_live_session`).
"""

import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any

import attrs
import click
from rich.live import Live

from flint.cli import sessions
from flint.cli.common import db_option, db_path, make_console, user_errors
from flint.config import load_config

_venue_option = click.option(
    "--venue-option", multiple=True,
    help="Option of a venue's live context, VENUE.KEY=VALUE (e.g. hyperliquid.url=...).")


@click.group("live", cls=sessions.RunByDefault)
def live_group() -> None:
    """Live trading: `flint live STRATEGY --venue V --market M` runs a session (testnet
    and dry run unless told otherwise); `list`, `status`, `stop` (cancel orders, keep
    positions), `kill` (flatten, halt), `resume` (trade again after a halt) and `parity`
    (replay a session through the backtest)."""


def _gate(strategy: str, venues: tuple[str, ...], market: str, network: str, dry_run: bool,
          real_money: bool) -> None:
    """Real money needs the flint.yaml setting and a confirmation (or the flag)."""
    if network != "mainnet" or dry_run:
        return
    if load_config().live_network != "mainnet":
        raise click.ClickException(
            "real money needs `network: mainnet` under `live:` in flint.yaml as well as "
            "--network mainnet; nothing was sent")
    if not real_money:
        typed = click.prompt(f"Trade {strategy} on {', '.join(venues)} {market} with REAL "
                             f"MONEY? Type 'real money' to go on", default="",
                             show_default=False)
        if typed.strip().lower() != "real money":
            raise click.ClickException("not confirmed; nothing was sent")


def _per_venue(venues: list[str], pairs: tuple[str, ...], option: str, *,
               bare_to_first: bool = False) -> dict[str, dict[str, Any]]:
    """``option``'s ``VENUE.KEY=VALUE`` pairs by venue; a bare ``KEY=VALUE`` is the first
    venue's when ``bare_to_first``, else an error, as is a VENUE not in ``venues``."""
    out: dict[str, dict[str, Any]] = {venue: {} for venue in venues}
    for key, value in sessions.key_values(pairs).items():
        venue, dot, name = key.partition(".")
        if not dot and bare_to_first:
            venue, name = venues[0], key
        elif not dot:
            raise click.BadParameter(f"expected VENUE.KEY=VALUE with VENUE one of "
                                     f"{', '.join(venues)}, got {key!r}", param_hint=option)
        elif venue not in out:
            raise click.BadParameter(f"{key!r}: {venue!r} is not a venue of this session "
                                     f"({', '.join(venues)})", param_hint=option)
        out[venue][name] = value
    return out


def _feeds(config: Any, options: dict[str, dict[str, Any]], clock: Any) -> Any:
    """Every venue's closed bars and funding, from its data provider on ``clock``."""
    from flint.live.feed import VenueFeeds
    from flint.paper.feed import ProviderFeed

    return VenueFeeds({venue: ProviderFeed(
        sessions.data_provider(venue, options[venue], clock), config.market,
        config.resolution_s, venue=venue, clock=clock) for venue in config.venues})


def _open(store: Any, config: Any, strategy: Any, session_id: str | None, feed: Any) -> Any:
    """The session: created, or resumed with the risk settings it was created with."""
    from flint.live.feed import PASSING
    from flint.live.session import LiveSession, list_sessions, read_session
    from flint.paper.session import SessionError

    try:
        if session_id is not None and session_id in list_sessions(store):
            stored = read_session(store, session_id)[0].risk
            config = attrs.evolve(config, risk=stored if stored is not None else config.risk)
        return LiveSession.open(store, config, strategy, session=session_id, feed=feed)
    except SessionError as exc:
        raise click.ClickException(str(exc)) from None
    except PASSING as exc:  # the venues' funding before the first bar could not be read
        raise click.ClickException(f"cannot read the venues' funding: {exc}; nothing was "
                                   f"sent") from None
    except Exception:
        if feed.failure:
            raise click.ClickException(f"{feed.failure}; nothing was sent") from None
        raise


def _stop_when_broken(feed: Any, stopping: list[str], console: Any) -> None:
    """A feed that polling again will not mend raises an alert and stops the session."""
    def broken(message: str) -> None:
        _alert(console)("feed_failure", f"{message}; stopping the session")
        stopping.append("stop")

    feed.on_failure = broken


def _check_plugins(venues: list[str]) -> None:
    from flint.plugins import PluginNotFound, lookup

    for venue in venues:
        try:
            lookup("execution_contexts", venue)
        except PluginNotFound as exc:
            raise click.ClickException(
                f"no installed plugin offers live trading on '{venue}' ({exc}); install the "
                f"venue's plugin (flint plugins lists what is installed)") from None


def _alert(console: Any) -> Any:
    def alert(kind: str, message: str) -> None:
        console.print(f"[bold red]ALERT {kind}[/bold red]: {message}", highlight=False)

    return alert


def _context(store: Any, config: Any, options: dict[str, dict[str, Any]],
             console: Any) -> Any:
    """The live context of the session's venues (a MultiVenueLiveContext for several),
    each with ``options[venue]`` and a risk engine of the session's risk settings
    (flint.yaml's for a session recorded without them)."""
    from flint.execution.multi_venue_live import MultiVenueLiveContext
    from flint.live.risk_settings import risk_engine, risk_settings
    from flint.plugins import get_execution_context

    settings = config.risk if config.risk is not None else risk_settings(load_config())
    made = {venue: get_execution_context(
        venue, "live", store=store, network=config.network, dry_run=config.dry_run,
        risk=risk_engine(settings), alert=_alert(console), **options[venue])
        for venue in config.venues}
    if len(made) == 1:
        return made[config.venues[0]]
    return MultiVenueLiveContext(made, config.venues[0])


@live_group.command("run")
@click.argument("strategy")
@click.option("--venue", "venues", required=True, multiple=True,
              help="Venue to trade on (repeat for several; the first gives the strategy's "
                   "candle and takes orders naming no venue).")
@click.option("--market", "-m", required=True, help="Market, e.g. SOL-PERP.")
@click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1), default=3600,
              show_default=True, help="Bar resolution in seconds.")
@click.option("--network", type=click.Choice(["testnet", "mainnet"]), default="testnet",
              show_default=True, help="mainnet also needs `live: {network: mainnet}` in "
                                      "flint.yaml and a confirmation.")
@click.option("--dry-run/--send", default=True, show_default=True,
              help="Dry run: everything but the final send.")
@click.option("--i-understand-real-money", "real_money", is_flag=True,
              help="Skip the interactive confirmation of a mainnet run (unattended runs).")
@db_option
@click.option("--session", "session_id", default=None,
              help="Session name: resumed when the store has it, else created.")
@click.option("--params", default="{}", help="Strategy parameters as JSON.")
@click.option("--warmup", type=click.IntRange(min=0), default=200, show_default=True,
              help="Stored bars needed before the first live bar.")
@click.option("--allow-short", is_flag=True, help="v1 SELL opens shorts.")
@_venue_option
@click.option("--provider-option", multiple=True,
              help="Option of a venue's data provider (bars and funding): VENUE.KEY=VALUE, "
                   "or KEY=VALUE for the first venue's.")
@click.option("--poll", "poll_s", type=float, default=5.0, show_default=True,
              help="Seconds between polls for closed bars.")
@click.option("--end", "end_ts", type=int, default=None,
              help="End the session after the bar opening at this unix time.")
@click.option("--start", "start_ts", type=int, default=None, hidden=True,
              help="Testnet only: replay bars from this unix time (a fake venue's).")
@click.option("--speed", type=float, default=1.0, hidden=True,
              help="With --start: clock speed.")
@click.option("--no-view", is_flag=True, help="A line per bar instead of the live view.")
@click.option("--trust", is_flag=True, help="Run a strategy file in this process.")
@user_errors
def run_command(strategy: str, venues: tuple[str, ...], market: str, resolution_s: int,
                network: str, dry_run: bool, real_money: bool, db: Path | None,
                session_id: str | None, params: str, warmup: int, allow_short: bool,
                venue_option: tuple[str, ...], provider_option: tuple[str, ...],
                poll_s: float, end_ts: int | None, start_ts: int | None, speed: float,
                no_view: bool, trust: bool) -> None:
    """Trade STRATEGY (a built-in name, or a .py file with --trust) live on VENUE's
    closed bars: testnet and dry run unless told otherwise."""
    from flint.live.risk_settings import risk_settings
    from flint.live.session import LiveConfig
    from flint.paper.feed import SessionClock
    from flint.risk.monitor import EquityMonitor
    from flint.store import FlintStore

    _gate(strategy, venues, market, network, dry_run, real_money)
    if start_ts is not None and network == "mainnet":
        raise click.ClickException("--start replays past bars: testnet only")
    _check_plugins(list(dict.fromkeys(venues)))
    config = LiveConfig(strategy, list(dict.fromkeys(venues)), market, resolution_s,
                        json.loads(params), warmup, allow_short=allow_short, network=network,
                        dry_run=dry_run, risk=risk_settings(load_config()))
    venue_options = _per_venue(config.venues, venue_option, "--venue-option")
    provider_options = _per_venue(config.venues, provider_option, "--provider-option",
                                  bare_to_first=True)
    instance = sessions.make_strategy(strategy, config.params, trust)
    path = db_path(db)
    console = make_console()
    store = FlintStore(path)
    try:
        with store.hold_open():
            clock = (SessionClock(float(start_ts), time.time(), speed) if start_ts is not None
                     else SessionClock.wall())
            feed = _feeds(config, provider_options, clock)
            session = _open(store, config, instance, session_id, feed)
            config = session.config
            session.ctx = ctx = _context(store, config, venue_options, console)
            drawdown = load_config().live_kill_switch_drawdown_pct
            session.monitor = EquityMonitor(ctx, kill_switch_pct=drawdown,
                                            warning_pct=drawdown / 2,
                                            notification_manager=_alert(console))
            status_file, command_file = sessions.session_files(path, session.id, "live")
            command_file.unlink(missing_ok=True)
            stopping: list[str] = []
            _stop_when_broken(feed, stopping, console)
            for number in (signal.SIGTERM, signal.SIGINT):  # a graceful stop
                signal.signal(number, lambda *_: stopping.append("stop"))
            session.start()
            mode = "DRY RUN (nothing is sent)" if dry_run else "SENDING ORDERS"
            console.print(f"live session [bold]{session.id}[/bold] on {network}, {mode}, "
                          f"store {path}")
            view = Live(console=console, auto_refresh=False) if (
                console.is_terminal and not no_view) else None
            try:
                with view if view is not None else contextlib.nullcontext():
                    sessions.run_loop(session, feed, (status_file, command_file), end_ts,
                                      poll_s, view, console, stopping)
                sessions.report_state(session, feed, status_file, None, console, bar_line=False)
            finally:
                session.close()
            console.print(f"live session {session.id}: {session.status}")
            if feed.failure:
                raise click.ClickException(f"{feed.failure}; the session was stopped "
                                           f"(resting orders cancelled, positions kept)")
    finally:
        store.close()


def _offline(session: str, db: Path | None, command: str, pairs: tuple[str, ...]) -> None:
    """``command`` on a session that is not running: its venues are connected (and
    reconciled) for it."""
    from flint.live.session import LiveSession, read_session
    from flint.paper.session import SessionError
    from flint.store import FlintStore

    path = db_path(db)
    told = sessions.tell(path, session, command, "live")
    if told is not None:
        click.echo(told)
        return
    with FlintStore(path) as store, store.hold_open():
        try:
            config, _ = read_session(store, session)
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None
        options = _per_venue(config.venues, pairs, "--venue-option")
        ctx = _context(store, config, options, make_console())
        live = LiveSession(store, session, config, None, ctx)
        ctx.start()
        try:
            live.obey(command)
        finally:
            live.close()
    click.echo(f"live session {session}: {command} done")


@live_group.command("stop")
@click.argument("session")
@db_option
@_venue_option
@user_errors
def stop_command(session: str, db: Path | None, venue_option: tuple[str, ...]) -> None:
    """Stop SESSION: cancel its resting orders, keep its positions."""
    _offline(session, db, "stop", venue_option)


@live_group.command("kill")
@click.argument("session")
@db_option
@_venue_option
@user_errors
def kill_command(session: str, db: Path | None, venue_option: tuple[str, ...]) -> None:
    """Kill SESSION: halt trading, cancel its resting orders, close its positions."""
    _offline(session, db, "kill", venue_option)


@live_group.command("resume")
@click.argument("session")
@db_option
@_venue_option
@user_errors
def resume_command(session: str, db: Path | None, venue_option: tuple[str, ...]) -> None:
    """Let SESSION trade again after a kill or a tripped guard (the venues' trading
    state back to active)."""
    _offline(session, db, "resume", venue_option)


def session_state(path: Path, session: str) -> dict[str, Any]:
    """Live session ``session`` of the store at ``path`` as its run last reported it, with
    the status its recording has now (stop / kill may have run since)."""
    state = sessions.running_state(path, session, "live")
    if state is not None:
        return state
    status_file, _ = sessions.session_files(path, session, "live")
    if not status_file.exists():
        raise click.ClickException(f"no live session '{session}' has run with {path}")
    state = json.loads(status_file.read_text())
    from flint.live.session import read_session
    from flint.store import FlintStore

    with FlintStore(path, read_only=True) as store:
        state["status"] = read_session(store, session)[1]
    return state


@live_group.command("status")
@click.argument("session")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@user_errors
def status_command(session: str, db: Path | None, as_json: bool) -> None:
    """The state of live session SESSION (as last reported by its run)."""
    state = session_state(db_path(db), session)
    if as_json:
        click.echo(json.dumps(state))
    else:
        make_console().print(sessions.render(state))


@live_group.command("parity")
@click.argument("session")
@db_option
@click.option("--trust", is_flag=True, help="Run a strategy file in this process.")
@user_errors
def parity_command(session: str, db: Path | None, trust: bool) -> None:
    """Replay live SESSION's recorded inputs through the backtest and compare orders,
    fills, funding, cash and positions (exit 1 at the first difference)."""
    from flint.backtest.parity import compare_live_session
    from flint.live.session import read_session
    from flint.paper.session import SessionError
    from flint.store import FlintStore

    with FlintStore(db_path(db), read_only=True) as store:
        try:
            config, _ = read_session(store, session)
            strategy = sessions.make_strategy(config.strategy, config.params, trust)
            report = compare_live_session(store, session, strategy)
        except SessionError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
    if not report.exact:
        raise SystemExit(1)


@live_group.command("list")
@db_option
@user_errors
def list_command(db: Path | None) -> None:
    """Live sessions in the store."""
    from flint.live.session import list_sessions
    from flint.store import FlintStore

    with FlintStore(db_path(db), read_only=True) as store:
        for name in list_sessions(store):
            click.echo(name)
