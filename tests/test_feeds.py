"""ClosedBars: whatever the stream does, the consumer sees each closed bar once, in order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from flint.models import Candle
from flint.providers.feeds import Backoff, ClosedBars

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
