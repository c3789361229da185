"""``flint data``: fill, inspect and export the store.

    flint data sample                      generated markets, no network
    flint data import PATH                 CSV/Parquet files or a folder (or an export)
    flint data status                      what is stored, with gaps (safe while writing)
    flint data export DIR                  Hive-partitioned Parquet for other engines

The store is ``db_path`` from the configuration (flint.yaml, ``FLINT_DB_PATH``)
unless ``--db`` names one. Bad input exits with code 1 and a message.
"""

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, user_errors, when
from flint.providers.base import CAPABILITY_METHODS


@click.group("data")
def data_group() -> None:
    """Market data in the store: generate, import, inspect, export."""


@data_group.command("sample")
@db_option
@click.option("--seed", type=int, default=None, help="Random seed (default: flint's).")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Days of hourly data.")
@click.option("--force", is_flag=True, help="Replace other data of the same venues and hours.")
@user_errors
def sample_command(db: Path | None, seed: int | None, days: int, force: bool) -> None:
    """Store generated BTC/ETH/SOL perps on hyperliquid and binance (no network needed).

    The sample uses the real venue names, so keep it in a store of its own: it
    refuses to replace other data of the same venues, markets and hours unless --force.
    """
    from flint.sample_data import DEFAULT_SEED, generate
    from flint.store import FlintStore

    path = db_path(db)
    console = make_console()
    with console.status("generating sample markets..."):
        data = generate(DEFAULT_SEED if seed is None else seed, days)
    with FlintStore(path) as store, console.status(f"writing to {path}..."):
        clashes = [] if force else data.conflicts(store)
        if clashes:
            raise click.ClickException(
                f"{path} already holds other candles for {', '.join(clashes)} in the sample's "
                f"hours; use another --db (sample data is synthetic) or pass --force"
            )
        written = data.save(store)
    table = Table(title=f"sample data in {path}")
    table.add_column("kind")
    table.add_column("rows new or changed", justify="right")
    for kind, rows in written.items():
        table.add_row(kind, f"{rows:,}")
    console.print(table)


@data_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--venue", help="Venue of every file (default: from the file names).")
@click.option("--market", help="Market of every file, e.g. SOL-PERP (default: from the names).")
@click.option("--resolution", "resolution_s", type=int,
              help="Candle resolution in seconds (default: from the file names).")
@click.option("--kind", type=click.Choice(list(CAPABILITY_METHODS)),
              help="What the files hold (default: from the file names; else candles).")
@db_option
@user_errors
def import_command(
    path: Path,
    venue: str | None,
    market: str | None,
    resolution_s: int | None,
    kind: str | None,
    db: Path | None,
) -> None:
    """Import CSV/Parquet files: one file, a folder of them, or a `flint data export`.

    Files are named <venue>-<SYMBOL>-<seconds|funding|oi-N|mark-N>.csv[.gz]|.parquet
    (e.g. binance-SOLUSDT-3600.csv); options override what the names say. Each file
    is one batch: validated whole, written whole.
    """
    from flint.providers.files import FileProvider
    from flint.store import FlintStore

    provider = FileProvider(
        path, venue=venue, market=market, resolution_s=resolution_s, kind=kind
    )
    files = provider.files
    if path.is_file() and provider.skipped:
        raise click.ClickException(f"{path}: {provider.skipped[0][1]}")
    if not files:
        raise click.ClickException(f"no data files found under {path}")
    console = make_console()
    total = sum(f.path.stat().st_size for f in files)
    results: list[tuple[Any, int]] = []
    with FlintStore(db_path(db)) as store, Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:
        task = progress.add_task("importing", total=total)

        def advance(data_file: Any, rows: int) -> None:
            results.append((data_file, rows))
            progress.update(task, advance=data_file.path.stat().st_size,
                            description=f"{data_file.path.name}")

        provider.load_into(store, on_file=advance)
    table = Table(title=f"imported {len(results)} file(s) into {store.path}")
    for column in ("file", "kind", "venue", "market", "resolution", "rows new or changed"):
        table.add_column(column, justify="right" if column.startswith("rows") else "left")
    for data_file, rows in results:
        name = data_file.path.relative_to(path) if path.is_dir() else data_file.path.name
        table.add_row(
            str(name), data_file.kind, data_file.venue, data_file.market,
            f"{data_file.resolution_s} s" if data_file.resolution_s else "-", f"{rows:,}",
        )
    console.print(table)
    for skipped, reason in provider.skipped:
        console.print(f"[dim]skipped {skipped}: {reason}[/dim]")


@data_group.command("status")
@db_option
@user_errors
def status_command(db: Path | None) -> None:
    """What the store holds: per market, venue and resolution, rows, span and gaps.

    Opens the store read-only, so it works while another process writes to it.
    """
    from flint.store import FlintStore

    path = db_path(db)
    with FlintStore(path, read_only=True) as store:
        series = store.summary()
    console = make_console()
    if not series:
        console.print(f"{path} holds no market data yet: try `flint data sample`.")
        return
    candles = Table(title=f"candles in {path}")
    for column in ("market", "venue", "resolution", "rows", "first (UTC)", "last (UTC)", "gaps"):
        candles.add_column(column, justify="right" if column in ("rows", "resolution") else "left")
    others = Table(title="funding, open interest, order books, borrow rates")
    for column in ("kind", "market", "venue", "rows", "first (UTC)", "last (UTC)"):
        others.add_column(column, justify="right" if column == "rows" else "left")
    for s in series:
        if s.kind == "candles":
            gaps = "none" if not s.gaps else f"[yellow]{s.gaps} ({s.missing} bars missing)[/yellow]"
            candles.add_row(
                s.market, s.venue, f"{s.resolution_s} s", f"{s.rows:,}", when(s.first_ts),
                when(s.last_ts), gaps,
            )
        else:
            others.add_row(
                s.kind, s.market, s.venue, f"{s.rows:,}", when(s.first_ts), when(s.last_ts)
            )
    if candles.row_count:
        console.print(candles)
    if others.row_count:
        console.print(others)


@data_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["parquet"]), default="parquet",
              show_default=True, help="File format.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in DIRECTORY.")
@db_option
@user_errors
def export_command(directory: Path, fmt: str, overwrite: bool, db: Path | None) -> None:
    """Export every table as Hive-partitioned Parquet (venue/market[/resolution_s]).

    DuckDB, Spark, Polars and pyarrow read the result; `flint data import DIRECTORY`
    loads it back.
    """
    from flint.store import FlintStore

    path = db_path(db)
    console = make_console()
    with FlintStore(path, read_only=True) as store, console.status(f"exporting {fmt}..."):
        written = store.export_parquet(directory, overwrite=overwrite)
    if not written:
        console.print(f"{path} holds no market data: nothing exported.")
        return
    table = Table(title=f"exported to {directory}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in written.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
