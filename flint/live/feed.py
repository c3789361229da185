"""Where a live session's bars come from: each venue's own closed bars and funding.

:class:`VenueFeeds` polls one :class:`~flint.paper.feed.ProviderFeed` per venue and
hands the session a :class:`VenueBars` per bar time once every venue's bar of that
time has closed (the first venue's bar is the strategy's ``candle``; each venue is
marked from its own). Funding is every venue's settlements, oldest first. It answers
the same calls as a ``ProviderFeed`` (``closed_bars``, ``settlements`` and the
``polls`` / ``errors`` / ``last_error`` health), so the paper loop drives it.

A venue's error (:class:`flint.providers.errors.VenueError`,
:class:`flint.live.adapter.VenueError`, a network ``OSError``) is passing: it is
raised, the loop counts it and polls again. Anything else is a broken feed that polling
again will not mend: it is kept in :attr:`VenueFeeds.failure`, told to ``on_failure``
(the session stops on it) and raised.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

import attrs

from flint.live.adapter import VenueError as AdapterError
from flint.paper.feed import ProviderFeed
from flint.providers.errors import VenueError
from flint_core.records import Candle, FundingRate


@attrs.frozen
class VenueBars:
    """The closed bars of one bar time, by venue (the first venue's first)."""

    candles: dict[str, Candle]

    @property
    def primary(self) -> Candle:
        return next(iter(self.candles.values()))

    @property
    def ts(self) -> int:
        return self.primary.ts


#: Errors a venue's feed recovers from by polling again.
PASSING = (VenueError, AdapterError, OSError)
T = TypeVar("T")


class VenueFeeds:
    """Bars of every venue of ``feeds`` (``{venue: ProviderFeed}``, the first gives
    the strategy's candle), aligned by bar time (see the module doc);
    ``on_failure(message)`` hears of a broken feed."""

    def __init__(self, feeds: Mapping[str, ProviderFeed],
                 on_failure: Callable[[str], None] | None = None) -> None:
        if not feeds:
            raise ValueError("VenueFeeds needs at least one venue's feed")
        self.feeds = dict(feeds)
        self.on_failure = on_failure
        self._waiting: dict[str, dict[int, Candle]] = {venue: {} for venue in self.feeds}
        self.errors = 0
        self.last_error = ""
        #: What broke a feed ("" while none is broken).
        self.failure = ""

    def _ask(self, venue: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except PASSING:
            raise
        except Exception as exc:
            self.failure = f"the {venue} feed failed: {type(exc).__name__}: {exc}"
            if self.on_failure is not None:
                self.on_failure(self.failure)
            raise

    @property
    def polls(self) -> int:
        return max(feed.polls for feed in self.feeds.values())

    def closed_bars(self, after_ts: int) -> list[VenueBars]:
        """Bar times after ``after_ts`` every venue has closed, oldest first (a venue's
        bar that came early waits for the others'; a venue that skipped a bar time, as
        its later bars show, is left out of it)."""
        for venue, feed in self.feeds.items():
            waiting = self._waiting[venue]
            known = max(waiting, default=after_ts)
            after = max(known, after_ts)
            for candle in self._ask(venue, lambda f=feed, a=after: f.closed_bars(a)):
                waiting[candle.ts] = candle
        primary, *others = self.feeds
        out = []
        for ts in sorted(t for t in self._waiting[primary] if t > after_ts):
            if not all(ts in self._waiting[v] or max(self._waiting[v], default=0) > ts
                       for v in others):
                break  # another venue's bar of ts may still come
            out.append(VenueBars({venue: self._waiting[venue].pop(ts)
                                  for venue in self.feeds if ts in self._waiting[venue]}))
        for waiting in self._waiting.values():  # forget bars no longer ahead
            for ts in [t for t in waiting if t <= after_ts]:
                del waiting[ts]
        return out

    def settlements(self, after_ts: int, until_ts: int) -> list[FundingRate]:
        """Funding of every venue settled in ``(after_ts, until_ts]``, oldest first."""
        found = [r for venue, feed in self.feeds.items()
                 for r in self._ask(venue, lambda f=feed: f.settlements(after_ts, until_ts))]
        return sorted(found, key=lambda r: (r.ts, r.source))
