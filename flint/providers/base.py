"""``DataProvider``: the base class of every source of market data.

A provider fetches one market at a time over a time range (unix seconds,
inclusive). Candles and funding are the core contract; order books, open interest
and borrow rates are optional: a provider declares what it serves in
``capabilities`` and overrides the matching ``fetch_*`` method (checked when the
class is defined). Undeclared optional methods raise ``NotImplementedError``.

Providers are registered by plugins (``flint_register_data_providers``) and found
through :class:`flint.providers.registry.ProviderRegistry`. Close a provider (or use
it as a context manager) to release its connections and files.

A provider of a venue that pages its answers also overrides :meth:`fetch_pages`,
yielding each response as a :class:`Page` with the span it covers, so
``flint data download`` stores (and records as fetched) one page at a time and a
killed download resumes where it stopped. Such providers also accept
``on_progress(done, total, label)`` in their ``fetch_*`` methods.
"""

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries

#: What a provider can fetch, and the method serving each capability.
CAPABILITY_METHODS = {
    "candles": "fetch_candles",
    "funding": "fetch_funding",
    "orderbook": "fetch_orderbook",
    "open_interest": "fetch_open_interest",
    "borrow_rates": "fetch_borrow_rates",
}

#: ``on_progress(done, total, label)``: how far a fetch is (in any unit, e.g. seconds).
ProgressCallback = Callable[[int, int, str], None]


@attrs.frozen
class Page:
    """Rows of one answer of a venue and the span ``[start_ts, end_ts)`` they cover.

    Every row the venue has with ``start_ts <= ts < end_ts`` is in ``rows`` (records
    of the kind, or a ``CandleSeries``); none outside it. An empty page says the
    venue has nothing there.
    """

    rows: Sequence[Any]
    start_ts: int
    end_ts: int


class LiveFeed(Protocol):
    """A running source of live data: :meth:`start` in the background, :meth:`stop` it;
    ``error`` holds what ended it early (``None`` while it runs or once stopped)."""

    error: Exception | None

    def start(self) -> "LiveFeed": ...

    def stop(self, timeout_s: float = 10.0) -> None: ...


#: Kinds ``flint data download`` stores from a venue (borrow rates come from elsewhere).
DOWNLOAD_KINDS = ("candles", "funding", "open_interest", "orderbook")

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

    def fetch_pages(
        self, kind: str, market: str, start_ts: int, end_ts: int,
        resolution_s: int | None = None,
    ) -> Iterator[Page]:
        """Rows of ``kind`` in ``[start_ts, end_ts)`` as :class:`Page` objects, in time order,
        together covering the span.

        By default one page from the ``fetch_*`` method of the kind; providers of
        venues that page their answers override it to yield each answer.
        """
        if kind not in self.capabilities:
            raise self._unsupported(kind)
        method = getattr(self, CAPABILITY_METHODS[kind])
        if kind == "candles":
            rows = method(market, resolution_s, start_ts, end_ts - 1)
        else:
            rows = method(market, start_ts, end_ts - 1)
        yield Page(rows, start_ts, end_ts)

    def candle_feed(
        self,
        market: str,
        resolution_s: int,
        on_candle: Callable[[Candle], None],
        *,
        last_ts: int | None = None,
    ) -> "LiveFeed":
        """A live feed handing each closed candle of ``market`` to ``on_candle`` once, in
        order, starting after ``last_ts`` (see :mod:`flint.providers.feeds`). By default
        :meth:`fetch_candles` is polled once each bar has closed
        (:class:`~flint.providers.feeds.PollingCandleFeed`, on the provider's ``clock`` if
        it has one); providers of venues that stream override it."""
        if "candles" not in self.capabilities:
            raise self._unsupported("candles")
        import time

        from flint.providers.feeds import PollingCandleFeed

        return PollingCandleFeed(self, market, resolution_s, on_candle, last_ts=last_ts,
                                 clock=getattr(self, "clock", time.time))

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



# Helpers of venue providers


def collect_pages(pages: Iterable[Page], start_ts: int, end_ts: int, label: str,
                  on_progress: ProgressCallback | None) -> list[Page]:
    """The pages of a fetch of the inclusive range ``[start_ts, end_ts]``, reporting
    ``(done, total, label)`` to ``on_progress`` after each."""
    collected = []
    total = max(1, end_ts + 1 - start_ts)
    for page in pages:
        collected.append(page)
        if on_progress is not None:
            on_progress(min(total, page.end_ts - start_ts), total, label)
    return collected


def join_candles(pages: Sequence[Page], empty: CandleSeries) -> CandleSeries:
    """The candles of ``pages`` (each a ``CandleSeries``, in time order) as one series;
    ``empty`` if none holds a candle."""
    parts = [p.rows for p in pages if len(p.rows)]
    if not parts:
        return empty
    first = parts[0]
    return CandleSeries(
        *(np.concatenate([getattr(p, col) for p in parts])
          for col in ("timestamps", "opens", "highs", "lows", "closes", "volumes")),
        first.market, first.resolution_s, first.venue,
    )


def check_venue(serves: str, venue: str | None) -> None:
    """``ValueError`` unless ``venue`` is None or ``serves``, the venue of the provider."""
    if venue not in (None, serves):
        raise ValueError(f"the {serves} provider serves {serves}, not {venue}")
