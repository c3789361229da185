"""A fake Binance USD-M on 127.0.0.1 speaking the real REST wire format.

Serves candles, mark-price candles, funding and open interest (from the
``binance-*.csv`` files of flint's real test data, or rows given in code) with
Binance's rules: ``GET /fapi/v1/klines`` and ``/markPriceKlines`` at most 1500 rows
(``limit``, default 500), ``/fapi/v1/fundingRate`` at most 1000 (default 100),
``/futures/data/openInterestHist`` at most 500 (default 30) and only the last 30
days; a larger ``limit`` is refused (HTTP 400, code -1130) as Binance does. Rows
have ``startTime <= time <= endTime`` and nothing after :attr:`FakeBinance.now`.
Also ``exchangeInfo`` (a minimal valid one, so ccxt's ``load_markets`` works),
``depth`` (made up from the last close), and ``premiumIndex`` / ``openInterest``
(:mod:`flint_binance.testing.state`).

Faults on top of those of :class:`flint.testing.fakes.FakeVenueServer`:
:meth:`FakeBinance.overlap_next` (a page starting rows earlier than asked) and
``forming=True`` (the bar still forming at ``now`` is served too, as Binance does).
Point flint at it with ``FLINT_BINANCE_API_URL=fake.url`` or ``BinanceProvider(fake.url)``.
"""

import bisect
import csv
import functools
import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flint.testing.fakes import FakeVenueServer, Request
from flint_binance.markets import TIMEFRAMES
from flint_binance.testing.state import serve_market_state

#: Most rows an answer may hold, and how many it holds without ``limit``.
LIMITS = {"klines": (1500, 500), "markPriceKlines": (1500, 500), "fundingRate": (1000, 100),
          "openInterestHist": (500, 30)}
OPEN_INTEREST_DAYS = 30

#: (price decimals, quantity decimals, tick, step) of the symbols the fake knows (others: SOL's).
PRECISION = {"BTCUSDT": (1, 3, "0.10", "0.001"), "ETHUSDT": (2, 3, "0.01", "0.001"),
             "SOLUSDT": (4, 0, "0.0010", "1")}

#: A candle row as in the data files: ts (s), open, high, low, close, volume (text).
CandleRow = tuple[int, str, str, str, str, str]
#: A funding row: time (s), rate (text).
FundingRow = tuple[int, str]
#: An open-interest row: time (s), open interest (coins), its value (USDT), as text.
InterestRow = tuple[int, str, str]


