"""Drift market data: candles and funding from the Drift Data API, L2 books from the DLOB
server, through this plugin's own small HTTP client (driftpy has none; it is not needed).

- candles: ``GET /market/{SYMBOL}/candles/{resolution}?startTs=&endTs=&limit=``, at
  most 1000 records per answer, newest first, ``startTs`` the newer bound and
  ``endTs`` the older one. The range is walked forward in windows of 1000 bars, each
  asked for backwards (a full answer not reaching the window's first bar is followed
  by one ending before its oldest record), so every page covers its window whole and
  pages come in time order. Fill prices by default (``prices="oracle"`` for the
  oracle's), falling back to the oracle's for a bar without fills; volume in base units;
- funding: the per-day archive ``GET /market/{SYMBOL}/fundingRates/{YYYY}/{MM}/{DD}``
  (``/fundingRates`` itself holds only the last 30 days), one page per UTC day, a day
  the archive lacks (404) holding none; the day not over yet comes from
  ``GET /fundingRates?marketName=`` (the archive may not have it yet). Both documented
  shapes are read: records with ``fundingRate`` (1e9) and ``oraclePriceTwap`` (1e6),
  the hourly rate being ``(fundingRate / 1e9) / (oraclePriceTwap / 1e6)``, and records
  in human units with ``fundingRate`` (quote per base) and ``oraclePrice``, the rate
  being their ratio;
- L2 books: the DLOB server's ``GET /l2?marketName=`` (the current book only; prices
  1e6, sizes 1e9), stamped with the local clock.

Endpoints: ``FLINT_DRIFT_DATA_API_URL`` and ``FLINT_DRIFT_DLOB_URL`` (which win), or
``venues.drift.data_api_url`` / ``venues.drift.dlob_url`` in flint.yaml, else Drift's
public mainnet hosts. Requests share the venue's rate limiter (Drift documents no
budget; flint spends at most 600 requests a minute) and retry policy. An answer that
says "nothing here" (no records) is asked again once before it is believed.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from flint.config import FlintConfig
from flint.providers.base import (
    DataProvider,
    Page,
    ProgressCallback,
    check_venue,
    collect_pages,
    join_candles,
)
from flint.providers.endpoints import endpoint_url
from flint.providers.errors import HistoryUnavailable, TransientVenueError, VenueError
from flint.providers.transport import Retrier, RetryPolicy, asked_again_if_empty, venue_limiter
from flint_core.records import Candle, FundingRate, OrderbookLevel, OrderbookSnapshot
from flint_core.series import CandleSeries
from flint_drift.client import DriftHttp
from flint_drift.markets import MARKETS, VENUE, market_index, resolution_name, to_market

DATA_API_URL = "https://data.api.drift.trade"
DLOB_URL = "https://dlob.drift.trade"
DAY = 86_400


class DriftProvider(DataProvider):
    """Drift perps: candles and funding (Data API), L2 books (DLOB server)."""

    name = VENUE
    capabilities = frozenset({"candles", "funding", "orderbook"})

    CANDLES_PER_PAGE = 1000
    REQUESTS_PER_MINUTE = 600
    #: How far back a "current" book may be asked for.
    SNAPSHOT_TOLERANCE_S = 60

    def __init__(
        self,
        data_api_url: str | None = None,
        dlob_url: str | None = None,
        *,
        prices: str = "fill",
        book_depth: int = 10,
        rate_limit: bool = True,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        config: FlintConfig | None = None,
    ) -> None:
        if prices not in ("fill", "oracle"):
            raise ValueError(f"prices must be 'fill' or 'oracle', got {prices!r}")
        self.data_api_url = endpoint_url(VENUE, "data_api_url", default=DATA_API_URL,
                                         url=data_api_url, config=config)
        self.dlob_url = endpoint_url(VENUE, "dlob_url", default=DLOB_URL, url=dlob_url,
                                     config=config)
        self.prices = prices
        self.book_depth = book_depth
        self.clock = clock
        limiter = venue_limiter(VENUE, self.REQUESTS_PER_MINUTE if rate_limit else None)
        self.retrier = Retrier(limiter, retry)
        self._timeouts = {"connect_timeout_s": connect_timeout_s, "read_timeout_s": timeout_s}
        self._data: DriftHttp | None = None
        self._dlob: DriftHttp | None = None

    # Connections and names

    @property
    def data_api(self) -> DriftHttp:
        """The Data API client (made on first use)."""
        if self._data is None:
            self._data = DriftHttp("Drift Data API", self.data_api_url, self.retrier,
                                   **self._timeouts)
        return self._data

    @property
    def dlob(self) -> DriftHttp:
        """The DLOB server client (made on first use)."""
        if self._dlob is None:
            self._dlob = DriftHttp("Drift DLOB server", self.dlob_url, self.retrier,
                                   **self._timeouts)
        return self._dlob

    @property
    def requests(self) -> int:
        """Requests sent so far (retries included)."""
        return self.retrier.requests

    def markets(self) -> list[str]:
        """Drift's perp markets as flint names, by market index."""
        return list(MARKETS)

    def is_available(self) -> bool:
        """True if the Data API answers a candle request."""
        try:
            self.data_api.get(f"/market/{MARKETS[0]}/candles/D", {"limit": 1})
        except VenueError:
            return False
        return True

    def close(self) -> None:
        """Close the HTTP connections; safe to call twice."""
        for client in (self._data, self._dlob):
            if client is not None:
                client.close()
        self._data = self._dlob = None

    # Pages

    def fetch_pages(
        self, kind: str, market: str, start_ts: int, end_ts: int,
        resolution_s: int | None = None,
    ) -> Iterator[Page]:
        """Answers of the venue for ``[start_ts, end_ts)`` as pages (see the module doc)."""
        if kind == "candles":
            if resolution_s is None:
                raise ValueError("candles need a resolution")
            return self._candle_pages(to_market(market), int(resolution_s), start_ts, end_ts)
        if kind == "funding":
            return self._funding_pages(to_market(market), start_ts, end_ts)
        if kind == "orderbook":
            return self._book_pages(to_market(market), start_ts)
        raise self._unsupported(kind)

    def _records(self, path: str, params: dict[str, Any] | None = None, *, key: str,
                 absent_ok: bool = False) -> list[dict[str, Any]]:
        """The records of an answer under ``key`` (or ``records``, or the answer itself if a
        list), asked twice if it holds none; none for a 404 if ``absent_ok``."""

        def request() -> list[dict[str, Any]] | None:
            answer = self.data_api.get(path, params, absent_ok=absent_ok)
            if answer is None:
                return None
            records = answer.get(key, answer.get("records")) if isinstance(answer, dict) else (
                answer
            )
            if not isinstance(records, list):
                raise TransientVenueError(
                    f"the Drift Data API answered {path} with {str(answer)[:200]}",
                    venue=VENUE, endpoint=f"{self.data_api_url}{path}",
                )
            return records

        # a 404 (None) is an answer to believe at once; only an empty list is asked again
        return asked_again_if_empty(request, lambda records: records == []) or []

    def _candle_pages(self, market: str, res: int, start_ts: int, end_ts: int) -> Iterator[Page]:
        path = f"/market/{market}/candles/{resolution_name(res)}"
        window_start = -(-start_ts // res) * res
        span_start = start_ts  # no bar opens between start_ts and the first bar
        while window_start < end_ts:
            window_end = min(end_ts, window_start + self.CANDLES_PER_PAGE * res)
            found: dict[int, dict[str, Any]] = {}
            newest = window_end - 1
            while newest >= window_start:
                records = self._records(path, {"startTs": newest, "endTs": window_start,
                                               "limit": self.CANDLES_PER_PAGE}, key="records")
                found.update((int(r["ts"]), r) for r in records
                             if window_start <= int(r["ts"]) < window_end)
                if len(records) < self.CANDLES_PER_PAGE:
                    break
                oldest = min(int(r["ts"]) for r in records)
                if oldest > newest:
                    raise TransientVenueError(
                        f"the Drift Data API answered {market} candles up to {newest} with "
                        f"later candles only", venue=VENUE, endpoint=f"{self.data_api_url}{path}",
                    )
                newest = oldest - 1
            yield Page(self._series([found[t] for t in sorted(found)], market, res),
                       span_start, window_end)
            span_start = window_start = window_end

    def _series(self, records: list[dict[str, Any]], market: str, res: int) -> CandleSeries:
        """Records (ascending) as columns, in the prices chosen."""
        first, other = ("fill", "oracle") if self.prices == "fill" else ("oracle", "fill")

        def column(field: str) -> np.ndarray:
            return np.array([
                float(r[first + field] if r.get(first + field) is not None else r[other + field])
                for r in records
            ], dtype=np.float64)

        ts = np.array([int(r["ts"]) for r in records], dtype=np.int64)
        volumes = np.array([float(r.get("baseVolume") or 0.0) for r in records], dtype=np.float64)
        return CandleSeries(ts, column("Open"), column("High"), column("Low"), column("Close"),
                            volumes, market, res, VENUE)

    def _funding_pages(self, market: str, start_ts: int, end_ts: int) -> Iterator[Page]:
        day = start_ts // DAY * DAY
        while day < end_ts:
            low, high = max(day, start_ts), min(day + DAY, end_ts)
            if day + DAY > self.clock():  # today: the archive may lag, ask the live list
                records = self._records("/fundingRates", {"marketName": market},
                                        key="fundingRates")
            else:
                records = self._records(funding_archive_path(market, day), key="fundingRates",
                                        absent_ok=True)
            rows = {}
            for record in records:
                row = funding_rate(market, record)
                if low <= row.ts < high:
                    rows[row.ts] = row
            yield Page([rows[t] for t in sorted(rows)], low, high)
            day += DAY

    def _book_pages(self, market: str, start_ts: int) -> Iterator[Page]:
        now = int(self.clock())
        if start_ts < now - self.SNAPSHOT_TOLERANCE_S:
            raise HistoryUnavailable("Drift's DLOB server serves only the current order book",
                                     earliest_ts=now, venue=VENUE, endpoint=f"{self.dlob_url}/l2")
        book = self.l2_book(market)
        yield Page([book], book.ts, book.ts + 1)

    # Current state

    def l2_book(self, market: str, depth: int | None = None) -> OrderbookSnapshot:
        """The current L2 book of ``market`` from the DLOB server (vAMM liquidity included),
        stamped with the local clock."""
        name = to_market(market)
        book = self.dlob.get("/l2", {"marketName": name, "depth": depth or self.book_depth,
                                     "includeVamm": "true", "includeOracle": "true"})
        if not isinstance(book, dict) or int(book.get("marketIndex", -1)) != market_index(name):
            raise TransientVenueError(
                f"the Drift DLOB server answered the {name} book with {str(book)[:200]}",
                venue=VENUE, endpoint=f"{self.dlob_url}/l2",
            )
        bids, asks = (
            tuple(OrderbookLevel(int(lv["price"]) / 1e6, int(lv["size"]) / 1e9) for lv in book[s])
            for s in ("bids", "asks")
        )
        return OrderbookSnapshot(name, int(self.clock()), bids, asks,
                                 slot=int(book.get("slot") or 0), venue=VENUE)

    # DataProvider

    def fetch_candles(
        self, market: str, resolution_s: int, start_ts: int, end_ts: int, *,
        venue: str | None = None, on_progress: ProgressCallback | None = None,
    ) -> Sequence[Candle]:
        """Candles with ``start_ts <= ts <= end_ts`` (the forming one too, if the venue
        serves it) as a CandleSeries."""
        check_venue(VENUE, venue)
        pages = collect_pages(self.fetch_pages("candles", market, start_ts, end_ts + 1,
                                               resolution_s),
                              start_ts, end_ts, f"{market} candles", on_progress)
        return join_candles(pages, self._series([], to_market(market), resolution_s))

    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[FundingRate]:
        """Hourly funding settlements (``interval_s`` 3600) in the range."""
        check_venue(VENUE, venue)
        pages = collect_pages(self.fetch_pages("funding", market, start_ts, end_ts + 1),
                              start_ts, end_ts, f"{market} funding", on_progress)
        return [row for page in pages for row in page.rows]

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """The current L2 book; :class:`HistoryUnavailable` for a range in the past."""
        check_venue(VENUE, venue)
        return list(next(self._book_pages(to_market(market), start_ts)).rows)


def funding_archive_path(market: str, day_ts: int) -> str:
    """The Data API path of ``market``'s funding settlements on the UTC day holding ``day_ts``."""
    return f"/market/{market}/fundingRates/{time.strftime('%Y/%m/%d', time.gmtime(day_ts))}"


def funding_rate(market: str, record: dict[str, Any]) -> FundingRate:
    """A funding record of the Data API, in either documented shape, as an hourly rate."""
    try:
        if "oraclePriceTwap" in record:  # fundingRate 1e9, oraclePriceTwap 1e6
            twap = Decimal(str(record["oraclePriceTwap"]))
            rate = Decimal(str(record["fundingRate"])) / (twap * 1000)
            oracle, mark = twap / 1_000_000, Decimal(str(record.get("markPriceTwap", 0))) / 10**6
        else:  # human units
            oracle = Decimal(str(record["oraclePrice"]))
            rate = Decimal(str(record["fundingRate"])) / oracle
            mark = Decimal(str(record.get("markPrice", 0)))
        return FundingRate(market, int(record["ts"]), float(rate), oracle_price=float(oracle),
                           mark_price=float(mark), slot=int(record.get("slot") or 0),
                           source=VENUE, interval_s=3600)
    except (KeyError, ArithmeticError, ValueError, TypeError):
        raise VenueError(
            f"a Drift funding record of {market} has neither documented shape "
            f"(fundingRate with oraclePriceTwap, or with oraclePrice): {str(record)[:200]}",
            venue=VENUE,
        ) from None


#: The seed's names of the same provider.
DriftCandleProvider = DriftProvider
DriftFundingProvider = DriftProvider
