"""Where a paper session's bars come from, and its clock.

:class:`ProviderFeed` polls a data provider (any venue's, or the ``file`` provider)
for the bars that have closed since the last one the session has, and for the
funding settled meanwhile. Polling the provider also covers a restart: the bars
missed while the session was down are simply the next ones asked for, so they are
replayed, never skipped.

:class:`SessionClock` is wall time, or wall time sped up from a start in the past
(``speed``) to replay a stored period as if it were live (demos, tests). The
sped-up clock is anchored to the wall time the session was created at, so after a
restart it has moved on as far as the wall clock has (times ``speed``).
"""

import time
from collections.abc import Callable
from typing import Any

import attrs

from flint_core.records import Candle, FundingRate


@attrs.frozen
class SessionClock:
    """``origin_ts + (time.time() - wall0) * speed``; wall time when ``speed`` is 1 and
    ``origin_ts`` is ``wall0``."""

    origin_ts: float
    wall0: float
    speed: float = 1.0

    def __call__(self) -> float:
        return self.origin_ts + (time.time() - self.wall0) * self.speed

    @classmethod
    def wall(cls) -> "SessionClock":
        now = time.time()
        return cls(now, now, 1.0)


class ProviderFeed:
    """Closed bars of ``market`` at ``resolution_s`` from ``provider`` (a
    :class:`~flint.providers.base.DataProvider`) as ``clock`` makes them close."""

    def __init__(self, provider: Any, market: str, resolution_s: int, *, venue: str | None = None,
                 clock: Callable[[], float] = time.time, funding: bool = True) -> None:
        self.provider = provider
        self.market = market
        self.resolution_s = int(resolution_s)
        self.venue = venue
        self.clock = clock
        self.funding = funding
        self.polls = 0
        self.errors = 0
        self.last_error = ""

    def closed_bars(self, after_ts: int) -> list[Candle]:
        """Bars opened after ``after_ts`` that have closed by now, oldest first."""
        self.polls += 1
        res = self.resolution_s
        last = int(self.clock()) // res * res - res  # the newest bar closed by now
        if last <= after_ts:
            return []
        found = self.provider.fetch_candles(self.market, res, after_ts + res, last,
                                            venue=self.venue)
        return [c for c in found if after_ts < c.ts <= last]

    def settlements(self, after_ts: int, until_ts: int) -> list[FundingRate]:
        """Funding settled in ``(after_ts, until_ts]`` on the feed's venue."""
        if not self.funding or until_ts <= after_ts:
            return []
        try:
            found = self.provider.fetch_funding(self.market, after_ts + 1, until_ts,
                                                venue=self.venue)
        except NotImplementedError:
            return []
        return sorted((r for r in found if after_ts < r.ts <= until_ts
                       and (self.venue is None or r.source == self.venue)), key=lambda r: r.ts)
