"""What talking to a venue can go wrong with, in words every provider shares.

Each provider turns its client library's exceptions into these, so the retry
policy (:mod:`flint.providers.transport`), the downloader and the ``flint``
command treat every venue alike.
"""

import time


def utc(ts: float) -> str:
    """``YYYY-MM-DD HH:MM UTC`` of unix seconds."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


class VenueError(Exception):
    """A venue did not give what was asked; ``endpoint`` is the URL involved."""

    def __init__(self, message: str, *, venue: str = "", endpoint: str = "") -> None:
        super().__init__(message)
        self.venue = venue
        self.endpoint = endpoint


class VenueUnreachable(VenueError):
    """No connection could be made (refused, no route, no name resolution, connect timeout)."""


class TransientVenueError(VenueError):
    """Worth retrying: a 5xx answer, a read timeout, a dropped connection, a garbled body."""


class RateLimited(TransientVenueError):
    """HTTP 429: the venue asks to wait ``retry_after_s`` seconds (None: it did not say)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, venue: str = "",
                 endpoint: str = "") -> None:
        super().__init__(message, venue=venue, endpoint=endpoint)
        self.retry_after_s = retry_after_s


class VenueBanned(RateLimited):
    """HTTP 418 (or the venue's equivalent): this client is banned for a while."""


class VenueRejected(VenueError):
    """The venue refused the request itself (a 4xx other than 429/418): retrying cannot help."""


class RetriesExhausted(VenueError):
    """A request kept failing with transient errors until the retry budget ran out."""


class UnknownMarket(VenueError, ValueError):
    """The venue has no such market; the message lists the markets it has."""

    def __init__(self, market: str, known: list[str], *, venue: str = "") -> None:
        shown = ", ".join(known[:60]) + (f", ... ({len(known)} in all)" if len(known) > 60 else "")
        super().__init__(
            f"{venue} has no market '{market}'; its markets: {shown or 'none'}", venue=venue
        )
        self.market = market
        self.known = known


class HistoryUnavailable(VenueError):
    """Part of the range is older than anything the venue serves; ``earliest_ts`` is the
    first time it can give (nothing is truncated silently)."""

    def __init__(self, message: str, *, earliest_ts: int, venue: str = "",
                 endpoint: str = "") -> None:
        super().__init__(
            f"{message}: the earliest available time is {utc(earliest_ts)} ({earliest_ts})",
            venue=venue, endpoint=endpoint,
        )
        self.earliest_ts = earliest_ts
