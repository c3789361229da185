"""Live feeds: closed candles as they happen, with no gap and no duplicate.

A venue's live feed (a websocket, or REST polling) pushes the latest state of the
bar that is forming. :class:`ClosedBars` turns those updates into a sequence of
closed bars: a bar is closed when the next one starts; a bar older than the last
one handed over is dropped (no duplicate); bars missed while disconnected, or
skipped by the stream, are fetched through ``backfill`` (usually the venue's REST
provider) before the next one is handed over (no gap). :class:`Backoff` spaces
reconnections. :class:`BackgroundFeed` runs a feed's loop in a thread. Venue plugins
build their streaming feeds on these; :class:`PollingCandleFeed` is the feed of a venue
polled over REST (the default of ``DataProvider.candle_feed``).
"""

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flint.providers.errors import VenueError
from flint_core.records import Candle

log = logging.getLogger("flint.providers.feeds")

#: ``backfill(first_ts, last_ts)``: the venue's closed candles with open times in the
#: inclusive range, ascending.
Backfill = Callable[[int, int], Sequence[Candle]]


class PollingSource(Protocol):
    """What :class:`PollingCandleFeed` needs of a provider."""

    def fetch_candles(self, market: str, resolution_s: int, start_ts: int,
                      end_ts: int) -> Sequence[Candle]: ...

    def close(self) -> None: ...


class ClosedBars:
    """Closed candles of one series, in order, each exactly once.

    ``last_ts`` is the open time of the last bar the consumer already has (e.g. the
    last stored one), so a restarted feed resumes after it.
    """

    def __init__(self, resolution_s: int, backfill: Backfill, emit: Callable[[Candle], None],
                 last_ts: int | None = None) -> None:
        self.resolution_s = resolution_s
        self.backfill = backfill
        self.emit = emit
        self.last_ts = last_ts
        self.forming: Candle | None = None

    def update(self, candle: Candle) -> None:
        """The venue's latest state of a bar; a newer bar closes the forming one."""
        if self.last_ts is not None and candle.ts <= self.last_ts:
            return  # a late update of a bar already handed over
        if self.forming is not None and candle.ts < self.forming.ts:
            return  # a late update of a bar already closed
        if self.forming is not None and candle.ts > self.forming.ts:
            self.close(self.forming)
        self.forming = candle

    def close(self, candle: Candle) -> None:
        """Hand ``candle`` over as closed, after any bars missing before it."""
        if self.last_ts is not None and candle.ts <= self.last_ts:
            return
        if self.last_ts is not None and candle.ts > self.last_ts + self.resolution_s:
            self._fill(self.last_ts + self.resolution_s, candle.ts - self.resolution_s)
        self.emit(candle)
        self.last_ts = candle.ts

    def catch_up(self, now: float) -> None:
        """After a reconnection: hand over, from ``backfill``, every bar closed by ``now``
        since the last one; the forming bar is forgotten (updates may have been lost)."""
        self.forming = None
        if self.last_ts is None:
            return
        res = self.resolution_s
        last_closed = int(now) // res * res - res
        if last_closed > self.last_ts:
            self._fill(self.last_ts + res, last_closed)

    def _fill(self, first_ts: int, last_ts: int) -> None:
        for candle in self.backfill(first_ts, last_ts):
            if self.last_ts is None or candle.ts > self.last_ts:
                self.emit(candle)
                self.last_ts = candle.ts


class Backoff:
    """Delays between reconnections: ``first_s`` doubling up to ``max_s`` (with 10 %
    jitter); :meth:`reset` after a connection that worked."""

    def __init__(self, first_s: float = 1.0, max_s: float = 60.0) -> None:
        self.first_s, self.max_s = first_s, max_s
        self.attempt = 0

    def next(self) -> float:
        """The delay before the next try."""
        self.attempt += 1
        delay = min(self.max_s, self.first_s * 2 ** (self.attempt - 1))
        return delay * (1 + 0.1 * random.random())

    def reset(self) -> None:
        """The connection worked: start again from ``first_s``."""
        self.attempt = 0


