"""The contract of ``flint data download --venue V`` run against a venue's fake server:
a year of the shared files row for row, a second run that asks nothing, an unknown
market named with the venue's markets, and an offline venue that gives up in one line.

    class TestMyDownload(DownloadCommandContract):
        venue = "myvenue"
        markets = ("SOL-PERP", "BTC-PERP")
        year = ("2025-01-01", "2025-12-31")
        year_candles = 8760
        unknown_market_error = "myvenue has no market 'DOGGO-PERP'; its markets: ..."

        def make_fake(self, data):
            return MyFake.from_data(data)        # a context manager serving the files

        def environment(self, url):
            return {"FLINT_MYVENUE_API_URL": url}

        def expected_files(self, data):
            return "myvenue", [data / "myvenue-SOL-3600.csv", ...]

        def offline_error(self, url):
            return f"Error: cannot reach myvenue at {url}"

The test module needs the ``fake_data`` fixture (the shared data folder, skipped when it
lacks the venue's files) and ``bounded`` (a time limit) of flint's test conftest.
:func:`fetch_in_calls` is the helper of the "any split equals one call" property.
"""

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flint.providers.download import Series, download
from flint.store import FlintStore
from flint.testing.venues import file_rows, stored_rows, unused_port

#: The ``flint`` command of the running interpreter's environment.
FLINT = str(Path(sys.executable).parent / "flint")


class DownloadCommandContract:
    """``flint data download`` of a venue plugin, end to end against its fake."""

    venue: ClassVar[str]
    markets: ClassVar[tuple[str, ...]]
    #: First and last day downloaded (inclusive), and the candles each market has in it.
    year: ClassVar[tuple[str, str]]
    year_candles: ClassVar[int]
    #: True when the venue gives funding intervals (compared exactly); False when flint
    #: observes them from the spacing (the first settlements of the year may differ from
    #: an import of the whole file, which has earlier neighbours).
    venue_gives_intervals: ClassVar[bool] = True
    unknown_market: ClassVar[str] = "DOGGO-PERP"
    unknown_market_error: ClassVar[str]
    #: The flint.yaml of the test folder.
    config: ClassVar[str] = ""

    def make_fake(self, data: Path) -> AbstractContextManager[Any]:
        """The venue's fake serving the shared files of ``data``."""
        raise NotImplementedError

    def environment(self, url: str) -> dict[str, str]:
        """Environment variables pointing flint at ``url``."""
        raise NotImplementedError

    def expected_files(self, data: Path) -> tuple[str, list[Path]]:
        """The venue named in the files' names, and the candle and funding files served."""
        raise NotImplementedError

    def offline_error(self, url: str) -> str:
        """How the one error line starts when nobody listens at ``url``."""
        raise NotImplementedError

    def check_requests(self, fake: Any) -> None:
        """Assertions on the requests of the first year's download (pages, weights)."""

    @pytest.fixture
    def fake(self, fake_data: Path) -> Iterator[Any]:
        with self.make_fake(fake_data) as server:
            yield server

    @pytest.fixture
    def workdir(self, tmp_path: Path, fake: Any) -> tuple[Path, dict[str, str]]:
        """A folder with the contract's flint.yaml (rate limits off) and the environment
        pointing flint at the fake."""
        config = f"providers:\n  {self.venue}:\n    rate_limit: false\n" + self.config
        (tmp_path / "flint.yaml").write_text(config)
        return tmp_path, {**os.environ, **self.environment(fake.url), "FLINT_CONFIG": "",
                          "COLUMNS": "200"}

    def command(self, db: Path, *markets: str) -> list[str]:
        """The year's download of ``markets`` (default: all of the contract's) into ``db``."""
        chosen = [arg for market in markets or self.markets for arg in ("--market", market)]
        return [FLINT, "data", "download", "--venue", self.venue, *chosen, "--start",
                self.year[0], "--end", self.year[1], "--db", str(db)]

    def year_ts(self) -> tuple[int, int]:
        """The first and the last second of :attr:`year`."""
        first, last = (datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
                       for day in self.year)
        return int(first), int(last) + 86399

    def test_a_year_equals_the_files_and_a_second_run_asks_nothing(
            self, fake: Any, fake_data: Path, workdir: tuple[Path, dict[str, str]],
            bounded: Callable[[float], None]) -> None:
        bounded(300)
        folder, env = workdir
        db = folder / f"{self.venue}.duckdb"
        done = subprocess.run(self.command(db), cwd=folder, env=env, capture_output=True,
                              text=True, timeout=240, check=False)
        assert done.returncode == 0, done.stderr
        label, files = self.expected_files(fake_data)
        expected = file_rows(files, folder / "files.duckdb", label, self.markets,
                             self.year_ts())
        got = stored_rows(db, self.venue, self.markets)
        for market in self.markets:
            (candles, funding), (want_candles, want_funding) = got[market], expected[market]
            assert len(candles) == self.year_candles, market
            assert candles == want_candles, market
            if self.venue_gives_intervals:
                assert funding == want_funding, market
            else:
                assert [f[:2] for f in funding] == [f[:2] for f in want_funding], market
                assert funding[3:] == want_funding[3:], market
        self.check_requests(fake)
        fake.reset_log()
        again = subprocess.run(self.command(db), cwd=folder, env=env, capture_output=True,
                               text=True, timeout=120, check=False)
        assert again.returncode == 0, again.stderr
        assert fake.count() == 0
        assert "up to date" in again.stdout

    def test_an_unknown_market_lists_the_venues_markets(
            self, fake: Any, workdir: tuple[Path, dict[str, str]]) -> None:
        folder, env = workdir
        done = subprocess.run([FLINT, "data", "download", "--venue", self.venue, "--market",
                               self.unknown_market, "--db", str(folder / "x.duckdb")],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 1
        assert self.unknown_market_error in done.stderr

    def test_offline_the_command_gives_up_with_one_line_naming_the_endpoint(
            self, tmp_path: Path, bounded: Callable[[float], None]) -> None:
        # How soon it gives up is the retry policy's (tests/test_transport.py, on a fake
        # clock: about 4 s offline); the timeout here only catches a command that hangs.
        bounded(120)
        url = f"http://127.0.0.1:{unused_port()}"
        env = {**os.environ, **self.environment(url), "FLINT_CONFIG": ""}
        done = subprocess.run([FLINT, "data", "download", "--venue", self.venue, "--market",
                               self.markets[0], "--db", str(tmp_path / "x.duckdb")],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=90, check=False)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(self.offline_error(url)), lines[0]


def fetch_in_calls(provider: Any, venue: str, market: str, bounds: Sequence[int],
                   now: Callable[[], float], resolution_s: int = 3600) -> tuple[Any, ...]:
    """Candles and funding of ``market`` downloaded by ``provider`` in one call per pair of
    consecutive ``bounds`` into a new in-memory store: what was stored, and its coverage."""
    with FlintStore(":memory:") as store, provider:
        for a, b in itertools.pairwise(bounds):
            for series in (Series(venue, market, "candles", resolution_s),
                           Series(venue, market, "funding")):
                download(store, provider, series, a, b, now=now)
        candles = store.query_candles(market, resolution_s, venue=venue)
        funding = store.query_funding_rates(market, venue=venue)
        return (candles.timestamps.tolist(), candles.closes.tolist(),
                [(r.ts, r.rate, r.interval_s) for r in funding], store.coverage_summary())
