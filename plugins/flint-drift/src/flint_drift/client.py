"""A small httpx client for Drift's HTTP APIs (the Data API, the DLOB server) under
flint's rate limiter and retry policy.

driftpy has no client for these APIs, so this module makes the requests itself and
turns what goes wrong into the errors of :mod:`flint.providers.errors`, so
:class:`flint.providers.transport.Retrier` retries what is worth retrying.
"""

from typing import Any

import httpx

from flint.providers.errors import (
    RateLimited,
    TransientVenueError,
    VenueBanned,
    VenueRejected,
    VenueUnreachable,
)
from flint.providers.transport import Retrier, retry_after_s
from flint_drift.markets import VENUE


class DriftHttp:
    """GET requests to one Drift base URL (``name`` says which API, in messages)."""

    def __init__(self, name: str, base_url: str, retrier: Retrier, *, connect_timeout_s: float,
                 read_timeout_s: float) -> None:
        self.name = name
        self.base_url = base_url
        self.retrier = retrier
        self._http = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            headers={"Accept": "application/json"},
        )

    def get(self, path: str, params: dict[str, Any] | None = None, *,
            absent_ok: bool = False) -> Any:
        """The parsed JSON answer of ``GET path?params``, with limits and retries; with
        ``absent_ok`` a 404 answers None (nothing there) instead of raising."""
        return self.retrier.call(lambda: self._once(path, params, absent_ok),
                                 what=f"GET {self.base_url}{path}")

    def _once(self, path: str, params: dict[str, Any] | None, absent_ok: bool) -> Any:
        endpoint = f"{self.base_url}{path}"
        where = {"venue": VENUE, "endpoint": endpoint}
        try:
            response = self._http.get(path, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise VenueUnreachable(f"cannot reach the {self.name} at {endpoint}: {exc}",
                                   **where) from None
        except httpx.TransportError as exc:  # read timeout, dropped connection, ...
            raise TransientVenueError(
                f"GET {endpoint} failed: {type(exc).__name__}: {exc}", **where
            ) from None
        status = response.status_code
        if status == 404 and absent_ok:
            return None
        if status >= 400:
            message = f"the {self.name} answered GET {endpoint} with HTTP {status}: " + (
                response.text[:200]
            )
            wait = retry_after_s(response.headers)
            if status == 429:
                raise RateLimited(message, retry_after_s=wait, **where)
            if status == 418:
                raise VenueBanned(message, retry_after_s=wait, **where)
            if status >= 500:
                raise TransientVenueError(message, **where)
            raise VenueRejected(message, **where)
        try:
            return response.json()
        except ValueError:
            raise TransientVenueError(
                f"the {self.name} answered GET {endpoint} with a body that is not JSON: "
                f"{response.text[:120]!r}", **where
            ) from None

    def close(self) -> None:
        """Close the connections."""
        self._http.close()
