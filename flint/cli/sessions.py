"""What ``flint paper`` and ``flint live`` sessions share on the command line.

The strategy and data provider a session runs with; the bar loop (poll the feed,
step every closed bar, obey commands, keep the status file); the terminal view; and
the files next to the store (``<db>.<kind>/<session>.status.json`` and ``.cmd``)
through which ``status / stop / kill / resume SESSION`` reach a running session from
another process (the running process holds the store open).
"""

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.table import Table

from flint.cli.common import when

CONTROL_WAIT_S = 30.0
#: How Python names a keyword argument a function does not take.
UNEXPECTED_OPTION = re.compile(r"unexpected keyword argument '([^']+)'")


class RunByDefault(click.Group):
    """``flint paper STRATEGY ...`` is ``flint paper run STRATEGY ...``."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


def session_files(db: Path, session: str, kind: str = "paper") -> tuple[Path, Path]:
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


def key_values(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` options (a VALUE that parses as JSON is taken as such)."""
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


def data_provider(name: str, options: dict[str, Any], clock: Any) -> Any:
    """The data provider ``name``, on the session's clock when it takes one (a replayed
    period is then "now" to it, e.g. for how far back the venue keeps candles); one of
    ``options`` it does not take is a usage error naming it."""
    from flint.plugins import get_data_provider

    try:
        try:
            return get_data_provider(name, **{"clock": clock, **options})
        except TypeError as exc:
            if "clock" not in str(exc):
                raise
            return get_data_provider(name, **options)
    except TypeError as exc:
        unknown = UNEXPECTED_OPTION.search(str(exc))
        if unknown is None or unknown.group(1) not in options:
            raise
        raise click.BadParameter(f"the {name} data provider takes no option "
                                 f"{unknown.group(1)!r}", param_hint="--provider-option"
                                 ) from None


def run_loop(session: Any, feed: Any, files: tuple[Path, Path], end_ts: int | None,
             poll_s: float, view: Any, console: Any, stopping: list[str]) -> None:
    """Poll, step every closed bar, obey stop / kill / resume commands (``stopping``
    and the command file), until told to stop or ``end_ts``."""
    from flint.providers.feeds import wait

    status_file, command_file = files
    res = session.config.resolution_s
    failing = False
    while True:
        rates: list[Any] = []
        try:
            bars = feed.closed_bars(session.last_ts or 0)
            if bars:  # the funding of the whole batch in one request, then bar by bar
                rates = feed.settlements((session.last_ts or bars[0].ts - res) + res,
                                         bars[-1].ts + res)
        except Exception as exc:  # the feed's health is shown; the bars come again next poll
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
        for bar in bars:
            due = [r for r in rates if r.ts <= bar.ts + res]
            rates = rates[len(due):]
            session.step(bar, due)
            report_state(session, feed, status_file, view, console)
            if end_ts is not None and bar.ts >= end_ts:
                break
        if command_file.exists():
            stopping.append(command_file.read_text().strip())
            command_file.unlink()
        if stopping == ["resume"]:
            session.obey("resume")
            stopping.clear()
        if stopping:
            session.obey("kill" if stopping[0] == "kill" else "stop")
            return
        if end_ts is not None and (session.last_ts or 0) >= end_ts:
            session.end()
            return
        report_state(session, feed, status_file, view, console, bar_line=False)
        wait(poll_s, lambda: bool(stopping) or command_file.exists())


def report_state(session: Any, feed: Any, status_file: Path, view: Any, console: Any,
                 bar_line: bool = True) -> None:
    """Write the session's state to its status file and show it (the view, or a line
    per bar)."""
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


def running_state(path: Path, session: str, kind: str = "paper") -> dict[str, Any] | None:
    """The state a running session last reported (None: it is not running)."""
    status_file, _ = session_files(path, session, kind)
    if not status_file.exists():
        return None
    state: dict[str, Any] = json.loads(status_file.read_text())
    return state if _alive(int(state["pid"])) and state["status"] == "running" else None


def tell(path: Path, session: str, command: str, kind: str = "paper") -> str | None:
    """Have the running session ``session`` obey ``command``; what to tell the user, or
    None when it is not running."""
    running = running_state(path, session, kind)
    if running is None:
        return None
    status_file, command_file = session_files(path, session, kind)
    command_file.write_text(command)
    deadline = time.monotonic() + CONTROL_WAIT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(status_file.read_text())
            if (state["status"] != "running" or (command == "resume"
                    and state["trading_state"] == "active" and not command_file.exists())):
                return f"{kind} session {session}: {command} done"
        time.sleep(0.1)
    raise click.ClickException(f"{kind} session {session} did not {command} within "
                               f"{CONTROL_WAIT_S:g} s (pid {running['pid']})")
