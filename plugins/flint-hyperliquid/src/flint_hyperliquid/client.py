"""hyperliquid-python-sdk's ``Info`` under flint's rate limiter and retry policy.

The SDK builds the requests (``candles_snapshot``, ``funding_history``, ...) and
sends them with ``requests``; this module turns what it raises into the errors of
:mod:`flint.providers.errors`, so :class:`flint.providers.transport.Retrier`
retries what is worth retrying. The SDK is imported when a client is made.
"""

from collections.abc import Callable
from typing import Any

from flint.providers.errors import (
    RateLimited,
    TransientVenueError,
    VenueBanned,
    VenueRejected,
    VenueUnreachable,
)
from flint.providers.transport import Retrier, retry_after_s
from flint_hyperliquid.markets import VENUE

#: Request weights of the info endpoint (of a 1200-per-minute budget per IP), and the
#: extra weight per item returned: 1 per 60 candles, 1 per 20 funding records or fills.
WEIGHTS = {"l2Book": 2, "allMids": 2, "clearinghouseState": 2, "orderStatus": 2}
DEFAULT_WEIGHT = 20
ITEMS_PER_WEIGHT = {"candleSnapshot": 60, "fundingHistory": 20, "userFills": 20,
                    "userFillsByTime": 20}
#: Weight of an exchange action (one order or cancel a batch here).
EXCHANGE_WEIGHT = 1


def _offline(exc: Exception) -> bool:
    """True if ``exc`` (a requests error) means no connection could be made."""
    import requests
    import urllib3.exceptions as u3

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (u3.NewConnectionError, u3.ConnectTimeoutError))


class InfoClient:
    """POST /info of one Hyperliquid endpoint, through the SDK, with limits and retries."""

    def __init__(self, base_url: str, retrier: Retrier, *, connect_timeout_s: float,
                 read_timeout_s: float) -> None:
        from hyperliquid.info import Info

        self.endpoint = f"{base_url}/info"
        self.retrier = retrier
        # meta and spot_meta given: no request while constructing (perps only)
        self.info = Info(
            base_url, skip_ws=True, meta={"universe": []}, spot_meta={"universe": [], "tokens": []},
            timeout=(connect_timeout_s, read_timeout_s),
        )

    def call(self, kind: str, request: Callable[[], Any], expect: type = list) -> Any:
        """``request()`` (an SDK call of info type ``kind``) with limits and retries; the
        answer must be an ``expect``."""
        def attempt() -> Any:
            answer = self._translated(kind, request)
            if not isinstance(answer, expect):
                raise TransientVenueError(
                    f"Hyperliquid answered {kind} with {str(answer)[:200]}",
                    venue=VENUE, endpoint=self.endpoint,
                )
            items = ITEMS_PER_WEIGHT.get(kind)
            if items and isinstance(answer, list):
                self.retrier.limiter.charge(len(answer) // items)
            return answer

        return self.retrier.call(attempt, weight=WEIGHTS.get(kind, DEFAULT_WEIGHT),
                                 what=f"{kind} at {self.endpoint}")

    def _translated(self, kind: str, request: Callable[[], Any]) -> Any:
        import requests
        from hyperliquid.utils.error import ClientError, ServerError

        where = {"venue": VENUE, "endpoint": self.endpoint}
        try:
            return request()
        except ClientError as exc:
            message = f"Hyperliquid answered {kind} with HTTP {exc.status_code}: " + str(
                exc.error_message
            )[:200]
            # the SDK passes the headers as `header` or as `error_data`, by body type
            wait = retry_after_s(exc.header) or retry_after_s(exc.error_data)
            if exc.status_code == 429:
                raise RateLimited(message, retry_after_s=wait, **where) from None
            if exc.status_code == 418:
                raise VenueBanned(message, retry_after_s=wait, **where) from None
            raise VenueRejected(message, **where) from None
        except ServerError as exc:
            raise TransientVenueError(
                f"Hyperliquid answered {kind} with HTTP {exc.status_code}", **where
            ) from None
        except requests.exceptions.RequestException as exc:
            if _offline(exc):
                raise VenueUnreachable(
                    f"cannot reach Hyperliquid at {self.endpoint}: "
                    f"{_short(exc)}", **where
                ) from None
            raise TransientVenueError(
                f"{kind} from {self.endpoint} failed: {_short(exc)}", **where
            ) from None

    def close(self) -> None:
        """Close the SDK's HTTP session."""
        self.info.session.close()


def _short(exc: Exception) -> str:
    """The specific part of a requests error ("Connection refused", "Read timed out", ...)."""
    cause = getattr(exc.args[0], "reason", None) if exc.args else None
    text = str(cause if cause is not None else exc)
    for marker in ("Failed to establish", "Failed to resolve", "Read timed out",
                   "Connection broken", "Connection aborted", "Connection reset"):
        if marker in text:
            return text[text.index(marker):].rstrip(")'\"")
    return text[:160]