def wait(seconds: float, stop: Callable[[], bool], step_s: float = 0.05) -> None:
    """Sleep ``seconds``, waking early when ``stop()`` turns true."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(step_s, max(0.0, deadline - time.monotonic())))


class BackgroundFeed:
    """A feed whose :meth:`run` loop runs in a daemon thread from :meth:`start` until
    :meth:`stop` (the loop checks :attr:`stopping`).

    Venue errors are the loop's to retry; anything else that escapes :meth:`run` (a
    bug, a store that refuses a write) ends the thread, is logged with its traceback
    and kept in :attr:`error`, so whoever runs the feed can stop instead of waiting
    for bars that will never come.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: What ended the loop, when it was not :meth:`stop`.
        self.error: Exception | None = None

    def run(self) -> None:
        """The feed's loop (blocking), until :attr:`stopping`."""
        raise NotImplementedError

    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def start(self) -> Any:
        """Run in a background thread; returns self."""
        self._thread = threading.Thread(target=self._run_guarded, name=f"feed-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def _run_guarded(self) -> None:
        try:
            self.run()
        except Exception as exc:  # the thread's last word: kept for the feed's owner
            self.error = exc
            log.exception("feed %s stopped by an error", self.name)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


class PollingCandleFeed(BackgroundFeed):
    """Closed candles of one market by polling a venue's REST candles (for venues without a
    candle stream, or whose stream flint does not speak).

    A bar is asked for once it has closed by ``clock`` (plus ``grace_s``, for the venue to
    publish it and for clock skew), so the forming bar is never requested; each bar goes
    through :class:`ClosedBars` (no gap, no duplicate). A poll with nothing due sends no
    request; while the venue has not published a closed bar yet, the feed asks again every
    ``retry_s``. A poll that fails (the provider's own retries spent: 5xx, 429, dropped
    connections, timeouts) is tried again after :class:`Backoff`, and the next poll that
    works fetches every bar missed. The watchdog: a venue that brings no closed bar it
    owes for ``watchdog_s`` (a silent venue) gets its connections closed and opened again
    (``connections`` counts them).
    """

    def __init__(
        self,
        provider: PollingSource,
        market: str,
        resolution_s: int,
        on_candle: Callable[[Candle], None],
        *,
        last_ts: int | None = None,
        grace_s: float = 2.0,
        retry_s: float = 2.0,
        watchdog_s: float | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(market)
        self.provider = provider
        self.market = market
        self.resolution_s = resolution_s
        self.grace_s, self.retry_s = grace_s, retry_s
        self.watchdog_s = watchdog_s if watchdog_s is not None else max(30.0, 4 * retry_s)
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.bars = ClosedBars(resolution_s, self._backfill, on_candle, last_ts)
        self.connections = 1
        self._heard = time.monotonic()

    def _backfill(self, first_ts: int, last_ts: int) -> Sequence[Candle]:
        return list(self.provider.fetch_candles(self.market, self.resolution_s, first_ts,
                                                last_ts))

    def poll(self) -> float:
        """Fetch the bars closed since the last one; return the seconds to wait before the
        next poll."""
        now, res = self.clock(), self.resolution_s
        if self.bars.last_ts is None:  # a new feed starts with the next bar to close
            self.bars.last_ts = int(now - self.grace_s) // res * res - res
        before = self.bars.last_ts
        self.bars.catch_up(now - self.grace_s)
        next_close = self.bars.last_ts + 2 * res + self.grace_s
        if next_close > now or self.bars.last_ts != before:  # caught up, or progress
            self._heard = time.monotonic()
        if next_close > now:  # wait for the next close
            return min(self.retry_s, next_close - now)
        if time.monotonic() - self._heard > self.watchdog_s:
            log.warning("%s %ds: the venue still lacks the bar closed at %d: reconnecting",
                        self.market, self.resolution_s, next_close - self.grace_s)
            self.provider.close()
            self.connections += 1
            self._heard = time.monotonic()
        return self.retry_s

    def run(self) -> None:
        """Poll until :meth:`stop` (blocking)."""
        while not self.stopping():
            try:
                delay = self.poll()
                self.backoff.reset()
            except VenueError as exc:
                log.warning("%s %ds feed: %s", self.market, self.resolution_s, exc)
                delay = self.backoff.next()
            wait(delay, self.stopping)
