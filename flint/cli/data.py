"""``flint data``: fill, inspect and export the store.

    flint data sample                      generated markets, no network
    flint data download                    venues' own data, brought up to date
    flint data collect                     venues' live feeds into the store, until Ctrl-C
    flint data migrate                     an earlier flint's store to this one's schema
    flint data import PATH                 CSV/Parquet files or a folder (or an export)
    flint data status                      what is stored, with gaps (safe while writing)
    flint data export DIR                  Hive-partitioned Parquet for other engines

The store is ``db_path`` from the configuration (flint.yaml, ``FLINT_DB_PATH``)
unless ``--db`` names one. Bad input exits with code 1 and a message.
"""

import time
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, user_errors, when
from flint.providers.base import CAPABILITY_METHODS, DOWNLOAD_KINDS
from flint.providers.errors import VenueError


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


@data_group.command("download")
@click.option("--venue", "venues", multiple=True,
              help="Venue to download from (repeatable; default: the venues configured "
                   "in flint.yaml, else every installed one).")
@click.option("--market", "-m", "markets", multiple=True,
              help="Market, e.g. SOL-PERP (repeatable; default: default_markets of flint.yaml "
                   "and every market already downloaded from the venue).")
@click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1), default=3600,
              show_default=True, help="Candle resolution in seconds.")
@click.option("--start", "-s", default=None,
              help="First day (YYYY-MM-DD, UTC), ISO time or unix seconds (default: where the "
                   "series' download began, else --period before now).")
@click.option("--end", "-e", default=None, help="Last day, included (default: now).")
@click.option("--period", default=None,
              help="How far back from now when there is no --start, e.g. 30d, 12h, 1y "
                   "(default: 1y for a series never downloaded).")
@click.option("--kind", "kinds", default="candles,funding", show_default=True,
              help=f"What to download, comma separated: {', '.join(DOWNLOAD_KINDS)}.")
@db_option
@user_errors
def download_command(
    venues: tuple[str, ...],
    markets: tuple[str, ...],
    resolution_s: int,
    start: str | None,
    end: str | None,
    period: str | None,
    kinds: str,
    db: Path | None,
) -> None:
    """Download venues' candles, funding, open interest and books into the store.

    Incremental: only spans not fetched before are asked for, so running it again
    brings everything up to date (and makes no request for what is covered);
    resumable: each answer is written with the span it covers, so an interrupted
    download continues where it stopped. Candles are stored closed only. Where a
    venue cannot go back as far as asked (Hyperliquid keeps 5000 candles per
    interval), the rest is downloaded and the command says what is missing.
    """
    from flint.cli.inputs import parse_time
    from flint.config import load_config
    from flint.providers.download import DAY, Series, default_start, period_seconds
    from flint.providers.errors import VenueUnreachable
    from flint.providers.registry import ProviderRegistry
    from flint.store import FlintStore

    wanted_kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in wanted_kinds if k not in DOWNLOAD_KINDS]
    if unknown or not wanted_kinds:
        raise click.BadParameter(
            f"unknown kind {', '.join(unknown) or '(none)'}; use {', '.join(DOWNLOAD_KINDS)}",
            param_hint="--kind",
        )
    config = load_config()
    registry = ProviderRegistry()
    sources = registry.venues()
    chosen = _chosen_venues(venues, sources, config)
    now = time.time()
    back_s = period_seconds(period) if period else 365 * DAY
    start_ts = parse_time(start)
    end_ts = parse_time(end, end=True)
    console = make_console()
    outcomes, failures = [], []
    with FlintStore(db_path(db)) as store, Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rows]:>9,} rows"), TimeElapsedColumn(),
        console=console, transient=not console.is_terminal,
    ) as progress:
        for venue in chosen:
            provider = registry.create(sources[venue], config=config)
            try:
                covered = {key[1] for key in store.coverage_summary() if key[0] == venue}
                for market in markets or tuple(dict.fromkeys([*config.default_markets,
                                                              *sorted(covered)])):
                    for kind in wanted_kinds:
                        if kind not in provider.capabilities:
                            continue
                        series = Series(venue, market, kind,
                                        resolution_s if kind == "candles" else None)
                        first = start_ts if start_ts is not None else (
                            int(now) - back_s if period else
                            default_start(store, series, now, back_s)
                        )
                        try:
                            outcomes.append(_download_one(store, provider, series, first,
                                                          end_ts, progress))
                        except VenueUnreachable:
                            raise
                        except VenueError as exc:
                            if isinstance(exc, ValueError):  # an unknown market: bad input
                                raise
                            failures.append(f"{series.label}: {exc}")
            finally:
                provider.close()
    _report(console, outcomes, failures)
    if failures:
        raise click.ClickException(f"{len(failures)} series could not be downloaded (see above)")


