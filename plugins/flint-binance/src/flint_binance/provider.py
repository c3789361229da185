"""Binance USD-M (or any CCXT exchange) market data through the real ``ccxt`` library.

- candles: ``fetch_ohlcv`` (``GET /fapi/v1/klines``), at most 1500 per answer, paged
  forward; mark-price candles the same way (``markPriceKlines``) where the exchange
  has them (:meth:`BinanceProvider.fetch_mark_candles`);
- funding: ``fetch_funding_rate_history`` (``GET /fapi/v1/fundingRate``), at most 1000
  per answer, the next page starting 1 ms after the last settlement; each
  settlement's interval is observed from the spacing of consecutive settlements
  (Binance uses 8, 4, 2 or 1 h, and changes it per symbol);
- open interest: ``fetch_open_interest_history`` (``GET /futures/data/openInterestHist``),
  at most 500 per answer; Binance keeps only the last 30 days, so asking for older
  ones raises :class:`HistoryUnavailable` naming the earliest available time;
- order books: ``fetch_order_book`` (``GET /fapi/v1/depth``), the current book only;
  mark, index, open interest and the coming funding rate now:
  :meth:`BinanceProvider.market_snapshot`.

Paging goes on from the last row received until an answer is empty or reaches the
end, so an exchange (or a ccxt version) answering fewer rows than asked loses none; an
empty answer is asked again once before it is believed.

``exchange`` is any ccxt exchange id (``binanceusdm`` by default). Its REST endpoints
move to ``venues.<venue>.api_url`` of flint.yaml or ``FLINT_<VENUE>_API_URL`` (which
wins; e.g. ``FLINT_BINANCE_API_URL``): scheme, host and port replaced, each path
kept. Requests share the venue's rate limiter (2400 weight a minute) and retry
policy. ccxt is imported when the provider first talks to the exchange.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from flint.config import FlintConfig
from flint.models import MarketSnapshot
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
from flint.providers.transport import Retrier, RetryPolicy, venue_limiter
from flint.store.funding import funding_intervals
from flint_binance.client import CcxtClient
from flint_binance.markets import MarketNames, timeframe
from flint_core.records import Candle, FundingRate, OpenInterest, OrderbookLevel, OrderbookSnapshot
from flint_core.series import CandleSeries

DEFAULT_EXCHANGE = "binanceusdm"
DAY = 86_400
EIGHT_HOURS = 8 * 3600

#: Request weights (Binance USD-M, of 2400 a minute per IP): klines of 1500 cost 10.
WEIGHTS = {"klines": 10, "fundingRate": 1, "openInterestHist": 1, "depth": 5, "markets": 1,
           "premiumIndex": 1, "openInterest": 1}


def venue_of(exchange: str) -> str:
    """flint's venue name of a ccxt exchange id (``binanceusdm`` -> ``binance``)."""
    return "binance" if exchange in ("binance", "binanceusdm") else exchange


