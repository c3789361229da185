"""Testing live feeds: waiting for a condition, collecting what a feed hands over, and
the contract of a REST-polled candle feed run against a venue's fake server.

    class TestMyFeed(PollingFeedContract):
        market = "SOL-PERP"

        @pytest.fixture(autouse=True)
        def _fake(self, fake_data):
            with MyFake.from_data(fake_data, forming=True) as fake:
                self.fake = fake
                yield

        def make_provider(self):
            return MyProvider(self.fake.url, rate_limit=False, retry=FAST_RETRY)  # .venues

        def bars(self):
            return [(ts, close), ...]   # the venue's bars, as its data files hold them

The fake must be a :class:`flint.testing.fakes.FakeVenueServer` with a writable ``now``
(nothing later is served) and a writable ``forming`` (the bar holding ``now`` is served
too, as venues do).
"""

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from flint.providers.feeds import Backoff, PollingCandleFeed
from flint.testing.fakes import Fault
from flint_core.records import Candle


def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for ``condition()`` to turn true; ``AssertionError`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


class Received:
    """An ``on_candle`` that keeps what a feed hands over (thread-safe)."""

    def __init__(self) -> None:
        self.candles: list[Candle] = []
        self._lock = threading.Lock()

    def __call__(self, candle: Candle) -> None:
        with self._lock:
            self.candles.append(candle)

    def ts(self) -> list[int]:
        """Open times received, in order."""
        with self._lock:
            return [c.ts for c in self.candles]


class PollingFeedContract:
    """A provider's :class:`~flint.providers.feeds.PollingCandleFeed` hands over each closed
    bar once, in order, with the venue's final values, through 5xx answers, 429s, dropped
    connections and a venue that stops publishing (see the module doc)."""

    market: ClassVar[str] = "SOL-PERP"
    resolution_s: ClassVar[int] = 3600
    fake: Any

    def make_provider(self) -> Any:
        """A provider pointed at ``self.fake`` (quick retries:
        :data:`flint.testing.venues.FAST_RETRY`)."""
        raise NotImplementedError

    def bars(self) -> list[tuple[int, float]]:
        """``(open time, close)`` of the bars the fake serves for ``market``."""
        raise NotImplementedError

    def test_provider_polls_for_live_candles(self) -> None:
        provider = self.make_provider()
        feed = provider.candle_feed(self.market, self.resolution_s, Received(), last_ts=0)
        assert isinstance(feed, PollingCandleFeed)
        provider.close()

    def test_closed_bars_arrive_once_in_order_through_faults(self) -> None:
        rows = self.bars()
        bars, closes = [t for t, _ in rows], dict(rows)
        i, fake, res = 200, self.fake, self.resolution_s
        fake.forming = True
        fake.now = bars[i] + res // 2  # bar i is forming
        clock = {"now": fake.now}

        def at(ts: float) -> None:  # the venue's and flint's clocks move on
            fake.now = clock["now"] = ts

        received = Received()
        provider = self.make_provider()
        feed = PollingCandleFeed(provider, self.market, res, received, last_ts=bars[i - 5],
                                 grace_s=0.0, retry_s=0.02, watchdog_s=0.3,
                                 backoff=Backoff(0.02, 0.1), clock=lambda: clock["now"])
        feed.start()
        try:
            until(lambda: received.ts() == bars[i - 4:i])  # closed before the start
            fake.inject(Fault.status_code(503, times=8))  # more than the provider retries
            at(bars[i + 2] + 60)
            until(lambda: received.ts()[-1:] == [bars[i + 1]])
            fake.inject(Fault.status_code(429, retry_after=0.05, times=2))
            at(bars[i + 3] + 60)
            until(lambda: received.ts()[-1:] == [bars[i + 2]])
            fake.inject(Fault.drop(times=4))
            at(bars[i + 4] + 60)
            until(lambda: received.ts()[-1:] == [bars[i + 3]])

            fake.forming = False  # the venue stops publishing: nothing after bar i + 3
            clock["now"] = bars[i + 6] + 60
            until(lambda: feed.connections >= 2)  # the watchdog reconnected
            at(bars[i + 6] + 60)  # the venue publishes again
            until(lambda: received.ts()[-1:] == [bars[i + 5]])
        finally:
            feed.stop()
            provider.close()
        assert received.ts() == bars[i - 4:i + 6]  # no gap, no duplicate, none forming
        assert [c.close for c in received.candles] == [closes[t] for t in bars[i - 4:i + 6]]
        assert {c.market for c in received.candles} == {self.market}