def _chosen_venues(venues: tuple[str, ...], sources: dict[str, str], config: Any) -> list[str]:
    """The venues to download from: given, else configured, else every installed one."""
    from flint.plugins import VENUE_PLUGINS

    for venue in venues:
        if venue not in sources:
            hint = f" (pip install {VENUE_PLUGINS[venue]})" if venue in VENUE_PLUGINS else ""
            raise click.ClickException(
                f"no data provider for venue '{venue}'{hint}; installed: "
                f"{', '.join(sorted(sources)) or 'none (pip install flint-hyperliquid)'}"
            )
    if venues:
        return list(dict.fromkeys(venues))
    configured = [v for v in config.venues if v in sources]
    chosen = configured or sorted(sources)
    if not chosen:
        raise click.ClickException(
            "no venue data provider is installed: pip install flint-hyperliquid"
        )
    return chosen


def _download_one(store: Any, provider: Any, series: Any, start_ts: int, end_ts: int | None,
                  progress: Progress) -> Any:
    from flint.providers.download import download

    task = progress.add_task(series.label, total=None, rows=0)

    def on_page(outcome: Any, done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, rows=outcome.rows)

    outcome = download(store, provider, series, start_ts, end_ts, on_page=on_page)
    progress.update(task, completed=1, total=1, rows=outcome.rows)
    return outcome


def _report(console: Any, outcomes: list[Any], failures: list[str]) -> None:
    table = Table(title="downloaded")
    for column in ("venue", "market", "kind", "rows new or changed", "fetched (UTC)"):
        table.add_column(column, justify="right" if column.startswith("rows") else "left")
    for outcome in outcomes:
        s = outcome.series
        kind = s.kind + (f" {s.resolution_s} s" if s.resolution_s else "")
        fetched = "up to date" if not outcome.fetched else (
            f"{when(outcome.fetched[0][0])} .. {when(outcome.fetched[-1][1])}"
        )
        table.add_row(s.venue, s.market, kind, f"{outcome.rows:,}", fetched)
    console.print(table)
    for outcome in outcomes:
        if outcome.note:
            console.print(f"[yellow]{outcome.note}[/yellow]")
    for failure in failures:
        console.print(f"[red]{failure}[/red]")


@data_group.command("collect")
@click.option("--venue", "venues", multiple=True,
              help="Venue to collect from (repeatable; default as for download).")
@click.option("--market", "-m", "markets", multiple=True,
              help="Market (repeatable; default: default_markets of flint.yaml).")
@click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1), default=60,
              show_default=True, help="Candle resolution in seconds.")
@click.option("--funding-every", "funding_every_s", type=click.IntRange(min=10), default=300,
              show_default=True,
              help="Seconds between funding downloads (and market snapshots).")
@click.option("--books", is_flag=True,
              help="Also store the order books the venue streams (at most one a second).")
