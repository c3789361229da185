"""Downloading a venue's data into the store: incremental, resumable, idempotent.

:func:`download` brings one :class:`Series` (venue, market, kind, resolution) of
the store up to date over a time range, with any provider:

- it asks only for the spans the store's coverage record does not hold yet, so a
  second run over a covered range makes no request;
- the rows of each :class:`~flint.providers.base.Page` are written together with
  the span it covers in one transaction (a few pages at a time: about 50,000 rows
  or a second's worth), so a download killed at any moment resumes where it
  stopped and ends with the same rows as an uninterrupted one;
- candles are taken closed only: never the bar still forming at ``now``;
- funding intervals are observed from the stored spacing, so a series downloaded
  in any number of calls ends exactly as one call stores it;
- a venue that cannot go back as far (:class:`HistoryUnavailable`) is asked from
  its earliest available time, and the outcome says what was not available.
"""

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from flint.providers.base import DOWNLOAD_KINDS, DataProvider, Page
from flint.providers.errors import HistoryUnavailable, VenueError, utc
from flint.store import FlintStore, spans
from flint.store.batches import WEEK_OFFSET_S
from flint_core.series import CandleSeries

DAY = 86_400


@attrs.frozen
class Series:
    """One stored series: venue, market, kind and (candles only) resolution."""

    venue: str
    market: str
    kind: str
    resolution_s: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind not in DOWNLOAD_KINDS:
            raise ValueError(f"unknown kind '{self.kind}'; use one of {', '.join(DOWNLOAD_KINDS)}")
        if (self.kind == "candles") != (self.resolution_s is not None):
            raise ValueError("a resolution is given for candles, and only for candles")

    @property
    def label(self) -> str:
        """``venue market kind[/resolution]`` for progress and messages."""
        res = f" {self.resolution_s}s" if self.resolution_s is not None else ""
        return f"{self.venue} {self.market} {self.kind}{res}"


@attrs.define
class Outcome:
    """What :func:`download` did for a series."""

    series: Series
    rows: int = 0
    pages: int = 0
    fetched: list[tuple[int, int]] = attrs.field(factory=list)
    unavailable: HistoryUnavailable | None = None

    @property
    def note(self) -> str:
        """What the venue could not give, in words (empty if it gave everything)."""
        if self.unavailable is None:
            return ""
        return f"{self.series.label}: not all of it is available: {self.unavailable}"


def bar_floor(ts: int, resolution_s: int) -> int:
    """Open time of the bar holding ``ts`` (weeks open on Monday 00:00 UTC)."""
    offset = WEEK_OFFSET_S if resolution_s == 604800 else 0
    return (ts - offset) // resolution_s * resolution_s + offset


def fetchable_end(series: Series, now: float) -> int:
    """Exclusive end of what can be stored at ``now``: the open time of the forming bar
    for candles (closed bars only), the current second for other kinds."""
    if series.resolution_s is not None:
        return bar_floor(int(now), series.resolution_s)
    return int(now)


def default_start(store: FlintStore, series: Series, now: float, period_s: int) -> int:
    """Where a download without ``--start`` begins: where the series' coverage begins
    (so holes get filled), else ``period_s`` before ``now``."""
    covered = store.coverage(series.venue, series.market, series.kind, series.resolution_s)
    return covered[0][0] if covered else int(now) - period_s


def _keep(rows: Sequence[Any], low: int, high: int) -> Sequence[Any]:
    """The rows with ``low <= ts < high``."""
    if isinstance(rows, CandleSeries):
        ts = rows.timestamps
        mask = (ts >= low) & (ts < high)
        if mask.all():
            return rows
        return CandleSeries(
            ts[mask], rows.opens[mask], rows.highs[mask], rows.lows[mask], rows.closes[mask],
            rows.volumes[mask], rows.market, rows.resolution_s, rows.venue,
        )
    return [r for r in rows if low <= r.ts < high]


def _write(store: FlintStore, series: Series, rows: Sequence[Any], span: tuple[int, int]) -> int:
    keys = {"venue": series.venue, "market": series.market, "covering": span}
    if series.kind == "candles":
        return store.upsert_candles(rows, resolution_s=series.resolution_s, **keys)
    if series.kind == "funding":
        return store.upsert_funding_rates(rows, observe_intervals=True, **keys)
    if series.kind == "open_interest":
        return store.upsert_open_interest(rows, **keys)
    return store.upsert_orderbook_snapshot(rows, **keys)


