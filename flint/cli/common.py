"""What the ``flint`` commands share: the console, the ``--db`` option, user errors."""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from flint.config import load_config

F = TypeVar("F", bound=Callable[..., Any])


def console() -> Console:
    """Rich console; when piped or captured, wide enough that table rows do not wrap."""
    out = Console(soft_wrap=True, highlight=False)
    if not out.is_terminal:
        out = Console(soft_wrap=True, highlight=False, width=160)
    return out


def user_errors(func: F) -> F:
    """Turn what bad input raises (bad files, rows, settings, a busy store) into exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flint.store import StoreError

        try:
            return func(*args, **kwargs)
        except (StoreError, ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def db_option(func: F) -> F:
    """The ``--db PATH`` option (default: the configured store)."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Store file (default: db_path from flint.yaml or FLINT_DB_PATH).",
    )(func)


def db_path(db: Path | None) -> Path:
    """The store file: ``--db`` or the configured ``db_path``."""
    return db if db is not None else Path(load_config().db_path)
