"""Hyperliquid market data: candles, funding, open interest and L2 books from POST /info.

- candles: ``candleSnapshot``, at most 5000 per answer, paged forward; Hyperliquid
  keeps only the most recent 5000 candles of each interval, so asking for older
  ones raises :class:`HistoryUnavailable` naming the earliest available bar
  (``history_limit=None`` for a mirror that keeps everything);
- funding: ``fundingHistory``, at most 500 per answer, the next page starting 1 ms
  after the last settlement; each settlement is stored at the second Hyperliquid
  reports (the interval is observed from the spacing when downloaded);
- open interest, mark and oracle prices: ``metaAndAssetCtxs`` (the current values
  only); L2 books: ``l2Book`` (the current book only).

The endpoint is ``venues.hyperliquid.api_url`` in flint.yaml or
``FLINT_HYPERLIQUID_API_URL`` (which wins), the public API by default. Requests share
the venue's rate limiter (1200 weight a minute) and retry policy. An answer that
says "nothing here" (an empty page, a page not starting where asked) is asked
again once before it is believed.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from flint.providers.transport import Retrier, RetryPolicy, asked_again_if_empty, venue_limiter
from flint_core.records import Candle, FundingRate, OpenInterest, OrderbookLevel, OrderbookSnapshot
from flint_core.series import CandleSeries
from flint_hyperliquid.client import InfoClient
from flint_hyperliquid.markets import VENUE, interval, to_coin, to_market

if TYPE_CHECKING:
    from flint_hyperliquid.feed import HyperliquidBookFeed, HyperliquidCandleFeed

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"


@attrs.frozen
class AssetContext:
    """A market's current state: funding rate (per hour), open interest (in coins),
    mark, oracle and premium, at ``ts``."""

    market: str
    ts: int
    funding: float
    open_interest: float
    mark_price: float
    oracle_price: float
    premium: float | None


class HyperliquidProvider(DataProvider):
    """Hyperliquid perps: candles, funding, open interest and L2 books (POST /info)."""

    name = VENUE
    capabilities = frozenset({"candles", "funding", "open_interest", "orderbook"})

    CANDLES_PER_PAGE = 5000
    FUNDING_PER_PAGE = 500
    WEIGHT_PER_MINUTE = 1200
    #: How far back a "current value" (open interest, book) may be asked for.
    SNAPSHOT_TOLERANCE_S = 60

    def __init__(
        self,
        api_url: str | None = None,
        *,
        history_limit: int | None = 5000,
        rate_limit: bool = True,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        config: FlintConfig | None = None,
    ) -> None:
        self.api_url = endpoint_url(VENUE, default=MAINNET_URL, url=api_url, config=config)
        self.history_limit = history_limit
        self.clock = clock
        limiter = venue_limiter(VENUE, self.WEIGHT_PER_MINUTE if rate_limit else None)
        self.retrier = Retrier(limiter, retry)
        self._timeouts = (connect_timeout_s, timeout_s)
        self._client: InfoClient | None = None
        self._coins: list[str] | None = None

    # Connection and names

    @property
    def client(self) -> InfoClient:
        """The SDK client (made on first use)."""
        if self._client is None:
            connect, read = self._timeouts
            self._client = InfoClient(self.api_url, self.retrier, connect_timeout_s=connect,
                                      read_timeout_s=read)
        return self._client

    @property
    def requests(self) -> int:
        """Requests sent so far (retries included)."""
        return self.retrier.requests

    def coins(self) -> list[str]:
        """The venue's perp coins (``meta``, asked once)."""
        if self._coins is None:
            meta = self.client.call("meta", self.client.info.meta, expect=dict)
            self.client.info.set_perp_meta(meta, 0)
            self._coins = [asset["name"] for asset in meta["universe"]]
        return self._coins

    def markets(self) -> list[str]:
        """The venue's markets as flint names (``SOL-PERP``, ...)."""
        return [to_market(c) for c in self.coins()]

    def coin(self, market: str) -> str:
        """The coin of ``market``; :class:`UnknownMarket` (listing the markets) if none."""
        return to_coin(market, self.coins())

    def is_available(self) -> bool:
        """True if the endpoint answers ``meta``."""
        try:
            self.coins()
        except VenueError:
            return False
        return True

    def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # Pages

    def fetch_pages(
        self, kind: str, market: str, start_ts: int, end_ts: int,
        resolution_s: int | None = None,
    ) -> Iterator[Page]:
        """Answers of the venue for ``[start_ts, end_ts)`` as pages (see the module doc)."""
        if kind == "candles":
            if resolution_s is None:
                raise ValueError("candles need a resolution")
            return self._candle_pages(market, int(resolution_s), start_ts, end_ts)
        if kind == "funding":
            return self._funding_pages(market, start_ts, end_ts)
        if kind in ("open_interest", "orderbook"):
            return self._snapshot_pages(kind, market, start_ts)
        raise self._unsupported(kind)

    def _candle_pages(self, market: str, res: int, start_ts: int, end_ts: int) -> Iterator[Page]:
        coin, name = self.coin(market), interval(res)
        cursor = -(-start_ts // res) * res
        if self.history_limit is not None:
            earliest = (int(self.clock()) // res - self.history_limit + 1) * res
            if cursor < earliest:
                raise HistoryUnavailable(
                    f"Hyperliquid keeps only the most recent {self.history_limit} {name} candles "
                    f"of {market}", earliest_ts=earliest, venue=VENUE,
                    endpoint=self.client.endpoint,
                )
        span_start = start_ts  # no bar opens between start_ts and the first bar
        while cursor < end_ts:
            first = cursor

            def request(first: int = first) -> Any:
                return self.client.info.candles_snapshot(coin, name, first * 1000,
                                                         end_ts * 1000 - 1)

            raw: list[Any] = asked_again_if_empty(
                lambda request=request: self.client.call("candleSnapshot", request),
                lambda rows, first=first: not any(c["t"] == first * 1000 for c in rows),
            )
            series = _candles(raw, market, res, first, end_ts)
            if len(raw) >= self.CANDLES_PER_PAGE:  # a full page: more may follow
                if not len(series):
                    raise TransientVenueError(
                        f"Hyperliquid answered {market} {name} candles from {first} with "
                        f"earlier candles only", venue=VENUE, endpoint=self.client.endpoint,
                    )
                cursor = int(series.timestamps[-1]) + res
            else:
                cursor = end_ts
            yield Page(series, span_start, cursor)
            span_start = cursor

    def _funding_pages(self, market: str, start_ts: int, end_ts: int) -> Iterator[Page]:
        coin = self.coin(market)
        start_ms, end_ms = start_ts * 1000, end_ts * 1000 - 1
        span_start = start_ts
        while start_ms <= end_ms:
            def request(start_ms: int = start_ms) -> Any:
                return self.client.info.funding_history(coin, start_ms, end_ms)

            raw: list[Any] = asked_again_if_empty(
                lambda request=request: self.client.call("fundingHistory", request),
                lambda rows, low=start_ms: not any(r["time"] >= low for r in rows),
            )
            kept = [r for r in raw if start_ms <= r["time"] <= end_ms]
            if len(raw) >= self.FUNDING_PER_PAGE:  # a full page: more may follow
                if not kept:
                    raise TransientVenueError(
                        f"Hyperliquid answered {market} funding from {start_ms} ms with earlier "
                        f"records only", venue=VENUE, endpoint=self.client.endpoint,
                    )
                last = max(r["time"] for r in kept)
                start_ms, span_end = last + 1, last // 1000 + 1
            else:
                start_ms, span_end = end_ms + 1, end_ts
            rows = [
                FundingRate(market, r["time"] // 1000, float(r["fundingRate"]), source=VENUE,
                            interval_s=3600)
                for r in kept
            ]
            yield Page(rows, span_start, span_end)
            span_start = span_end

    def _snapshot_pages(self, kind: str, market: str, start_ts: int) -> Iterator[Page]:
        now = int(self.clock())
        if start_ts < now - self.SNAPSHOT_TOLERANCE_S:
            what = "open interest" if kind == "open_interest" else "order book"
            raise HistoryUnavailable(
                f"Hyperliquid serves only the current {what}", earliest_ts=now, venue=VENUE,
                endpoint=self.client.endpoint,
            )
        if kind == "open_interest":
            ctx = self.asset_context(market)
            rows: list[Any] = [OpenInterest(market, ctx.ts, ctx.open_interest, ctx.open_interest,
                                            VENUE)]
            ts = ctx.ts
        else:
            book = self.l2_book(market)
            rows, ts = [book], book.ts
        yield Page(rows, ts, ts + 1)

    # Live

    def candle_feed(
        self,
        market: str,
        resolution_s: int,
        on_candle: Callable[[Candle], None],
        *,
        last_ts: int | None = None,
    ) -> "HyperliquidCandleFeed":
        """The websocket candle feed of ``market`` (:mod:`flint_hyperliquid.feed`), backfilled
        through this provider."""
        from flint_hyperliquid.feed import HyperliquidCandleFeed

        return HyperliquidCandleFeed(market, resolution_s, on_candle, provider=self,
                                     last_ts=last_ts, clock=self.clock)

    def book_feed(self, market: str,
                  on_book: Callable[[OrderbookSnapshot], None]) -> "HyperliquidBookFeed":
        """The websocket ``l2Book`` feed of ``market`` (:mod:`flint_hyperliquid.feed`)."""
        from flint_hyperliquid.feed import HyperliquidBookFeed

        return HyperliquidBookFeed(market, on_book, provider=self)

    # Current state

    def asset_context(self, market: str) -> AssetContext:
        """Funding, open interest, mark, oracle and premium of ``market`` now
        (``metaAndAssetCtxs``)."""
        coin = self.coin(market)
        meta, contexts = self.client.call("metaAndAssetCtxs", self.client.info.meta_and_asset_ctxs)
        names = [asset["name"] for asset in meta["universe"]]
        ctx = contexts[names.index(coin)]
        premium = ctx.get("premium")
        return AssetContext(
            market, int(self.clock()), float(ctx["funding"]), float(ctx["openInterest"]),
            float(ctx["markPx"]), float(ctx["oraclePx"]),
            None if premium is None else float(premium),
        )

    def l2_book(self, market: str) -> OrderbookSnapshot:
        """The current L2 book of ``market`` (``l2Book``), stamped with the venue's time."""
        coin = self.coin(market)
        book = self.client.call("l2Book", lambda: self.client.info.l2_snapshot(coin), expect=dict)
        return book_snapshot(market, book)

    def market_snapshot(self, market: str) -> MarketSnapshot:
        """Mark, oracle, open interest and current funding of ``market`` now, as the store
        keeps them (``FlintStore.upsert_market_snapshots``)."""
        ctx = self.asset_context(market)
        return MarketSnapshot(market, ctx.ts, ctx.mark_price, ctx.oracle_price,
                              ctx.open_interest, ctx.funding, VENUE)

    # DataProvider

    def fetch_candles(
        self, market: str, resolution_s: int, start_ts: int, end_ts: int, *,
        venue: str | None = None, on_progress: ProgressCallback | None = None,
    ) -> Sequence[Candle]:
        """Closed and forming candles with ``start_ts <= ts <= end_ts`` as a CandleSeries;
        :class:`HistoryUnavailable` if the range starts before the venue's window."""
        check_venue(VENUE, venue)
        pages = collect_pages(self.fetch_pages("candles", market, start_ts, end_ts + 1,
                                               resolution_s),
                              start_ts, end_ts, f"{market} candles", on_progress)
        return join_candles(pages, _candles([], market, resolution_s, start_ts, end_ts + 1))

    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[FundingRate]:
        """Funding settlements (hourly rates, ``interval_s`` 3600) in the range."""
        check_venue(VENUE, venue)
        pages = collect_pages(self.fetch_pages("funding", market, start_ts, end_ts + 1),
                              start_ts, end_ts, f"{market} funding", on_progress)
        return [row for page in pages for row in page.rows]

    def fetch_open_interest(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OpenInterest]:
        """The current open interest (long = short = open interest in coins);
        :class:`HistoryUnavailable` for a range in the past."""
        check_venue(VENUE, venue)
        return list(next(self._snapshot_pages("open_interest", market, start_ts)).rows)

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """The current L2 book; :class:`HistoryUnavailable` for a range in the past."""
        check_venue(VENUE, venue)
        return list(next(self._snapshot_pages("orderbook", market, start_ts)).rows)


def book_snapshot(market: str, book: dict[str, Any]) -> OrderbookSnapshot:
    """An ``l2Book`` answer (REST or websocket) as a snapshot stamped with the venue's time."""
    bids, asks = (
        tuple(OrderbookLevel(float(lv["px"]), float(lv["sz"])) for lv in side)
        for side in book["levels"]
    )
    return OrderbookSnapshot(market, int(book["time"]) // 1000, bids, asks, venue=VENUE)


def _candles(raw: list[dict[str, Any]], market: str, res: int, low: int, high: int) -> CandleSeries:
    """The candles of an answer with ``low <= t < high`` (seconds), as columns."""
    n = len(raw)
    ts = np.fromiter((c["t"] for c in raw), dtype=np.int64, count=n) // 1000
    keep = (ts >= low) & (ts < high)

    def column(key: str) -> np.ndarray:  # decimal text, parsed exactly by Arrow (fast)
        text = pa.array([c[key] for c in raw], type=pa.string())
        values = pc.cast(text, pa.float64()).to_numpy()
        return values if keep.all() else values[keep]

    if not keep.all():
        ts = ts[keep]
    return CandleSeries(ts, column("o"), column("h"), column("l"), column("c"), column("v"),
                        market, res, VENUE)



#: The seed's names of the same provider.
HyperliquidCandleProvider = HyperliquidProvider
HyperliquidFundingProvider = HyperliquidProvider