def download(
    store: FlintStore,
    provider: DataProvider,
    series: Series,
    start_ts: int,
    end_ts: int | None = None,
    *,
    now: Callable[[], float] = time.time,
    on_page: Callable[[Outcome, int, int], None] | None = None,
) -> Outcome:
    """Store ``series`` from ``provider`` over ``[start_ts, end_ts]`` (inclusive; ``None``:
    up to now); fetch only what the coverage record lacks.

    ``on_page(outcome, done, total)`` is called after each page, ``done``/``total``
    in seconds of the span to fetch. Errors of the venue propagate; pages written
    before stay written (and covered).
    """
    clock = now()
    stop = fetchable_end(series, clock)
    if end_ts is not None:
        stop = min(stop, end_ts + 1)
    start = start_ts
    if series.resolution_s is not None:  # spans from bar open to bar open
        start = bar_floor(start_ts - 1, series.resolution_s) + series.resolution_s
        stop = bar_floor(stop - 1, series.resolution_s) + series.resolution_s
    outcome = Outcome(series)

    def todo() -> list[tuple[int, int]]:
        covered = store.coverage(series.venue, series.market, series.kind, series.resolution_s)
        return spans.subtract((start, stop), covered) if start < stop else []

    total = sum(b - a for a, b in todo())
    done = 0
    while True:
        missing = todo()
        if not missing:
            return outcome
        low, high = missing[0]
        batch = _Batch(store, series, outcome)
        try:
            for page in provider.fetch_pages(
                series.kind, series.market, low, high, series.resolution_s
            ):
                done += batch.add(page, low, stop)
                if on_page is not None:
                    on_page(outcome, min(done, total), total)
        except HistoryUnavailable as exc:
            if not low < exc.earliest_ts:
                raise
            outcome.unavailable = exc
            start = exc.earliest_ts
            total = done + sum(b - a for a, b in todo())
            continue
        finally:
            batch.flush()  # what was fetched stays, also when the venue fails
        left = todo()
        if left and left[0][0] == low:
            raise VenueError(
                f"the {provider.name} provider's pages do not cover {series.label} from "
                f"{utc(low)}: it answered up to {utc(max(low, left[0][0]))}",
                venue=series.venue,
            )


class _Batch:
    """Pages fetched and not written yet. They are written together, with the span they
    cover, in one transaction once they hold ``max_rows`` rows or are ``max_age_s`` old
    (each write opens the store file, which other processes share), and at the end."""

    def __init__(self, store: FlintStore, series: Series, outcome: Outcome,
                 max_rows: int = 50_000, max_age_s: float = 1.0) -> None:
        self.store, self.series, self.outcome = store, series, outcome
        self.max_rows, self.max_age_s = max_rows, max_age_s
        self.parts: list[Sequence[Any]] = []
        self.span: tuple[int, int] | None = None
        self.since = 0.0

    def add(self, page: Page, low: int, stop: int) -> int:
        """Take a page's rows within its span (closed candles only); return seconds covered."""
        start = max(page.start_ts, low)
        end = min(page.end_ts, stop) if self.series.kind == "candles" else page.end_ts
        if end <= start:
            return 0
        if self.span is not None and self.span[1] != start:  # not contiguous: write apart
            self.flush()
        if self.span is None:
            self.span, self.since = (start, end), time.monotonic()
        self.span = (self.span[0], end)
        self.parts.append(_keep(page.rows, start, end))
        self.outcome.pages += 1
        self.outcome.fetched = spans.merge([*self.outcome.fetched, (start, end)])
        if (sum(len(p) for p in self.parts) >= self.max_rows
                or time.monotonic() - self.since >= self.max_age_s):
            self.flush()
        return end - start

    def flush(self) -> None:
        """Write what is held (rows and their span, in one transaction)."""
        if self.span is None:
            return
        rows = _concat(self.parts)
        self.outcome.rows += _write(self.store, self.series, rows, self.span)
        self.parts, self.span = [], None


def _concat(parts: list[Sequence[Any]]) -> Sequence[Any]:
    """One sequence of the rows of ``parts`` (CandleSeries joined column by column)."""
    if len(parts) == 1:
        return parts[0]
    if parts and isinstance(parts[0], CandleSeries):
        first = parts[0]
        columns = [
            np.concatenate([getattr(p, name) for p in parts])
            for name in ("timestamps", "opens", "highs", "lows", "closes", "volumes")
        ]
        return CandleSeries(*columns, first.market, first.resolution_s, first.venue)
    return [row for part in parts for row in part]


def period_seconds(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``1y`` (365 days) in seconds."""
    units = {"m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "y": 365 * DAY}
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not value.isdigit() or int(value) <= 0:
        raise ValueError(
            f"'{text}' is not a period: use a positive number and a unit of "
            f"m (minutes), h, d, w or y, e.g. 30d"
        )
    return int(value) * units[unit]


def describe(outcome: Outcome) -> str:
    """One line: rows written and the span fetched."""
    if not outcome.fetched:
        return f"{outcome.series.label}: already up to date"
    first, last = outcome.fetched[0][0], outcome.fetched[-1][1]
    return (
        f"{outcome.series.label}: {outcome.rows:,} rows new or changed, "
        f"fetched {utc(first)} .. {utc(last)}"
    )

