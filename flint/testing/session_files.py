"""The stores and files of ``flint live`` sessions run in one folder: stores warmed up
with bars before the sessions start, and afterwards every order journal and every
other file they wrote, as text (to check what was recorded, and that no key leaked)."""

from collections.abc import Iterable
from pathlib import Path

from flint.live.journal import OrderJournal
from flint.models import Candle
from flint.store import FlintStore


def warm_stores(folder: Path, names: Iterable[str], candles: list[Candle]) -> None:
    """Store ``candles`` in ``folder/NAME.duckdb`` for each name (a session stores its
    bars, so sessions run side by side each want their own store)."""
    for name in names:
        with FlintStore(folder / f"{name}.duckdb") as store:
            store.upsert_candles(candles)


def journal_text(folder: Path) -> str:
    """The events of every live account's order journal in the stores in ``folder``."""
    rows = []
    for path in sorted(folder.glob("*.duckdb")):
        with FlintStore(path, read_only=True) as store:
            rows += [OrderJournal(store, account).events() for account in store.live_accounts()]
    return "\n".join(map(str, rows))


def written_files(folder: Path) -> dict[Path, str]:
    """Every file below ``folder`` other than a store, with its text (bytes that are not
    UTF-8 replaced)."""
    return {path: path.read_text(errors="replace") for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix != ".duckdb"}
