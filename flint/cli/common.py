"""What the ``flint`` commands share: the console, the ``--db`` option, user errors."""

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from flint.config import load_config

F = TypeVar("F", bound=Callable[..., Any])


def make_console() -> Console:
    """Rich console; when piped or captured, wide enough that table rows do not wrap."""
    console = Console(soft_wrap=True, highlight=False)
    if not console.is_terminal:
        console = Console(soft_wrap=True, highlight=False, width=160)
    return console


def user_errors(func: F) -> F:
    """Turn what bad input raises (bad files or paths, rows, settings, a busy store, a
    strategy file that is refused or fails in the sandbox) into exit code 1 with one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except user_error_types() as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def user_error_types() -> tuple[type[Exception], ...]:
    """What bad input raises (a bad file, path, row or setting, a busy store, a strategy
    refused or failing in the sandbox, an unknown plugin name, a missing key, a venue that
    cannot be reached or refuses), as opposed to a bug."""
    from flint.live.adapter import VenueError as LiveVenueError
    from flint.live.credentials import CredentialError
    from flint.plugins import PluginNotFound
    from flint.providers.errors import VenueError
    from flint.store import StoreError
    from flint.strategy.loader import StrategyLoadError
    from flint.strategy.sandbox import StrategyExecutionError

    # OSError: a path the OS refuses
    return (StoreError, ValueError, OSError, PluginNotFound, StrategyLoadError,
            StrategyExecutionError, CredentialError, VenueError, LiveVenueError)


def db_option(func: F) -> F:
    """The ``--db`` option: the store file."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Store file (default: db_path from flint.yaml or FLINT_DB_PATH).",
    )(func)


def trust_option(func: F) -> F:
    """The ``--trust`` option: run a strategy file even where the host cannot confine it."""
    return click.option(
        "--trust",
        is_flag=True,
        help="Run a strategy file even if this host lacks the sandbox's Landlock or seccomp "
             "layer (flint doctor shows them): only for code you trust.",
    )(func)


def db_path(db: Path | None) -> Path:
    """The store file: ``--db`` if given, else the configured one."""
    return db if db is not None else Path(load_config().db_path)


def when(ts: int | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM`` UTC (``-`` for none)."""
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))
