"""Calling a venue politely: one shared rate limiter per venue, bounded retries.

Library-agnostic: a provider wraps each request in a function that raises the
errors of :mod:`flint.providers.errors` (translated from its client library), and
:meth:`Retrier.call` runs it under the venue's :class:`RateLimiter`:

- ``TransientVenueError`` (5xx, read timeout, dropped connection, garbled body):
  retried with exponential backoff, at most ``RetryPolicy.attempts`` tries;
- ``RateLimited`` (429): the whole venue waits ``Retry-After`` (or the backoff),
  then the request is tried again (also within ``attempts``);
- ``VenueBanned`` (418): the venue is paused for ``Retry-After`` (default
  ``ban_pause_s``); a pause longer than ``max_ban_wait_s`` is raised at once;
- ``VenueUnreachable`` (refused, no network): tried again only while the time
  since the first failure stays under ``offline_after_s``, so being offline ends
  in seconds with one line naming the endpoint;
- anything else (``VenueRejected``, ``UnknownMarket``, ...) is raised unchanged.

:func:`asked_again_if_empty` is the other half of being careful with a venue: an answer
that says "nothing here" is asked for once more before it is believed.
"""

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from flint.providers.errors import (
    RateLimited,
    RetriesExhausted,
    TransientVenueError,
    VenueBanned,
    VenueUnreachable,
)

T = TypeVar("T")


def retry_after_s(headers: Any) -> float | None:
    """Seconds of the ``Retry-After`` header (seconds or an HTTP date) among ``headers`` (any
    mapping, names in any case); None if absent or unreadable."""
    if not isinstance(headers, Mapping):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def asked_again_if_empty(request: Callable[[], T], empty: Callable[[T], bool] = lambda a: not a
                         ) -> T:
    """``request()``'s answer, asked for a second time when ``empty(answer)`` (by default:
    it holds nothing). A venue that wrongly answers "nothing" where it has rows must not
    leave a hole the store would record as covered."""
    answer = request()
    if empty(answer):
        answer = request()
    return answer


class RateLimiter:
    """A token bucket of ``capacity`` weight refilled over ``period_s`` seconds.

    :meth:`acquire` blocks until a request's weight is available; :meth:`charge`
    adds weight learnt from a response (e.g. per item returned) and may take the
    bucket below zero; :meth:`pause` stops every caller until a moment (a 429's
    Retry-After, a ban). ``capacity=None`` never waits (rate limiting off), but
    pauses still apply. Thread-safe; one instance per venue is shared through
    :func:`venue_limiter`.
    """

    def __init__(
        self,
        capacity: float | None,
        period_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = capacity
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity or 0.0
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if self.capacity is not None:
            rate = self.capacity / self.period_s
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * rate)
        self._updated = now

    def _wait_s(self, weight: float, now: float) -> float:
        """Seconds until ``weight`` may be spent (0: now); takes it when 0."""
        if now < self._paused_until:
            return self._paused_until - now
        if self.capacity is None:
            return 0.0
        self._refill(now)
        weight = min(weight, self.capacity)  # a request heavier than the bucket still runs
        if self._tokens >= weight:
            self._tokens -= weight
            return 0.0
        return (weight - self._tokens) * self.period_s / self.capacity

    def acquire(self, weight: float = 1.0) -> float:
        """Wait until ``weight`` is available and spend it; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                wait = self._wait_s(weight, self._clock())
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait

    def charge(self, weight: float) -> None:
        """Spend ``weight`` more (known only after the response); may go below zero."""
        if self.capacity is None or weight <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            self._tokens -= weight

    def pause(self, seconds: float) -> None:
        """Nobody gets weight for ``seconds`` from now (extends, never shortens, a pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            if self.capacity is not None:
                self._tokens = min(self._tokens, 0.0)

    @property
    def paused_for_s(self) -> float:
        """Seconds left of the current pause (0 if none)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())


_LIMITERS: dict[tuple[str, float | None, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def venue_limiter(venue: str, capacity: float | None, period_s: float = 60.0) -> RateLimiter:
    """The process-wide limiter of ``venue`` (one per venue and budget): every provider
    and feed of that venue in the process shares its weight and its pauses."""
    key = (venue, capacity, period_s)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(capacity, period_s)
        return limiter


@attrs.frozen
class RetryPolicy:
    """How hard to try: attempts per request, backoff, and when to give up on a venue."""

    attempts: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    offline_after_s: float = 6.0
    ban_pause_s: float = 60.0
    max_ban_wait_s: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Delay before try ``attempt + 1`` (exponential, with up to 10 % jitter)."""
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return delay * (1 + 0.1 * random.random())


class Retrier:
    """Runs requests of one venue under its limiter and retry policy; counts them."""

    def __init__(
        self,
        limiter: RateLimiter,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self.requests = 0
        self.retries = 0

    def call(self, request: Callable[[], T], *, weight: float = 1.0, what: str = "") -> T:
        """``request()`` with limits and retries (see the module doc); ``what`` names it in
        the error raised when retries run out."""
        policy = self.policy
        offline_since: float | None = None
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(weight)
            self.requests += 1
            try:
                return request()
            except VenueUnreachable:
                now = self._clock()
                offline_since = now if offline_since is None else offline_since
                delay = policy.backoff(attempt)
                if now + delay - offline_since > policy.offline_after_s:
                    raise
            except VenueBanned as exc:
                pause = exc.retry_after_s if exc.retry_after_s is not None else policy.ban_pause_s
                if pause > policy.max_ban_wait_s or attempt >= policy.attempts:
                    raise
                self.limiter.pause(pause)
                delay = 0.0
            except RateLimited as exc:
                if attempt >= policy.attempts:
                    raise RetriesExhausted(
                        f"{what or 'request'} was still rate limited after {attempt} tries: {exc}",
                        venue=exc.venue, endpoint=exc.endpoint,
                    ) from exc
                if exc.retry_after_s is not None:
                    self.limiter.pause(exc.retry_after_s)
                    delay = 0.0
                else:
                    delay = policy.backoff(attempt)
            except TransientVenueError as exc:
                if attempt >= policy.attempts:
                    raise RetriesExhausted(
                        f"{what or 'request'} failed {attempt} times; last error: {exc}",
                        venue=exc.venue, endpoint=exc.endpoint,
                    ) from exc
                delay = policy.backoff(attempt)
            self.retries += 1
            if delay > 0:
                self._sleep(delay)
