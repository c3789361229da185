"""A fake Drift Data API and DLOB server on 127.0.0.1 speaking their real wire formats.

Serves candles and funding (rows given in code, or, with :meth:`FakeDrift.from_data`,
flint's real Hyperliquid files re-labelled as Drift: the project has no Drift data)
with the Data API's rules:

- ``GET /market/{SYMBOL}/candles/{resolution}?startTs=&endTs=&limit=``:
  ``{"records": [...]}``, newest first, ``endTs <= ts <= startTs``, at most 1000;
- ``GET /market/{SYMBOL}/fundingRates/{YYYY}/{MM}/{DD}``: the day's settlements as
  ``{"fundingRates": [...]}`` with ``fundingRate`` (1e9) and ``oraclePriceTwap`` (1e6),
  or, with ``funding_shape="human"``, a list of ``{ts, symbol, marketIndex,
  fundingRate, oraclePrice, markPrice}`` in human units; a day outside the data is a 404;
- ``GET /fundingRates?marketName=`` (or ``symbol=``): the last 30 days, likewise;
- ``GET /l2?marketName=&depth=`` (the DLOB server): a book made up from the last close.

The oracle TWAP of every settlement is $10 (``ORACLE_PRICE``), so the hourly rate a
client computes from ``fundingRate`` and the TWAP is exactly the rate of the data.
Nothing after :attr:`FakeDrift.now` is served.

Data faults, from :class:`flint.testing.fakes.FakeVenueServer`, for ``candles`` or
``funding``: ``overlap_next`` (an answer holding rows newer than asked for candles, or
the previous day's last rows for funding), ``miss_next`` (an answer with no record
although data exists); and ``forming=True`` (the bar still forming at
``now`` is served too). Point flint at it with ``FLINT_DRIFT_DATA_API_URL`` and
``FLINT_DRIFT_DLOB_URL`` set to ``fake.url``, or ``DriftProvider(fake.url, fake.url)``.
"""

import bisect
import csv
import gzip
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flint.testing.fakes import FakeVenueServer, Request
from flint_drift.markets import MARKET_INDEX, RESOLUTIONS
from flint_drift.provider import funding_archive_path

CANDLES_PER_PAGE = 1000
DAY = 86_400
#: The oracle price (TWAP) of every funding settlement the fake serves, in dollars.
ORACLE_PRICE = Decimal(10)

#: A candle row as in the data files: ts (s), open, high, low, close, volume (text).
CandleRow = tuple[int, str, str, str, str, str]
#: A funding row: time (s), hourly rate (text).
FundingRow = tuple[int, str]


