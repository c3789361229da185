"""ClosedBars: whatever the stream does, the consumer sees each closed bar once, in order."""

import email.utils
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.models import Candle
from flint.providers.base import DataProvider
from flint.providers.feeds import BackgroundFeed, Backoff, ClosedBars, PollingCandleFeed
from flint.providers.transport import retry_after_s

H = 3600


def bar(ts, close=100.0):
    return Candle(ts, close, close + 1, close - 1, close, 1.0, "X", H, "v")


def venue_bars(first, last):
    return [bar(t) for t in range(first, last + 1, H)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("update"), st.integers(0, 40), st.floats(1, 1000)),
    st.tuples(st.just("reconnect"), st.integers(0, 40), st.just(0.0)),
), max_size=60))
def test_closed_bars_have_no_gap_and_no_duplicate(events):
    seen = []
    bars = ClosedBars(H, venue_bars, seen.append, last_ts=0)
    clock = 0
    for kind, hour, close in events:
        clock = max(clock, hour)
        if kind == "update":  # the stream shows bar `hour` (possibly late, possibly skipping)
            bars.update(bar(hour * H, close))
        else:  # reconnected at `clock` (+ half an hour): bars closed by then from REST
            bars.catch_up(clock * H + 1800)
    ts = [c.ts for c in seen]
    assert ts == list(range(H, H * (len(ts) + 1), H))  # contiguous after last_ts, once each
    assert bars.forming is None or not ts or bars.forming.ts > ts[-1]


def test_a_closed_bar_keeps_the_last_state_the_stream_showed():
    seen = []
    bars = ClosedBars(H, venue_bars, seen.append)
    bars.update(bar(0, 1.0))
    bars.update(bar(0, 2.0))
    bars.update(bar(H, 3.0))
    assert [(c.ts, c.close) for c in seen] == [(0, 2.0)]
    bars.update(bar(4 * H, 5.0))  # the stream skipped bars 2 and 3: fetched before bar 4
    bars.update(bar(5 * H, 6.0))
    assert [c.ts for c in seen] == [0, H, 2 * H, 3 * H, 4 * H]


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, (1, 2, 4, 8, 8, 8), strict=True):
        assert base <= delay <= 1.1 * base
    backoff.reset()
    assert backoff.next() < 1.2


class Hourly(DataProvider):
    """A venue whose bars exist up to ``published`` (open time), asked through fetch_candles."""

    name = "hourly"
    capabilities = frozenset({"candles"})

    def __init__(self):
        self.published, self.asked, self.closed = 0, [], 0

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, **_):
        self.asked.append((start_ts, end_ts))
        return venue_bars(start_ts, min(end_ts, self.published))

    def fetch_funding(self, market, start_ts, end_ts, **_):
        return []

    def close(self):
        self.closed += 1


def test_the_default_live_feed_polls_closed_bars_only():
    venue, seen, clock = Hourly(), [], {"now": 10 * H + 600}
    venue.published = 10 * H  # the forming bar is published too
    feed = venue.candle_feed("X", H, seen.append)
    assert isinstance(feed, PollingCandleFeed)
    feed.clock, feed.watchdog_s = (lambda: clock["now"]), 3600.0
    assert feed.poll() == feed.retry_s and venue.asked == [] and seen == []  # starts after 9h
    clock["now"] = 12 * H + 5  # bars 10 and 11 closed, 12 forming
    venue.published = 12 * H
    feed.poll()
    assert [c.ts for c in seen] == [10 * H, 11 * H] and venue.asked == [(10 * H, 11 * H)]
    feed.poll()  # nothing new closed: no request
    assert len(venue.asked) == 1


def test_the_polling_watchdog_reconnects_a_venue_that_stops_publishing():
    venue, seen = Hourly(), []
    venue.published = 3 * H
    feed = PollingCandleFeed(venue, "X", H, seen.append, last_ts=2 * H, grace_s=0,
                             watchdog_s=0.05, clock=lambda: 6 * H)
    feed.poll()  # bar 3 arrives; 4 and 5 are missing
    assert [c.ts for c in seen] == [3 * H] and venue.closed == 0
    feed.poll()  # no progress, but not for long yet
    assert venue.closed == 0
    time.sleep(0.1)
    feed.poll()
    assert venue.closed == 1 and feed.connections == 2
    venue.published = 5 * H
    feed.poll()
    assert [c.ts for c in seen] == [3 * H, 4 * H, 5 * H]


@pytest.mark.parametrize("headers, seconds", [
    ({"Retry-After": "7"}, 7.0), ({"retry-after": "0.5"}, 0.5), ({}, None),
    ({"Retry-After": "soon"}, None), (None, None), ({"RETRY-AFTER": "-3"}, 0.0),
])
def test_retry_after_headers(headers, seconds):
    assert retry_after_s(headers) == seconds


def test_retry_after_as_an_http_date():
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_s({"Retry-After": later}) <= 30


class Broken(BackgroundFeed):
    """A feed whose loop fails the way a bug or a refused store write would."""

    def run(self):
        raise RuntimeError("disk full")


def test_a_feed_that_dies_keeps_its_error_and_collect_stops_on_it(caplog):
    import click

    from flint.cli.data import _wait_watching

    feed = Broken("SOL-PERP").start()
    feed.stop()
    assert isinstance(feed.error, RuntimeError)
    assert "feed SOL-PERP stopped" in caplog.text and "disk full" in caplog.text
    with pytest.raises(click.ClickException, match="SOL-PERP feed stopped: RuntimeError: disk"):
        _wait_watching([feed], 30)


def test_a_stopped_feed_has_no_error():
    feed = PollingCandleFeed(Hourly(), "X", H, lambda c: None, clock=lambda: 0.0).start()
    feed.stop()
    assert feed.error is None


def test_a_venue_error_in_a_funding_round_is_reported_and_collect_goes_on(tmp_path):
    from rich.console import Console

    from flint.cli.data import _collect_round
    from flint.providers.download import Series
    from flint.providers.errors import VenueRejected
    from flint.store import FlintStore

    class FundingDown(Hourly):
        capabilities = frozenset({"candles", "funding"})

        def fetch_funding(self, market, start_ts, end_ts, **_):
            raise VenueRejected("HTTP 503 from the funding endpoint")

    console = Console(record=True, width=200)
    with FlintStore(tmp_path / "s.duckdb") as store:
        _collect_round(store, FundingDown(), Series("v", "X", "funding"), console)
        assert store.query_funding_by_venue("X") == {}
    assert "HTTP 503 from the funding endpoint; trying again next round" in console.export_text()
