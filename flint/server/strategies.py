"""User strategies of the API and MCP: a folder of ``NAME.py`` files, touched only through
the sandbox, and how a request names the strategy it runs.

A request runs a built-in (a registry name), a saved user strategy (``user:NAME``) or
code sent with it; user code is loaded and run only in sandboxed children
(:class:`~flint.strategy.remote.SandboxedStrategy`, :func:`flint.cli.backtest.backtest_record`).
Files are never named by the request itself: only ``NAME`` under the folder.
"""

from pathlib import Path
from typing import Any

import click

from flint.cli.inputs import StrategySpec, builtin_strategy, code_strategy
from flint.cli.new import NAME_PATTERN

USER_PREFIX = "user:"
#: What a strategy sent with a request is called in the journal.
INLINE_LABEL = "api_strategy"


class UnknownStrategy(LookupError):
    """No saved user strategy of that name."""


def check_name(name: str) -> str:
    """``name`` if it is a valid strategy name (letters, digits, ``-``, ``_``), else an error."""
    if not NAME_PATTERN.fullmatch(name):
        raise click.ClickException(
            f"{name!r} is not a strategy name: use 1-64 letters, digits, '-' or '_', "
            f"starting with a letter"
        )
    return name


def _path(folder: Path, name: str) -> Path:
    return folder / f"{check_name(name)}.py"


def describe(code: str, name: str, *, trust: bool = False) -> dict[str, Any]:
    """Load ``code`` in a sandboxed child: its class name and ``parameters()`` schema.

    Raises :class:`click.ClickException` saying why the code is refused or fails.
    """
    spec = code_strategy(code, name, f"<{name}>", trust=trust)
    try:
        return {"class_name": spec.cls.__name__, "params": spec.cls.parameters()}
    finally:
        spec.cls.close()


def save(folder: Path, name: str, code: str, *, trust: bool = False) -> dict[str, Any]:
    """Validate ``code`` in the sandbox, then save it as ``NAME.py`` (replacing it)."""
    path = _path(folder, name)
    found = describe(code, name, trust=trust)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".py.partial")
    partial.write_text(code, encoding="utf-8")
    partial.replace(path)
    return found


def names(folder: Path) -> list[str]:
    """The saved user strategies, by name."""
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if NAME_PATTERN.fullmatch(p.stem))


def code_of(folder: Path, name: str) -> str:
    """The code of the saved strategy ``name``."""
    path = _path(folder, name)
    if not path.is_file():
        raise UnknownStrategy(f"no user strategy '{name}'")
    return path.read_text(encoding="utf-8")


def delete(folder: Path, name: str) -> None:
    """Remove the saved strategy ``name``."""
    path = _path(folder, name)
    if not path.is_file():
        raise UnknownStrategy(f"no user strategy '{name}'")
    path.unlink()


def source_of(strategy: str, code: str | None,
              folder: Path) -> tuple[str, tuple[str, str] | None]:
    """``(label, (code, filename))`` of user code (``code`` if given, else ``user:NAME``
    from ``folder``), or ``(name, None)`` for a registered strategy. Never a path of the
    request."""
    if code is not None:
        return INLINE_LABEL, (code, f"<{INLINE_LABEL}>")
    if strategy.startswith(USER_PREFIX):
        name = strategy.removeprefix(USER_PREFIX)
        return strategy, (code_of(folder, name), f"{name}.py")
    return strategy, None


def resolve(strategy: str, code: str | None, folder: Path, *,
            trust: bool = False) -> StrategySpec:
    """The strategy class a request runs (see :func:`source_of`): user code becomes a
    :class:`~flint.strategy.remote.SandboxedStrategy`, run only in sandboxed children."""
    label, source = source_of(strategy, code, folder)
    if source is None:
        return builtin_strategy(label)
    return code_strategy(source[0], label, label, filename=source[1], trust=trust)
