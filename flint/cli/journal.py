"""Saving runs to the store's journal without ever losing one, and ``flint journal``.

    flint journal list                       the newest journaled runs
    flint journal import data/unsaved-runs/  runs that could not be saved when they ran

A command that computed a result saves it with :func:`save_records`: if another
process is writing the store, it waits (bounded, saying who holds it); if the store
still cannot be written, the records go to JSON files beside the store
(``<store dir>/unsaved-runs/``), which ``flint journal import`` adds later with
their ids unchanged. The result is printed either way and the command succeeds.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, user_errors, when

#: Seconds a command waits for another writer before keeping its results in files.
DEFAULT_JOURNAL_WAIT_S = 60.0


def journal_options(func: Any) -> Any:
    """``--no-journal`` and ``--journal-wait``, for commands that journal what they compute."""
    func = click.option(
        "--journal-wait", "journal_wait_s", type=click.FloatRange(min=0),
        default=DEFAULT_JOURNAL_WAIT_S, show_default=True,
        help="Seconds to wait for another process writing the store before keeping the "
             "result in a file to import later (`flint journal import`).",
    )(func)
    return click.option(
        "--no-journal", is_flag=True, help="Do not save the result to the store's journal.",
    )(func)


def unsaved_dir(store_path: Path) -> Path:
    """Where runs that could not be journaled are kept: beside the store."""
    return store_path.parent / "unsaved-runs"


def save_records(
    records: Sequence[Any], store_path: Path, wait_s: float, out: Console
) -> tuple[list[str], bool]:
    """Journal ``records`` in ``store_path``, all in one transaction (all or none): their
    run ids, in order, and whether they are in the journal (False: kept in files).

    Waits up to ``wait_s`` for another writer (printing who it is); if the store
    still cannot be written, writes each record to ``unsaved-runs/<run_id>.json``
    and says how to import them. Never raises for a busy or broken store.
    """
    from flint.store import FlintStore, StoreError, StoreLockedError
    from flint.store.connection import WriterLock
    from flint.store.store import journal_payload

    payloads = [journal_payload(r) for r in records]
    try:
        try:
            store = FlintStore(store_path)
        except StoreLockedError:
            if wait_s <= 0:
                raise
            holder = WriterLock(store_path).holder()
            out.print(f"process {holder} is writing {store_path}; waiting up to {wait_s:g} s "
                      f"to journal the result (Ctrl-C keeps it in a file instead)")
            store = FlintStore(store_path, writer_wait_s=wait_s)
        with store:
            return store.save_backtest_runs(payloads), True
    except (StoreError, OSError, KeyboardInterrupt) as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        _keep_in_files(payloads, store_path, reason, out)
        return [p["run_id"] for p in payloads], False


def _keep_in_files(
    payloads: list[dict[str, Any]], store_path: Path, reason: str, out: Console
) -> None:
    """Write each payload to the unsaved-runs folder and tell the user how to import it."""
    from flint.store.store import journal_json

    folder = unsaved_dir(store_path)
    folder.mkdir(parents=True, exist_ok=True)
    for payload in payloads:
        target = folder / f"{payload['run_id']}.json"
        partial = target.with_suffix(".json.partial")
        partial.write_text(journal_json(payload), encoding="utf-8")
        partial.replace(target)
    out.print(
        f"[yellow]not saved to the journal[/yellow] ({reason}); kept in {folder}/: "
        f"`flint journal import {folder} --db {store_path}` adds "
        f"{'it' if len(payloads) == 1 else 'them'} later", markup=True,
    )


@click.group("journal")
def journal_group() -> None:
    """Journaled runs: list them, import runs kept in files."""


@journal_group.command("list")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@db_option
@user_errors
def list_command(limit: int, db: Path | None) -> None:
    """The newest journaled runs."""
    from flint.store import FlintStore

    with FlintStore(db_path(db), read_only=True) as store:
        runs = store.list_backtest_runs(limit)
    table = Table("run id", "created (UTC)", "strategy", "market")
    for run in runs:
        table.add_row(run["run_id"], when(run.get("created_at")),
                      str(run.get("strategy_name") or run.get("strategy") or ""),
                      str(run.get("market") or ""))
    make_console().print(table)


@journal_group.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@db_option
@user_errors
def import_command(paths: tuple[Path, ...], db: Path | None) -> None:
    """Add runs kept in JSON files (or folders of them) to the journal; each file is
    removed once its run is saved. Importing a run twice keeps one copy."""
    from flint.store import FlintStore

    files = sorted({f for p in paths for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])})
    records = []
    for file in files:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{file} is not a journal record: {exc}") from exc
        if not isinstance(record, dict) or "run_id" not in record:
            raise click.ClickException(f"{file} is not a journal record (no run_id)")
        records.append(record)
    with FlintStore(db_path(db)) as store:
        for file, record in zip(files, records, strict=True):
            store.save_backtest_run(record)
            file.unlink()
    click.echo(f"imported {len(records)} run(s) into {db_path(db)}")