class BinanceProvider(DataProvider):
    """Candles, funding, open interest and books of a CCXT exchange (Binance USD-M)."""

    name = "binance"
    capabilities = frozenset({"candles", "funding", "open_interest", "orderbook"})

    CANDLES_PER_PAGE = 1500
    FUNDING_PER_PAGE = 1000
    OPEN_INTEREST_PER_PAGE = 500
    #: How far back the exchange keeps open interest.
    OPEN_INTEREST_HISTORY_S = 30 * DAY
    WEIGHT_PER_MINUTE = 2400
    #: How far back a "current value" (a book) may be asked for.
    SNAPSHOT_TOLERANCE_S = 60

    def __init__(
        self,
        api_url: str | None = None,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        settle: str = "USDT",
        open_interest_s: int = 3600,
        rate_limit: bool = True,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        config: FlintConfig | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.exchange_id = exchange
        self.venue = venue_of(exchange)
        self.settle = settle
        self.open_interest_s = open_interest_s
        self.clock = clock
        self._api_url, self._config = api_url, config
        self._timeout_s, self._options = timeout_s, options
        limiter = venue_limiter(self.venue, self.WEIGHT_PER_MINUTE if rate_limit else None)
        self.retrier = Retrier(limiter, retry)
        self._client: CcxtClient | None = None
        self._names: MarketNames | None = None
        self._intervals: dict[str, int] = {}

    # Connection and names

    @property
    def client(self) -> CcxtClient:
        """The ccxt exchange (made on first use), its endpoints moved if configured."""
        if self._client is None:
            client = CcxtClient(self.exchange_id, self.venue, self.retrier,
                                timeout_s=self._timeout_s, options=self._options)
            base = endpoint_url(self.venue, default=client.endpoint, url=self._api_url,
                                config=self._config)
            if base != client.endpoint:
                client.move_to(base)
            self._client = client
        return self._client

    @property
    def requests(self) -> int:
        """Requests sent so far (retries included)."""
        return self.retrier.requests

    @property
    def names(self) -> MarketNames:
        """The exchange's markets (``load_markets``, asked once)."""
        if self._names is None:
            exchange = self.client.exchange
            self.client.call("markets", exchange.load_markets, WEIGHTS["markets"])
            self._names = MarketNames(exchange.markets, self.venue, self.settle)
        return self._names

    def markets(self) -> list[str]:
        """The exchange's perpetuals as flint names (``SOL-PERP``, ...)."""
        return self.names.names()

    def symbol(self, market: str) -> str:
        """ccxt's unified symbol of ``market``; :class:`UnknownMarket` (listing the
        markets) if none."""
        return self.names.symbol(market)

    def is_available(self) -> bool:
        """True if the exchange answers ``load_markets``."""
        try:
            self.markets()
        except VenueError:
            return False
        return True

    def close(self) -> None:
        """Close the HTTP session (a later request opens a new one); safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = self._names = None

    # Pages

    def fetch_pages(
        self, kind: str, market: str, start_ts: int, end_ts: int,
        resolution_s: int | None = None,
    ) -> Iterator[Page]:
        """Answers of the exchange for ``[start_ts, end_ts)`` as pages (see the module doc)."""
        if kind == "candles":
            if resolution_s is None:
                raise ValueError("candles need a resolution")
            return self._candle_pages(market, int(resolution_s), start_ts, end_ts)
        if kind == "funding":
            return self._funding_pages(market, start_ts, end_ts)
        if kind == "open_interest":
            return self._open_interest_pages(market, start_ts, end_ts)
        if kind == "orderbook":
            return self._book_pages(market, start_ts)
        raise self._unsupported(kind)

    def _candle_pages(self, market: str, res: int, start_ts: int, end_ts: int,
                      price: str | None = None) -> Iterator[Page]:
        symbol = self.symbol(market)
        name = timeframe(res, self.client.exchange.timeframes or {})
        cursor = -(-start_ts // res) * res
        span_start = start_ts  # no bar opens between start_ts and the first bar
        while cursor < end_ts:
            def request(first: int = cursor) -> Any:
                return self._ohlcv(symbol, name, first * 1000, end_ts * 1000 - 1, price)

            raw = self.client.page("klines", request, WEIGHTS["klines"])
            series = _candles(raw, self.names.market(market), res, self.venue, cursor, end_ts)
            if raw and not len(series) and raw[-1][0] < cursor * 1000:
                raise TransientVenueError(
                    f"{self.venue} answered {market} {name} candles from {cursor} with "
                    f"earlier candles only", venue=self.venue, endpoint=self.client.endpoint,
                )
            # more may follow until an answer is empty or reaches the end
            cursor = int(series.timestamps[-1]) + res if len(series) else end_ts
            yield Page(series, span_start, cursor)
            span_start = cursor

    def _ohlcv(self, symbol: str, name: str, first_ms: int, last_ms: int,
               price: str | None) -> list[list[Any]]:
        """Klines of ``symbol`` opening in ``[first_ms, last_ms]`` (a page of them)."""
        exchange = self.client.exchange
        if self.exchange_id == DEFAULT_EXCHANGE:  # ccxt's fetch_ohlcv keeps 1000 of the 1500
            market = exchange.market(symbol)
            endpoint = (exchange.fapiPublicGetMarkPriceKlines if price == "mark"
                        else exchange.fapiPublicGetKlines)
            answer = endpoint({"symbol": market["id"], "interval": name, "startTime": first_ms,
                               "endTime": last_ms, "limit": self.CANDLES_PER_PAGE})
            return exchange.parse_ohlcvs(answer, market, name)  # type: ignore[no-any-return]
        params = {"until": last_ms, **({"price": price} if price else {})}
        return exchange.fetch_ohlcv(symbol, name, first_ms, None, params)  # type: ignore[no-any-return]

    def _funding_pages(self, market: str, start_ts: int, end_ts: int) -> Iterator[Page]:
        symbol, exchange = self.symbol(market), self.client.exchange
        name = self.names.market(market)
        start_ms, end_ms = start_ts * 1000, end_ts * 1000 - 1
        span_start = start_ts
        while start_ms <= end_ms:
            def request(since: int = start_ms) -> Any:
                return exchange.fetch_funding_rate_history(symbol, since, self.FUNDING_PER_PAGE,
                                                           {"until": end_ms})

            raw = self.client.page("fundingRate", request, WEIGHTS["fundingRate"])
            kept = sorted((r for r in raw if start_ms <= r["timestamp"] <= end_ms),
                          key=lambda r: r["timestamp"])
            if raw and not kept and max(r["timestamp"] for r in raw) < start_ms:
                raise TransientVenueError(
                    f"{self.venue} answered {market} funding from {start_ms} ms with earlier "
                    f"settlements only", venue=self.venue, endpoint=self.client.endpoint,
                )
            if kept:  # more may follow until an answer is empty
                last = kept[-1]["timestamp"]
                start_ms, span_end = last + 1, last // 1000 + 1
            else:
                start_ms, span_end = end_ms + 1, end_ts
            ts = [int(r["timestamp"]) // 1000 for r in kept]
            intervals = self._observed(symbol, ts)
            rows = [FundingRate(name, t, float(r["fundingRate"]), source=self.venue,
                                interval_s=interval)
                    for t, r, interval in zip(ts, kept, intervals, strict=True)]
            yield Page(rows, span_start, span_end)
            span_start = span_end

    def _observed(self, symbol: str, ts: list[int]) -> list[int]:
        """Each settlement's interval, from the spacing of consecutive settlements (the last
        one observed for ``symbol`` when a page holds one, 8 h before any)."""
        if len(ts) < 2:
            return [self._intervals.get(symbol, EIGHT_HOURS)] * len(ts)
        intervals = [int(i) for i in funding_intervals(np.asarray(ts, dtype=np.int64))]
        self._intervals[symbol] = intervals[-1]
        return intervals

    def _open_interest_pages(self, market: str, start_ts: int, end_ts: int) -> Iterator[Page]:
        symbol, exchange = self.symbol(market), self.client.exchange
        name, res = self.names.market(market), self.open_interest_s
        period = timeframe(res, exchange.timeframes or {})
        now = int(self.clock())
        earliest = -(-(now - self.OPEN_INTEREST_HISTORY_S) // res) * res
        cursor = -(-start_ts // res) * res
        if cursor < earliest:
            raise HistoryUnavailable(
                f"{self.venue} keeps only the last 30 days of open interest of {market}",
                earliest_ts=earliest, venue=self.venue, endpoint=self.client.endpoint,
            )
        span_start = start_ts
        while cursor < end_ts:
            def request(first: int = cursor) -> Any:
                return exchange.fetch_open_interest_history(
                    symbol, period, first * 1000, self.OPEN_INTEREST_PER_PAGE,
                    {"until": end_ts * 1000 - 1})

            raw = self.client.page("openInterestHist", request, WEIGHTS["openInterestHist"])
            kept = sorted((r for r in raw if cursor * 1000 <= r["timestamp"] < end_ts * 1000),
                          key=lambda r: r["timestamp"])
            if raw and not kept and max(r["timestamp"] for r in raw) < cursor * 1000:
                raise TransientVenueError(
                    f"{self.venue} answered {market} open interest from {cursor} with "
                    f"earlier records only", venue=self.venue, endpoint=self.client.endpoint,
                )
            # more may follow until an answer is empty
            cursor = int(kept[-1]["timestamp"]) // 1000 + res if kept else end_ts
            rows = [OpenInterest(name, int(r["timestamp"]) // 1000,
                                 float(r["openInterestAmount"]), float(r["openInterestAmount"]),
                                 self.venue) for r in kept]
            yield Page(rows, span_start, cursor)
            span_start = cursor

    def _book_pages(self, market: str, start_ts: int) -> Iterator[Page]:
        now = int(self.clock())
        if start_ts < now - self.SNAPSHOT_TOLERANCE_S:
            raise HistoryUnavailable(
                f"{self.venue} serves only the current order book", earliest_ts=now,
                venue=self.venue, endpoint=self.client.endpoint,
            )
        book = self.order_book(market)
        yield Page([book], book.ts, book.ts + 1)

    # Current state

    def order_book(self, market: str, depth: int = 100) -> OrderbookSnapshot:
        """The current book of ``market`` (``depth`` levels a side), stamped with the
        exchange's time."""
        symbol, exchange = self.symbol(market), self.client.exchange
        book = self.client.call("depth", lambda: exchange.fetch_order_book(symbol, depth),
                                WEIGHTS["depth"])
        bids, asks = (tuple(OrderbookLevel(float(p), float(q)) for p, q, *_ in book[side])
                      for side in ("bids", "asks"))
        stamp = book.get("timestamp")
        ts = int(stamp) // 1000 if stamp else int(self.clock())
        return OrderbookSnapshot(self.names.market(market), ts, bids, asks, venue=self.venue)

    def market_snapshot(self, market: str) -> MarketSnapshot:
        """Mark and index price (as the oracle), open interest (coins) and the funding rate
        of the coming settlement of ``market`` now (``fetch_funding_rate``: Binance's
        ``premiumIndex``; ``fetch_open_interest``: ``openInterest``)."""
        symbol, exchange = self.symbol(market), self.client.exchange
        rate = self.client.call("premiumIndex", lambda: exchange.fetch_funding_rate(symbol),
                                WEIGHTS["premiumIndex"])
        interest = self.client.call("openInterest",
                                    lambda: exchange.fetch_open_interest(symbol),
                                    WEIGHTS["openInterest"])
        stamp = rate.get("timestamp")
        return MarketSnapshot(self.names.market(market),
                              int(stamp) // 1000 if stamp else int(self.clock()),
                              float(rate["markPrice"]), float(rate["indexPrice"]),
                              float(interest["openInterestAmount"]), float(rate["fundingRate"]),
                              self.venue)

    # DataProvider

    def fetch_candles(
        self, market: str, resolution_s: int, start_ts: int, end_ts: int, *,
        venue: str | None = None, on_progress: ProgressCallback | None = None,
    ) -> Sequence[Candle]:
        """Candles (the forming one too) with ``start_ts <= ts <= end_ts``, a CandleSeries."""
        check_venue(self.venue, venue)
        pages = collect_pages(self._candle_pages(market, resolution_s, start_ts, end_ts + 1),
                              start_ts, end_ts, f"{market} candles", on_progress)
        return join_candles(pages, _candles([], self.names.market(market), resolution_s,
                                            self.venue, start_ts, end_ts + 1))

    def fetch_mark_candles(
        self, market: str, resolution_s: int, start_ts: int, end_ts: int, *,
        on_progress: ProgressCallback | None = None,
    ) -> CandleSeries:
        """Mark-price candles (volume 0) with ``start_ts <= ts <= end_ts``;
        ``NotImplementedError`` where the exchange has none."""
        if not self.client.exchange.has.get("fetchMarkOHLCV"):
            raise NotImplementedError(f"{self.exchange_id} has no mark-price candles")
        pages = collect_pages(
            self._candle_pages(market, resolution_s, start_ts, end_ts + 1, price="mark"),
            start_ts, end_ts, f"{market} mark candles", on_progress)
        return join_candles(pages, _candles([], self.names.market(market), resolution_s,
                                            self.venue, start_ts, end_ts + 1))

    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[FundingRate]:
        """Funding settlements in the range, each with its observed ``interval_s``."""
        check_venue(self.venue, venue)
        pages = collect_pages(self._funding_pages(market, start_ts, end_ts + 1), start_ts,
                              end_ts, f"{market} funding", on_progress)
        return [row for page in pages for row in page.rows]

    def fetch_open_interest(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OpenInterest]:
        """Open interest (long = short = the total, in coins) every ``open_interest_s``;
        :class:`HistoryUnavailable` for a range older than 30 days."""
        check_venue(self.venue, venue)
        pages = self._open_interest_pages(market, start_ts, end_ts + 1)
        return [row for page in pages for row in page.rows]

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """The current book; :class:`HistoryUnavailable` for a range in the past."""
        check_venue(self.venue, venue)
        return list(next(self._book_pages(market, start_ts)).rows)


def _candles(raw: list[list[Any]], market: str, res: int, venue: str, low: int,
             high: int) -> CandleSeries:
    """ccxt's OHLCV rows with ``low <= t < high`` (seconds), as columns."""
    table = np.asarray(raw, dtype=np.float64).reshape(len(raw), 6) if raw else np.zeros((0, 6))
    ts = (np.asarray([row[0] for row in raw], dtype=np.int64) // 1000)
    keep = (ts >= low) & (ts < high)
    table, ts = table[keep], ts[keep]
    return CandleSeries(ts, *(np.ascontiguousarray(table[:, i]) for i in range(1, 6)),
                        market, res, venue)


#: The seed's names of the same provider.
BinanceFundingProvider = BinanceProvider
BinanceCandleProvider = BinanceProvider
