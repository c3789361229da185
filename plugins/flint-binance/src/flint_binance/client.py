"""A ccxt exchange under flint's rate limiter and retry policy, with its endpoints moved.

ccxt builds the requests (``fetch_ohlcv``, ``fetch_funding_rate_history``, ...) and
sends them with ``requests``; this module makes the exchange (ccxt is imported
then), moves every REST endpoint to ``FLINT_<VENUE>_API_URL`` when set
(:func:`flint.providers.endpoints.rebase_url`: scheme, host and port replaced, each
path kept) and turns what ccxt raises into the errors of
:mod:`flint.providers.errors`, so :class:`flint.providers.transport.Retrier`
retries what is worth retrying.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flint.providers.endpoints import rebase_url
from flint.providers.errors import (
    RateLimited,
    TransientVenueError,
    VenueBanned,
    VenueRejected,
    VenueUnreachable,
)
from flint.providers.transport import Retrier, asked_again_if_empty, retry_after_s


def rebase_api(urls: Any, base: str) -> Any:
    """``urls`` (ccxt's ``exchange.urls['api']``: a URL or a dict of them, nested) with
    every URL moved to ``base``."""
    if isinstance(urls, dict):
        return {key: rebase_api(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and urlsplit(urls).scheme in ("http", "https"):
        return rebase_url(urls, base)
    return urls


def origin(urls: Any) -> str:
    """``scheme://host[:port]`` of the first URL of ``urls`` (a URL or nested dicts)."""
    if isinstance(urls, dict):
        return next((found for found in map(origin, urls.values()) if found), "")
    parts = urlsplit(str(urls))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


def _offline(exc: BaseException) -> bool:
    """True if the requests error behind a ccxt error means no connection could be made."""
    import requests
    import urllib3.exceptions as u3

    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(cause, requests.exceptions.ConnectionError):
        return False
    reason = getattr(cause.args[0], "reason", None) if cause.args else None
    return isinstance(reason, (u3.NewConnectionError, u3.ConnectTimeoutError))


class CcxtClient:
    """One ccxt exchange (sync), with limits, retries and flint's errors."""

    def __init__(self, exchange_id: str, venue: str, retrier: Retrier, *, timeout_s: float,
                 options: dict[str, Any] | None = None) -> None:
        import ccxt

        if exchange_id not in ccxt.exchanges:
            raise ValueError(f"ccxt has no exchange '{exchange_id}'")
        self.venue = venue
        self.retrier = retrier
        self.exchange = getattr(ccxt, exchange_id)({
            "enableRateLimit": False,  # flint's limiter does it, shared per venue
            "timeout": int(timeout_s * 1000),
            "options": {"fetchCurrencies": False, "fetchMargins": False, **(options or {})},
        })
        #: ``scheme://host[:port]`` of the exchange's REST endpoints.
        self.endpoint = origin(self.exchange.urls["api"])

    def move_to(self, base: str) -> None:
        """Send every REST request to ``base``'s scheme, host and port (paths kept)."""
        self.exchange.urls["api"] = rebase_api(self.exchange.urls["api"], base)
        self.endpoint = origin(self.exchange.urls["api"])

    def call(self, what: str, request: Callable[[], Any], weight: float = 1.0) -> Any:
        """``request()`` (a ccxt call named ``what``) with limits and retries."""
        return self.retrier.call(lambda: self._translated(what, request), weight=weight,
                                 what=f"{what} at {self.endpoint}")

    def page(self, what: str, request: Callable[[], Any], weight: float = 1.0) -> list[Any]:
        """A page of rows from :meth:`call`, asked a second time when it holds none
        (:func:`~flint.providers.transport.asked_again_if_empty`)."""
        rows: list[Any] = asked_again_if_empty(lambda: self.call(what, request, weight))
        return rows

    def _translated(self, what: str, request: Callable[[], Any]) -> Any:
        import ccxt

        where = {"venue": self.venue, "endpoint": self.endpoint}
        try:
            return request()
        except ccxt.DDoSProtection as exc:  # 429 and 418 (RateLimitExceeded is one too)
            wait = retry_after_s(self.exchange.last_response_headers)
            message = f"{self.venue} answered {what}: {_short(exc)}"
            if " 418 " in f" {exc} ":
                raise VenueBanned(message, retry_after_s=wait, **where) from None
            raise RateLimited(message, retry_after_s=wait, **where) from None
        except ccxt.NetworkError as exc:  # 5xx, timeouts, dropped connections, bad bodies
            if _offline(exc):
                raise VenueUnreachable(
                    f"cannot reach {self.venue} at {self.endpoint}: {_short(exc)}", **where
                ) from None
            raise TransientVenueError(f"{what} from {self.endpoint} failed: {_short(exc)}",
                                      **where) from None
        except ccxt.ExchangeError as exc:
            raise VenueRejected(f"{self.venue} refused {what}: {_short(exc)}", **where) from None

    def close(self) -> None:
        """Close the exchange's HTTP session."""
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()


def _short(exc: BaseException) -> str:
    """The specific part of a ccxt/requests error message, on one line."""
    cause = exc.__cause__ or exc.__context__
    text = " ".join(str(exc).split())
    for source in (str(cause) if cause is not None else "", text):
        for marker in ("Failed to establish", "Failed to resolve", "Read timed out",
                       "Connection broken", "Connection aborted", "Connection reset",
                       "Connection refused"):
            if marker in source:
                return " ".join(source[source.index(marker):].split()).rstrip(")'\"")
    return text[:200]