@functools.lru_cache(maxsize=64)
def _read_rows(path: Path) -> tuple[tuple[str, ...], ...]:
    """The rows of a data file, without its header (read once per process)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        rows = tuple(tuple(row) for row in csv.reader(handle))
    return rows[1:]


def _find(root: Path, name: str) -> Path | None:
    for candidate in (root / f"{name}.csv", root / f"{name}.csv.gz"):
        if candidate.is_file():
            return candidate
    return None


def _error(code: int, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"code": code, "msg": message}


class FakeBinance(FakeVenueServer):
    """Fake Binance USD-M; ``candles[(symbol, resolution_s)]``, ``marks[(symbol,
    resolution_s)]``, ``funding[symbol]`` and ``interest[(symbol, resolution_s)]`` are rows
    sorted by time (symbols as Binance's ids: ``SOLUSDT``)."""

    def __init__(
        self,
        candles: dict[tuple[str, int], Sequence[CandleRow]],
        funding: dict[str, Sequence[FundingRow]] | None = None,
        *,
        marks: dict[tuple[str, int], Sequence[CandleRow]] | None = None,
        interest: dict[tuple[str, int], Sequence[InterestRow]] | None = None,
        now: float | None = None,
        forming: bool = False,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.forming = forming
        funding, marks, interest = funding or {}, marks or {}, interest or {}
        self.symbols = sorted({s for s, _ in candles} | set(funding) | {s for s, _ in interest})
        self._candles = {key: self._series(rows) for key, rows in candles.items()}
        self._marks = {key: self._series(rows) for key, rows in marks.items()}
        self._funding = {
            symbol: ([int(r[0]) * 1000 for r in rows],
                     [{"symbol": symbol, "fundingTime": int(r[0]) * 1000, "fundingRate": r[1],
                       "markPrice": "0"} for r in rows])
            for symbol, rows in funding.items()
        }
        self._interest = {
            key: ([int(r[0]) * 1000 for r in rows],
                  [{"symbol": key[0], "sumOpenInterest": r[1], "sumOpenInterestValue": r[2],
                    "timestamp": int(r[0]) * 1000} for r in rows])
            for key, rows in interest.items()
        }
        ends = [int(rows[-1][0]) + res for (_, res), rows in candles.items() if rows]
        ends += [int(rows[-1][0]) + 1 for rows in funding.values() if rows]
        #: The fake's clock (unix seconds): nothing later is served, and the bar holding it
        #: is the forming one. Default: when the last bar of the data closes.
        self.now = float(now if now is not None else max(ends, default=0))
        self._overlaps: list[tuple[str, int]] = []  # (endpoint, rows)
        for path, handler in {
            "/fapi/v1/exchangeInfo": self._exchange_info,
            "/fapi/v1/klines": lambda q: self._klines("klines", self._candles, q),
            "/fapi/v1/markPriceKlines": lambda q: self._klines("markPriceKlines", self._marks, q),
            "/fapi/v1/fundingRate": self._funding_of,
            "/futures/data/openInterestHist": self._interest_of,
            "/fapi/v1/depth": self._depth,
            "/fapi/v1/ping": lambda q: (200, {}),
        }.items():
            self.route("GET", path, self._answer(handler))
        serve_market_state(self)

    @classmethod
    def from_data(
        cls,
        data_dir: str | Path,
        symbols: Iterable[str] = ("SOLUSDT", "BTCUSDT", "ETHUSDT"),
        resolutions: Iterable[int] = (3600,),
        **options: Any,
    ) -> "FakeBinance":
        """Serve ``binance-<SYMBOL>-<res>.csv[.gz]``, ``-mark-<res>``, ``-funding`` and
        ``-oi-<res>`` of flint's real data folder (those that exist)."""
        root = Path(data_dir)
        candles: dict[tuple[str, int], Sequence[CandleRow]] = {}
        marks: dict[tuple[str, int], Sequence[CandleRow]] = {}
        interest: dict[tuple[str, int], Sequence[InterestRow]] = {}
        funding: dict[str, Sequence[FundingRow]] = {}
        for symbol in symbols:
            for res in resolutions:
                for kind, into in (("", candles), ("mark-", marks)):
                    path = _find(root, f"binance-{symbol}-{kind}{res}")
                    if path is not None:
                        into[(symbol, res)] = [(int(r[0]), *r[1:6]) for r in _read_rows(path)]
            for res in TIMEFRAMES:
                path = _find(root, f"binance-{symbol}-oi-{res}")
                if path is not None:
                    interest[(symbol, res)] = [(int(r[0]), r[1], r[2]) for r in _read_rows(path)]
            path = _find(root, f"binance-{symbol}-funding")
            if path is not None:
                funding[symbol] = [(int(r[0]), r[1]) for r in _read_rows(path)]
        return cls(candles, funding, marks=marks, interest=interest, **options)

    @staticmethod
    def _series(rows: Sequence[CandleRow]) -> tuple[list[int], list[CandleRow]]:
        return [int(r[0]) * 1000 for r in rows], list(rows)

    # Faults

    def overlap_next(self, endpoint: str = "klines", rows: int = 3) -> None:
        """The next page of ``endpoint`` (``klines``, ``fundingRate``, ...) starts ``rows``
        rows before what was asked."""
        with self._lock:
            self._overlaps.append((endpoint, rows))

    def _overlap(self, endpoint: str) -> int:
        with self._lock:
            for fault in self._overlaps:
                if fault[0] == endpoint:
                    self._overlaps.remove(fault)
                    return fault[1]
        return 0

    def count_path(self, endpoint: str) -> int:
        """Requests received whose path ends with ``endpoint`` (e.g. ``klines``)."""
        return self.count(lambda r: urlsplit(r.path).path.endswith("/" + endpoint))

    # Answers

    @staticmethod
    def _answer(handler: Any) -> Any:
        def answer(request: Request) -> tuple[Any, ...]:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}
            return handler(query)  # type: ignore[no-any-return]
        return answer

    def _page(self, endpoint: str, query: dict[str, str], times: list[int], rows: list[Any],
              high_ms: int) -> tuple[int, Any]:
        """Rows with startTime <= time <= min(endTime, high_ms), at most ``limit``."""
        cap, default = LIMITS[endpoint]
        limit = int(query.get("limit", default))
        if not 0 < limit <= cap:
            return _error(-1130, "Data sent for parameter 'limit' is not valid.")
        high = min(int(query.get("endTime", 2**62)), high_ms)
        if "startTime" in query:
            first = bisect.bisect_left(times, int(query["startTime"]))
            first = max(0, first - self._overlap(endpoint))
            stop = min(bisect.bisect_right(times, high), first + limit)
        else:  # the most recent ``limit`` rows up to endTime
            stop = bisect.bisect_right(times, high)
            first = max(0, stop - limit)
        return 200, rows[first:stop]

    def _symbol(self, query: dict[str, str]) -> str | None:
        symbol = query.get("symbol", "")
        return symbol if symbol in self.symbols else None

    def _klines(self, endpoint: str, source: dict[tuple[str, int], Any],
                query: dict[str, str]) -> tuple[Any, ...]:
        symbol = self._symbol(query)
        res = next((s for s, name in TIMEFRAMES.items() if name == query.get("interval")), None)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        if res is None:
            return _error(-1120, "Invalid interval.")
        times, rows = source.get((symbol, res), ([], []))
        step = res * 1000
        current = int(self.now) // res * res * 1000  # the forming bar
        if self.forming and rows and times[-1] < current:
            last = rows[-1]
            rows = [*rows, (current // 1000, last[4], last[4], last[4], last[4], "0.5")]
            times = [*times, current]
        status, page = self._page(endpoint, query, times, rows,
                                  current if self.forming else current - 1)
        if status != 200:
            return status, page
        return 200, [[int(r[0]) * 1000, r[1], r[2], r[3], r[4], r[5],
                      int(r[0]) * 1000 + step - 1, "0", 100, "0", "0", "0"] for r in page]

    def _funding_of(self, query: dict[str, str]) -> tuple[Any, ...]:
        symbol = self._symbol(query)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        times, rows = self._funding.get(symbol, ([], []))
        return self._page("fundingRate", query, times, rows, int(self.now * 1000))

    def _interest_of(self, query: dict[str, str]) -> tuple[Any, ...]:
        symbol = self._symbol(query)
        res = next((s for s, name in TIMEFRAMES.items() if name == query.get("period")), None)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        if res is None:
            return _error(-1120, "Invalid period.")
        earliest = (self.now - OPEN_INTEREST_DAYS * 86400) * 1000
        if int(query.get("startTime", earliest)) < earliest:
            return _error(-1130, "parameter 'startTime' is invalid.")
        times, rows = self._interest.get((symbol, res), ([], []))
        return self._page("openInterestHist", query, times, rows, int(self.now * 1000))

    def _last_close(self, symbol: str) -> float:
        series = [rows for (s, _), (_, rows) in self._candles.items() if s == symbol and rows]
        return float(series[0][-1][4]) if series else 100.0

    def _depth(self, query: dict[str, str]) -> tuple[Any, ...]:
        symbol = self._symbol(query)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        mid = self._last_close(symbol)
        tick = mid * 1e-4
        levels = min(int(query.get("limit", 500)), 10)
        bids = [[f"{mid - tick * (i + 1):.6g}", f"{1.5 * (i + 1):g}"] for i in range(levels)]
        asks = [[f"{mid + tick * (i + 1):.6g}", f"{1.5 * (i + 1):g}"] for i in range(levels)]
        ms = int(self.now * 1000)
        return 200, {"lastUpdateId": 1, "E": ms, "T": ms, "bids": bids, "asks": asks}

    def _exchange_info(self, query: dict[str, str]) -> tuple[Any, ...]:
        return 200, {
            "timezone": "UTC", "serverTime": int(self.now * 1000), "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 1200},
            ],
            "exchangeFilters": [], "assets": [],
            "symbols": [self._symbol_info(s) for s in self.symbols],
        }

    @staticmethod
    def _symbol_info(symbol: str) -> dict[str, Any]:
        base = symbol.removesuffix("USDT")
        price_dp, qty_dp, tick, step = PRECISION.get(symbol, PRECISION["SOLUSDT"])
        return {
            "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
            "baseAsset": base, "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": price_dp, "quantityPrecision": qty_dp, "baseAssetPrecision": 8,
            "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
            "triggerProtect": "0.0500", "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000",
                 "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000000",
                 "stepSize": step},
                {"filterType": "MARKET_LOT_SIZE", "minQty": step, "maxQty": "100000",
                 "stepSize": step},
                {"filterType": "MIN_NOTIONAL", "notional": "5"},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }
