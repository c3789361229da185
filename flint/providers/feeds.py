"""Live feeds: closed candles as they happen, with no gap and no duplicate.

A venue's live feed (a websocket, or REST polling) pushes the latest state of the
bar that is forming. :class:`ClosedBars` turns those updates into a sequence of
closed bars: a bar is closed when the next one starts; a bar older than the last
one handed over is dropped (no duplicate); bars missed while disconnected, or
skipped by the stream, are fetched through ``backfill`` (usually the venue's REST
provider) before the next one is handed over (no gap). :class:`Backoff` spaces
reconnections. Venue plugins build their feeds on these two.
"""

import random
import time
from collections.abc import Callable, Sequence

from flint_core.records import Candle

#: ``backfill(first_ts, last_ts)``: the venue's closed candles with open times in the
#: inclusive range, ascending.
Backfill = Callable[[int, int], Sequence[Candle]]


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
