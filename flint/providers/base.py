"""``DataProvider``: the base class of every source of market data.

A provider fetches one market at a time over a time range (unix seconds,
inclusive). Candles and funding are the core contract; order books, open interest
and borrow rates are optional: a provider declares what it serves in
``capabilities`` and overrides the matching ``fetch_*`` method (checked when the
class is defined). Undeclared optional methods raise ``NotImplementedError``.

Providers are registered by plugins (``flint_register_data_providers``) and found
through :class:`flint.providers.registry.ProviderRegistry`. Close a provider (or use
it as a context manager) to release its connections and files.
"""

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OrderbookSnapshot,
)

#: What a provider can fetch, and the method serving each capability.
CAPABILITY_METHODS = {
    "candles": "fetch_candles",
    "funding": "fetch_funding",
    "orderbook": "fetch_orderbook",
    "open_interest": "fetch_open_interest",
    "borrow_rates": "fetch_borrow_rates",
}

#: Methods with a default that raises; the two others are abstract.
OPTIONAL_METHODS = frozenset({"fetch_orderbook", "fetch_open_interest", "fetch_borrow_rates"})


class DataProvider(abc.ABC):
    """Subclass this; set ``name`` and ``capabilities``, implement what you declare."""

    #: Registry name; also the venue of what the provider returns unless it serves several.
    name: ClassVar[str] = ""
    #: Subset of :data:`CAPABILITY_METHODS`.
    capabilities: ClassVar[frozenset[str]] = frozenset({"candles", "funding"})
    #: True if the provider needs an API key (from flint.yaml ``providers.<name>``).
    requires_api_key: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.capabilities) - set(CAPABILITY_METHODS)
        if unknown:
            raise TypeError(
                f"{cls.__name__} declares unknown capabilities {sorted(unknown)}; "
                f"known: {', '.join(CAPABILITY_METHODS)}"
            )
        for capability in cls.capabilities:
            method = CAPABILITY_METHODS[capability]
            if method in OPTIONAL_METHODS and getattr(cls, method) is getattr(DataProvider, method):
                raise TypeError(
                    f"{cls.__name__} declares '{capability}' but does not implement {method}()"
                )

    @abc.abstractmethod
    def fetch_candles(
        self,
        market: str,
        resolution_s: int,
        start_ts: int,
        end_ts: int,
        *,
        venue: str | None = None,
    ) -> Sequence[Candle]:
        """Candles of ``market`` with ``start_ts <= ts <= end_ts``, ascending
        (a ``CandleSeries`` or a list). Raise ``NotImplementedError`` if not declared."""

    @abc.abstractmethod
    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[FundingRate]:
        """Funding settlements in the range, each with its venue (``source``) and
        ``interval_s``. Raise ``NotImplementedError`` if not declared."""

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """Order-book snapshots in the range (capability ``orderbook``)."""
        raise self._unsupported("orderbook")

    def fetch_open_interest(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OpenInterest]:
        """Open interest in the range (capability ``open_interest``)."""
        raise self._unsupported("open_interest")

    def fetch_borrow_rates(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[BorrowSnapshot]:
        """Borrow-rate snapshots in the range (capability ``borrow_rates``)."""
        raise self._unsupported("borrow_rates")

    def _unsupported(self, capability: str) -> NotImplementedError:
        return NotImplementedError(
            f"data provider '{self.name or type(self).__name__}' does not provide "
            f"{capability}; it provides: {', '.join(sorted(self.capabilities))}"
        )

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or files (nothing by default); safe to call twice."""

    def __enter__(self) -> "DataProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