@db_option
@user_errors
def collect_command(
    venues: tuple[str, ...],
    markets: tuple[str, ...],
    resolution_s: int,
    funding_every_s: int,
    books: bool,
    db: Path | None,
) -> None:
    """Run the venues' live feeds into the store until Ctrl-C.

    First brings candles up to date (as `flint data download` does), then stores
    each candle as it closes (with its coverage, one transaction per bar),
    downloads funding and stores a market snapshot (mark, oracle, open interest,
    where the venue gives them) every --funding-every seconds, and with --books the
    order books of venues that stream them. A venue error in a funding round is
    printed and that round tried again next time; a feed that dies ends the command
    with its error. Ctrl-C stops cleanly: every write is whole or absent.
    """
    from flint.config import load_config
    from flint.providers.download import DAY, Series, default_start, download
    from flint.providers.registry import ProviderRegistry
    from flint.store import FlintStore

    config = load_config()
    registry = ProviderRegistry()
    sources = registry.venues()
    console = make_console()
    stored: dict[str, int] = {}
    books_stored: dict[str, int] = {}
    feeds: list[Any] = []
    providers: list[Any] = []
    with FlintStore(db_path(db)) as store:
        try:
            jobs = []
            for venue in _chosen_venues(venues, sources, config):
                provider = registry.create(sources[venue], config=config)
                providers.append(provider)
                for market in markets or config.default_markets:
                    series = Series(venue, market, "candles", resolution_s)
                    now = time.time()
                    download(store, provider, series, default_start(store, series, now, DAY))
                    covered = store.coverage(venue, market, "candles", resolution_s)
                    last_ts = covered[-1][1] - resolution_s if covered else None
                    feeds.append(provider.candle_feed(
                        market, resolution_s, _bar_writer(store, series, stored, console),
                        last_ts=last_ts,
                    ).start())
                    if books and hasattr(provider, "book_feed"):
                        feeds.append(provider.book_feed(
                            market, _book_writer(store, venue, books_stored)).start())
                    if "funding" in provider.capabilities:
                        jobs.append((provider, Series(venue, market, "funding")))
            console.print(f"collecting {len(feeds)} feed(s) into {store.path}; Ctrl-C stops")
            while True:
                for provider, series in jobs:
                    _collect_round(store, provider, series, console)
                _wait_watching(feeds, funding_every_s)
        finally:
            for feed in feeds:
                feed.stop()
            for provider in providers:
                provider.close()
            console.print(f"stored {sum(stored.values()):,} closed candle(s) live"
                          + (f", {sum(books_stored.values()):,} book(s)" if books else ""))


def _collect_round(store: Any, provider: Any, series: Any, console: Any) -> None:
    """One funding download and market snapshot; a venue error is reported and the
    next round tries again (the candle feeds keep running meanwhile)."""
    from flint.providers.download import DAY, default_start, download
    from flint.providers.errors import VenueError

    try:
        download(store, provider, series, default_start(store, series, time.time(), DAY))
        if hasattr(provider, "market_snapshot"):
            store.upsert_market_snapshots([provider.market_snapshot(series.market)],
                                          venue=series.venue)
    except VenueError as exc:
        console.print(f"[yellow]{series.label}: {exc}; trying again next round[/yellow]")


def _wait_watching(feeds: list[Any], seconds: float) -> None:
    """Sleep ``seconds``; a feed that died meanwhile ends the collection with its error."""
    deadline = time.monotonic() + seconds
    while True:
        for feed in feeds:
            if feed.error is not None:
                raise click.ClickException(
                    f"the {feed.name} feed stopped: {type(feed.error).__name__}: {feed.error}")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(1.0, left))


def _bar_writer(store: Any, series: Any, stored: dict[str, int], console: Any) -> Any:
    """``on_candle`` of a feed: store each closed bar with its coverage (one transaction)."""
    def write(candle: Any) -> None:
        res = series.resolution_s
        store.upsert_candles([candle], venue=series.venue, market=series.market,
                             resolution_s=res, covering=(candle.ts, candle.ts + res))
        stored[series.label] = stored.get(series.label, 0) + 1
        console.print(f"{series.label} {when(candle.ts)} close {candle.close:g}")

    return write


def _book_writer(store: Any, venue: str, stored: dict[str, int]) -> Any:
    """``on_book`` of a book feed: store the first book of each second (one transaction)."""
    last: dict[str, int] = {}

    def write(book: Any) -> None:
        if last.get(book.market) == book.ts:
            return
        store.upsert_orderbook_snapshot(book, venue=venue)
        last[book.market] = book.ts
        stored[book.market] = stored.get(book.market, 0) + 1

    return write


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


