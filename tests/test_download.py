"""The coverage record and the venue-agnostic downloader, with an in-process paged provider."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.models import Candle, CandleSeries, FundingRate
from flint.providers import DataProvider, Page
from flint.providers.download import Series, default_start, download, fetchable_end, period_seconds
from flint.providers.errors import HistoryUnavailable, TransientVenueError
from flint.store import CoverageSpan, FlintStore
from flint.store.funding import funding_intervals

H = 3600
VENUE = "paged"


class PagedVenue(DataProvider):
    """Candles on an hourly grid (with listing gaps) and funding (8 h, then 1 h), served
    ``page`` rows per answer; counts answers; can fail after some pages or refuse to go
    back before ``earliest``."""

    name = VENUE
    capabilities = frozenset({"candles", "funding"})

    def __init__(self, bars, funding, page=7, earliest=None, fail_after=None):
        self.bars, self.funding, self.page = np.asarray(bars), np.asarray(funding), page
        self.earliest, self.fail_after, self.answers = earliest, fail_after, 0

    def _answer(self):
        if self.fail_after is not None and self.answers >= self.fail_after:
            raise TransientVenueError("the venue went away")
        self.answers += 1

    def fetch_pages(self, kind, market, start_ts, end_ts, resolution_s=None):
        if kind == "candles" and self.earliest is not None and start_ts < self.earliest:
            raise HistoryUnavailable("too old", earliest_ts=self.earliest, venue=VENUE)
        times = self.bars if kind == "candles" else self.funding
        cursor = start_ts
        while True:
            self._answer()
            inside = times[(times >= cursor) & (times < end_ts)][: self.page]
            full = len(inside) == self.page
            end = int(inside[-1]) + 1 if full else end_ts
            if kind == "candles":
                rows = CandleSeries(inside, inside / H + 100.0, inside / H + 101.0,
                                    inside / H + 99.0, inside / H + 100.5, np.ones(len(inside)),
                                    market, resolution_s, VENUE)
            else:
                rows = [FundingRate(market, int(t), 1e-5 * (t % 7), source=VENUE, interval_s=H)
                        for t in inside]
            yield Page(rows, cursor, end)
            if not full:
                return
            cursor = end

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, *, venue=None):
        raise NotImplementedError

    def fetch_funding(self, market, start_ts, end_ts, *, venue=None):
        raise NotImplementedError


def bars():
    grid = np.arange(100 * H, 300 * H, H)
    return grid[(grid < 150 * H) | (grid >= 160 * H)]  # the venue had nothing 150..159


def funding():
    eight = np.arange(50 * H, 130 * H, 8 * H)
    return np.concatenate([eight, np.arange(130 * H, 300 * H, H)])


def candles_of(store, market="SOL-PERP"):
    series = store.query_candles(market, H, venue=VENUE)
    return series.timestamps.tolist(), series.closes.tolist()


def funding_of(store, market="SOL-PERP"):
    return [(r.ts, r.rate, r.interval_s) for r in store.query_funding_rates(market, venue=VENUE)]


CANDLES = Series(VENUE, "SOL-PERP", "candles", H)
FUNDING = Series(VENUE, "SOL-PERP", "funding")


# The coverage record


def test_coverage_spans_merge_and_say_what_was_fetched():
    with FlintStore(":memory:") as store:
        store.record_coverage(VENUE, "X", "funding", 10, 20)
        store.record_coverage(VENUE, "X", "funding", 30, 40)
        assert store.coverage(VENUE, "X", "funding") == [(10, 20), (30, 40)]
        store.record_coverage(VENUE, "X", "funding", 20, 30)  # touching: one span
        assert store.coverage(VENUE, "X", "funding") == [(10, 40)]
        store.record_coverage(VENUE, "X", "funding", 5, 12)
        assert store.coverage(VENUE, "X", "funding") == [(5, 40)]
        assert store.coverage(VENUE, "X", "candles", H) == []
        with pytest.raises(ValueError, match="resolution_s is given for candles"):
            store.record_coverage(VENUE, "X", "candles", 0, 10)


def test_rows_and_their_coverage_are_written_together_or_not_at_all():
    bad = [Candle(0, 1.0, 2.0, 0.5, 1.0, 1.0, "X", H, VENUE),
           Candle(H, 1.0, 0.5, 0.9, 1.0, 1.0, "X", H, VENUE)]  # high below low
    with FlintStore(":memory:") as store:
        with pytest.raises(ValueError, match="row 1: high"):
            store.upsert_candles(bad, venue=VENUE, market="X", resolution_s=H, covering=(0, 2 * H))
        assert store.coverage(VENUE, "X", "candles", H) == []
        assert store.upsert_candles(bad[:1], venue=VENUE, market="X", resolution_s=H,
                                    covering=(0, 2 * H)) == 1
        assert store.coverage(VENUE, "X", "candles", H) == [(0, 2 * H)]
        assert store.upsert_candles([], venue=VENUE, market="X", resolution_s=H,
                                    covering=(5 * H, 9 * H)) == 0  # fetched, nothing there
        assert store.coverage(VENUE, "X", "candles", H) == [(0, 2 * H), (5 * H, 9 * H)]


def test_status_tells_stored_from_source_empty_from_missing_and_sync_reads_coverage():
    with FlintStore(":memory:") as store:
        rows = [Candle(t * H, 1.0, 2.0, 0.5, 1.0, 1.0, "X", H, VENUE) for t in (0, 1, 5, 6)]
        store.upsert_candles(rows[:2], venue=VENUE, market="X", resolution_s=H,
                             covering=(0, 4 * H))
        store.upsert_candles(rows[2:], venue=VENUE, market="X", resolution_s=H)  # imported
        status = store.coverage_status(VENUE, "X", "candles", 0, 8 * H, H)
        assert status == [
            CoverageSpan("stored", 0, 2 * H, 2), CoverageSpan("source_empty", 2 * H, 4 * H, 2),
            CoverageSpan("missing", 4 * H, 5 * H, 1), CoverageSpan("stored", 5 * H, 7 * H, 2),
            CoverageSpan("missing", 7 * H, 8 * H, 1),
        ]
        assert store.is_range_synced("X", H, 0, 3 * H)  # fetched: bars 2, 3 are not at the venue
        assert not store.is_range_synced("X", H, 0, 4 * H, min_coverage=0.99)
        fresh = store.get_data_freshness(now=10 * H)
        assert [(f["last_ts"], f["fetched_until"]) for f in fresh] == [(6 * H, 4 * H)]
        store.record_coverage(VENUE, "Y", "funding", 0, H)
        status = store.coverage_status(VENUE, "Y", "funding", 0, 2 * H)
        assert status == [CoverageSpan("source_empty", 0, H), CoverageSpan("missing", H, 2 * H)]
        assert {(f["market"], f["last_ts"], f["fetched_until"])
                for f in store.get_data_freshness()} == {("X", 6 * H, 4 * H), ("Y", None, H)}


def test_a_version_1_store_is_migrated_to_hold_coverage(tmp_path):
    import duckdb

    from flint.store import schema

    path = tmp_path / "v1.duckdb"
    conn = duckdb.connect(str(path))
    schema.migrate(conn, schema.MIGRATIONS[:1])
    conn.execute("INSERT INTO funding_rates VALUES ('v', 'X', 0, 0.001, 3600, 0, 0, 0)")
    conn.close()
    with FlintStore(path) as store:
        assert store.coverage("v", "X", "funding") == []
        store.record_coverage("v", "X", "funding", 0, 1)
        assert store.query_funding_rates("X")[0].rate == 0.001


# Observed funding intervals


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=0, max_size=6))
def test_observed_intervals_do_not_depend_on_how_the_series_was_written(cuts):
    times = funding()
    rates = [FundingRate("X", int(t), 1e-5, source=VENUE, interval_s=H) for t in times]
    bounds = [0, *sorted({c * len(rates) // 61 for c in cuts}), len(rates)]
    with FlintStore(":memory:") as store:
        for a, b in itertools.pairwise(bounds):
            if a < b:
                store.upsert_funding_rates(rates[a:b], observe_intervals=True)
        stored = [r.interval_s for r in store.query_funding_rates("X")]
    assert stored == funding_intervals(times).tolist()
    assert stored[:8] == [8 * H] * 8 and stored[-1] == H


# Downloading


def test_download_stores_every_page_with_its_coverage_and_a_second_run_asks_nothing():
    venue = PagedVenue(bars(), funding())
    with FlintStore(":memory:") as store:
        outcome = download(store, venue, CANDLES, 90 * H, None, now=lambda: 400 * H)
        assert outcome.rows == len(bars()) and outcome.pages == venue.answers
        assert candles_of(store)[0] == bars().tolist()
        assert store.coverage(VENUE, "SOL-PERP", "candles", H) == [(90 * H, 400 * H)]
        spans = store.coverage_status(VENUE, "SOL-PERP", "candles", 90 * H, 300 * H, H)
        assert [(s.status, s.bars) for s in spans] == [
            ("source_empty", 10), ("stored", 50), ("source_empty", 10), ("stored", 140)]
        answers = venue.answers
        again = download(store, venue, CANDLES, 90 * H, None, now=lambda: 400 * H)
        assert (again.rows, again.pages, venue.answers) == (0, 0, answers)


def test_only_closed_candles_are_stored():
    venue = PagedVenue(np.arange(0, 100 * H, H), [])
    with FlintStore(":memory:") as store:
        now = 50 * H + 1234  # bar 50 is forming
        download(store, venue, CANDLES, 0, None, now=lambda: now)
        assert candles_of(store)[0][-1] == 49 * H
        assert store.coverage(VENUE, "SOL-PERP", "candles", H) == [(0, 50 * H)]
        assert fetchable_end(CANDLES, now) == 50 * H
        download(store, venue, CANDLES, 0, None, now=lambda: 52 * H)
        assert candles_of(store)[0][-1] == 51 * H


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(40, 320), max_size=5), st.integers(3, 40))
def test_any_split_into_download_calls_stores_what_one_call_stores(cuts, page):
    def run(bounds):
        venue = PagedVenue(bars(), funding(), page=page)
        with FlintStore(":memory:") as store:
            for a, b in itertools.pairwise(bounds):
                for series in (CANDLES, FUNDING):
                    download(store, venue, series, a, b, now=lambda: 400 * H)
            return candles_of(store), funding_of(store), store.coverage_summary()

    whole = run([40 * H, 320 * H])
    split = run([40 * H, *sorted(c * H for c in cuts), 320 * H])
    assert split[:2] == whole[:2]
    assert split[2] == whole[2]  # ends as one fetched span per series


def test_an_interrupted_download_resumes_where_it_stopped():
    with FlintStore(":memory:") as store:
        broken = PagedVenue(bars(), funding(), fail_after=5)
        with pytest.raises(TransientVenueError):
            download(store, broken, CANDLES, 90 * H, None, now=lambda: 400 * H)
        assert len(candles_of(store)[0]) == 5 * 7  # five pages kept, with their coverage
        venue = PagedVenue(bars(), funding())
        download(store, venue, CANDLES, 90 * H, None, now=lambda: 400 * H)
        assert candles_of(store)[0] == bars().tolist()
        fresh = PagedVenue(bars(), funding())
        with FlintStore(":memory:") as other:
            download(other, fresh, CANDLES, 90 * H, None, now=lambda: 400 * H)
            assert candles_of(other) == candles_of(store)
        assert venue.answers == fresh.answers - 5  # resumed after the five pages kept


def test_history_the_venue_lacks_is_reported_and_the_rest_downloaded():
    venue = PagedVenue(bars(), funding(), earliest=200 * H)
    with FlintStore(":memory:") as store:
        outcome = download(store, venue, CANDLES, 90 * H, None, now=lambda: 400 * H)
        assert outcome.unavailable is not None and outcome.unavailable.earliest_ts == 200 * H
        assert "not all of it is available" in outcome.note
        assert candles_of(store)[0] == [t for t in bars().tolist() if t >= 200 * H]
        assert store.coverage(VENUE, "SOL-PERP", "candles", H) == [(200 * H, 400 * H)]


def test_default_start_and_periods():
    with FlintStore(":memory:") as store:
        assert default_start(store, CANDLES, 1000 * H, 30 * H) == 970 * H
        store.record_coverage(VENUE, "SOL-PERP", "candles", 5 * H, 9 * H, H)
        assert default_start(store, CANDLES, 1000 * H, 30 * H) == 5 * H
    assert period_seconds("30d") == 30 * 86400 and period_seconds("12h") == 12 * H
    assert period_seconds("1y") == 365 * 86400
    with pytest.raises(ValueError, match="not a period"):
        period_seconds("soon")
    with pytest.raises(ValueError, match="a resolution is given for candles"):
        Series(VENUE, "X", "funding", H)