def _read_rows(path: Path) -> list[list[str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


class FakeDrift(FakeVenueServer):
    """Fake Drift Data API + DLOB; ``candles[(market, resolution_s)]`` and
    ``funding[market]`` are rows sorted by time, markets named ``SOL-PERP``."""

    def __init__(
        self,
        candles: dict[tuple[str, int], Sequence[CandleRow]],
        funding: dict[str, Sequence[FundingRow]] | None = None,
        *,
        now: float | None = None,
        forming: bool = False,
        funding_shape: str = "raw",
        port: int = 0,
    ) -> None:
        super().__init__(port)
        if funding_shape not in ("raw", "human"):
            raise ValueError(f"funding_shape must be 'raw' or 'human', got {funding_shape!r}")
        self.forming = forming
        self.funding_shape = funding_shape
        funding = funding or {}
        self.markets = sorted({m for m, _ in candles} | set(funding))
        self._candles = {
            key: ([int(r[0]) for r in rows], [self._candle(r) for r in rows])
            for key, rows in candles.items()
        }
        self._funding = {
            market: ([int(r[0]) for r in rows], [self._settlement(market, r) for r in rows])
            for market, rows in funding.items()
        }
        ends = [int(rows[-1][0]) + res for (_, res), rows in candles.items() if rows]
        ends += [int(rows[-1][0]) + 1 for rows in funding.values() if rows]
        #: The fake's clock (unix seconds): nothing later is served, and the bar holding it
        #: is the forming one. Default: when the last bar of the data closes.
        self.now = float(now if now is not None else max(ends, default=0))
        for market in self.markets:
            for res, name in RESOLUTIONS.items():
                self.route("GET", f"/market/{market}/candles/{name}",
                           lambda r, m=market, s=res: self._candles_of(r, m, s))
            times = self._funding.get(market, ([], []))[0]
            if times:
                for day in range(times[0] // DAY * DAY, int(self.now) + DAY, DAY):
                    self.route("GET", funding_archive_path(market, day),
                               lambda r, m=market, d=day: self._funding_day(m, d))
        self.route("GET", "/fundingRates", self._recent_funding)
        self.route("GET", "/l2", self._book)

    @classmethod
    def from_data(
        cls,
        data_dir: str | Path,
        coins: Iterable[str] = ("SOL", "BTC", "ETH"),
        resolutions: Iterable[int] = (3600,),
        **options: Any,
    ) -> "FakeDrift":
        """Serve ``hyperliquid-<COIN>-<res>.csv`` and ``hyperliquid-<COIN>-funding.csv`` of
        flint's real data folder as Drift's ``<COIN>-PERP`` (the project has no Drift files)."""
        root = Path(data_dir)
        candles: dict[tuple[str, int], Sequence[CandleRow]] = {}
        funding: dict[str, Sequence[FundingRow]] = {}
        for coin in coins:
            market = f"{coin}-PERP"
            for res in resolutions:
                rows = _read_rows(root / f"hyperliquid-{coin}-{res}.csv")
                candles[(market, res)] = [(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]
            path = root / f"hyperliquid-{coin}-funding.csv"
            if path.is_file():
                funding[market] = [(int(r[0]), r[1]) for r in _read_rows(path)]
        return cls(candles, funding, **options)

    @staticmethod
    def _candle(row: CandleRow) -> dict[str, Any]:
        o, h, lo, c, v = (float(x) for x in row[1:])
        record: dict[str, Any] = {"ts": int(row[0])}
        for prefix in ("fill", "oracle"):
            record.update({f"{prefix}Open": o, f"{prefix}High": h, f"{prefix}Low": lo,
                           f"{prefix}Close": c})
        record.update({"quoteVolume": v * c, "baseVolume": v})
        return record

    def _settlement(self, market: str, row: FundingRow) -> dict[str, Any]:
        ts, rate = int(row[0]), Decimal(row[1])
        if self.funding_shape == "human":
            return {"ts": ts, "symbol": market, "marketIndex": MARKET_INDEX[market],
                    "fundingRate": str(rate * ORACLE_PRICE), "oraclePrice": str(ORACLE_PRICE),
                    "markPrice": str(ORACLE_PRICE)}
        scaled = rate * ORACLE_PRICE * 10**9  # quote per base, 1e9
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{market} funding {row[1]} at {ts} has too many decimals for Drift")
        twap = str(int(ORACLE_PRICE * 10**6))
        return {"txSig": f"fake{ts}", "slot": ts * 2, "ts": str(ts), "recordId": str(ts),
                "marketIndex": MARKET_INDEX[market], "fundingRate": str(int(scaled)),
                "cumulativeFundingRateLong": "0", "cumulativeFundingRateShort": "0",
                "oraclePriceTwap": twap, "markPriceTwap": twap,
                "fundingRateLong": str(int(scaled)), "fundingRateShort": str(int(scaled)),
                "periodRevenue": "0", "baseAssetAmountWithAmm": "0",
                "baseAssetAmountWithUnsettledLp": "0"}

    # The request log

    def count_kind(self, kind: str) -> int:
        """Requests received for ``candles``, ``fundingRates`` or ``l2``."""
        return self.count(lambda r: f"/{kind}" in urlsplit(r.path).path)

    # Answers

    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}

    def _candles_of(self, request: Request, market: str, res: int) -> tuple[Any, ...]:
        query = self._query(request)
        times, rows = self._candles.get((market, res), ([], []))
        current = int(self.now) // res * res  # the forming bar
        if self.forming and rows and times[-1] < current:
            last = rows[-1]
            forming = {**last, "ts": current, "baseVolume": 0.5, "quoteVolume": 0.5}
            for prefix in ("fill", "oracle"):
                forming.update({f"{prefix}{f}": last[f"{prefix}Close"]
                                for f in ("Open", "High", "Low")})
            times, rows = [*times, current], [*rows, forming]
        newest = min(int(query.get("startTs", current)), current if self.forming else current - 1)
        oldest = int(query.get("endTs", 0))
        limit = min(int(query.get("limit", CANDLES_PER_PAGE)), CANDLES_PER_PAGE)
        fault = self._venue_fault("candles")
        if fault is not None and fault[0] == "miss":
            return 200, {"records": []}
        stop = bisect.bisect_right(times, newest)
        if fault is not None:
            stop = min(len(times), stop + fault[1])
        first = max(bisect.bisect_left(times, oldest), stop - limit)
        return 200, {"records": rows[first:stop][::-1]}

    def _answer(self, market: str, records: list[dict[str, Any]]) -> Any:
        return records if self.funding_shape == "human" else {"fundingRates": records}

    def _funding_day(self, market: str, day: int) -> tuple[Any, ...]:
        times, rows = self._funding.get(market, ([], []))
        first = bisect.bisect_left(times, day)
        stop = bisect.bisect_left(times, min(day + DAY, int(self.now) + 1))
        fault = self._venue_fault("funding")
        if fault is not None and fault[0] == "miss":
            return 200, self._answer(market, [])
        if fault is not None:
            first = max(0, first - fault[1])
        return 200, self._answer(market, rows[first:max(first, stop)])

    def _recent_funding(self, request: Request) -> tuple[Any, ...]:
        query = self._query(request)
        market = query.get("marketName") or query.get("symbol") or ""
        if market not in self._funding:
            return 400, {"message": f"unknown market {market!r}"}
        times, rows = self._funding[market]
        first = bisect.bisect_left(times, int(self.now) - 30 * DAY)
        stop = bisect.bisect_right(times, int(self.now))
        return 200, self._answer(market, rows[first:stop])

    def _book(self, request: Request) -> tuple[Any, ...]:
        market = self._query(request).get("marketName", "")
        if market not in MARKET_INDEX:
            return 400, {"message": f"unknown market {market!r}"}
        depth = int(self._query(request).get("depth", 10))
        closes = [rows[-1]["fillClose"] for (m, _), (_, rows) in self._candles.items()
                  if m == market and rows]
        mid = closes[0] if closes else 100.0
        tick = mid * 1e-4

        def level(price: float, i: int) -> dict[str, Any]:
            return {"price": str(round(price * 1e6)), "size": str(round(1.5 * (i + 1) * 1e9)),
                    "sources": {"dlob": str(round(1.5 * (i + 1) * 1e9))}}

        return 200, {
            "bids": [level(mid - tick * (i + 1), i) for i in range(depth)],
            "asks": [level(mid + tick * (i + 1), i) for i in range(depth)],
            "marketName": market, "marketType": "perp", "marketIndex": MARKET_INDEX[market],
            "slot": int(self.now) * 2, "oracle": str(round(mid * 1e6)),
        }