@data_group.command("migrate")
@db_option
@user_errors
def migrate_command(db: Path | None) -> None:
    """Bring a store written by an earlier flint to this flint's schema (reads refuse an
    older one; any open for writing migrates it, this one does nothing else)."""
    from flint.store import FlintStore, schema

    path = db_path(db)
    if not path.is_file():
        raise click.ClickException(f"no flint store at {path}")
    with FlintStore(path):
        pass
    make_console().print(f"{path} has schema version {schema.SCHEMA_VERSION}")


@data_group.command("status")
@db_option
@user_errors
def status_command(db: Path | None) -> None:
    """What the store holds: per market, venue and resolution, rows, span, gaps and
    what was fetched from the venue.

    Missing bars are told apart: bars never fetched, and bars the venue had none of
    (fetched, nothing there). Opens the store read-only, so it works while another
    process writes to it.
    """
    from flint.store import FlintStore

    path = db_path(db)
    with FlintStore(path, read_only=True) as store, store.session():
        series = store.summary()
        covered = store.coverage_summary()
        gap_kinds = {
            (s.venue, s.market, s.resolution_s): _gap_bars(store, s)
            for s in series if s.kind == "candles" and s.gaps
        }
    console = make_console()
    if not series and not covered:
        console.print(f"{path} holds no market data yet: try `flint data sample`.")
        return
    candles = Table(title=f"candles in {path}")
    for column in ("market", "venue", "resolution", "rows", "first (UTC)", "last (UTC)", "gaps",
                   "fetched from the venue (UTC)"):
        candles.add_column(column, justify="right" if column in ("rows", "resolution") else "left")
    others = Table(title="funding, open interest, order books, borrow rates")
    for column in ("kind", "market", "venue", "rows", "first (UTC)", "last (UTC)",
                   "fetched from the venue (UTC)"):
        others.add_column(column, justify="right" if column == "rows" else "left")
    for s in series:
        fetched = _fetched(covered.pop((s.venue, s.market, s.kind, s.resolution_s), []))
        if s.kind == "candles":
            candles.add_row(
                s.market, s.venue, f"{s.resolution_s} s", f"{s.rows:,}", when(s.first_ts),
                when(s.last_ts), _gap_text(s, gap_kinds.get((s.venue, s.market, s.resolution_s))),
                fetched,
            )
        else:
            others.add_row(s.kind, s.market, s.venue, f"{s.rows:,}", when(s.first_ts),
                           when(s.last_ts), fetched)
    for (venue, market, kind, res), spans in covered.items():  # fetched, the venue had nothing
        if kind == "candles":
            candles.add_row(market, venue, f"{res} s", "0", "-", "-", "venue had none",
                            _fetched(spans))
        else:
            others.add_row(kind, market, venue, "0", "-", "-", _fetched(spans))
    if candles.row_count:
        console.print(candles)
    if others.row_count:
        console.print(others)


def _gap_bars(store: Any, s: Any) -> dict[str, int]:
    """Missing bars of a candle series between its first and last bar, by coverage status."""
    counts = {"source_empty": 0, "missing": 0}
    for span in store.coverage_status(s.venue, s.market, "candles", s.first_ts,
                                      s.last_ts + s.resolution_s, s.resolution_s):
        if span.status in counts:
            counts[span.status] += span.bars
    return counts


def _gap_text(s: Any, kinds: dict[str, int] | None) -> str:
    if not s.gaps:
        return "none"
    text = f"{s.gaps} ({s.missing} bars missing"
    if kinds and kinds["source_empty"]:
        text += f": {kinds['missing']} never fetched, {kinds['source_empty']} venue had none"
    return f"[yellow]{text})[/yellow]"


def _fetched(spans: list[tuple[int, int]]) -> str:
    """Fetched spans as ``first .. last`` (and how many pieces when not one)."""
    if not spans:
        return "-"
    pieces = f" in {len(spans)} pieces" if len(spans) > 1 else ""
    return f"{when(spans[0][0])} .. {when(spans[-1][1])}{pieces}"


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
