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

Trading (:meth:`FakeBinance.enable_trading`): the signed ``/fapi`` endpoints of one
account (:mod:`flint_binance.testing.trading`: orders, conditional orders, fills,
positions, wallet, ``countdownCancelAll``). Every signed request is checked as Binance
does: ``X-MBX-APIKEY``, the HMAC-SHA256 ``signature`` over the exact query string (or
form body) before it, and ``timestamp`` within ``recvWindow`` of the fake's clock when
the request is processed (``-1022`` / ``-2015`` / ``-1021``). Faults per request
(:meth:`FakeBinance.inject_trading`): ``delay``, ``reset``, ``5xx``, ``429`` (with
``Retry-After``) or ``garbage``, ``before`` the account processes the command or
``after`` (it happened; the reply is late, lost or broken); :meth:`FakeBinance.restart`
stops serving and serves again on the same port with the state kept.

Data faults, from :class:`flint.testing.fakes.FakeVenueServer`: ``overlap_next(endpoint)``
(a page of ``klines`` / ``fundingRate`` ... starting rows earlier than asked),
``miss_next(endpoint)`` (a page answered empty); and ``forming=True`` (the bar still
forming at ``now`` is served too, as Binance does).
Point flint at it with ``FLINT_BINANCE_API_URL=fake.url`` or ``BinanceProvider(fake.url)``.
"""

import bisect
import contextlib
import csv
import functools
import gzip
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import attrs

from flint.testing.fakes import FakeVenueServer, Request
from flint_binance.markets import TIMEFRAMES
from flint_binance.testing.state import serve_market_state
from flint_binance.testing.trading import BOOK_FILE, Account, Refused, book_profile

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


#: Fault kinds of the trading endpoints, and the commands they apply to (``read``: any
#: signed GET).
TRADING_FAULTS = ("delay", "reset", "5xx", "429", "garbage")
TRADING_OPS = ("submit", "cancel", "amend", "read")


@attrs.define
class TradingFault:
    """The next ``count`` requests of ``op`` fail with ``kind``, ``when`` before or after
    the account processes them."""

    op: str
    kind: str
    when: str = "after"
    delay_s: float = 1.0
    retry_after_s: int = 1
    count: int = 1


@attrs.frozen
class SignedRequest:
    """A signed request the fake received: what it asked and whether it was processed."""

    op: str
    method: str
    path: str
    params: dict[str, str]
    client_id: str


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
        #: The trading account (None until :meth:`enable_trading`).
        self.account: Account | None = None
        #: Signed requests received, in order (refused ones too).
        self.signed: list[SignedRequest] = []
        self._keys: tuple[str, bytes] = ("", b"")
        self._trading_faults: list[TradingFault] = []
        self._brackets: list[dict[str, Any]] = []
        self._connections: weakref.WeakSet[socket.socket] = weakref.WeakSet()
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

    # The request log

    def count_path(self, endpoint: str) -> int:
        """Requests received whose path ends with ``endpoint`` (e.g. ``klines``)."""
        return self.count(lambda r: urlsplit(r.path).path.endswith("/" + endpoint))

    # Trading

    def enable_trading(self, api_key: str, api_secret: str, data_dir: str | Path, *,
                       marks: dict[str, float] | None = None, wallet: float = 100_000.0,
                       leverage: int = 20) -> Account:
        """Serve the signed trading endpoints for the account of ``api_key`` /
        ``api_secret``, its books shaped like the recorded book of ``data_dir``
        (:data:`~flint_binance.testing.trading.BOOK_FILE`), marked at ``marks`` (symbol ->
        price; default: each symbol's last close)."""
        root = Path(data_dir)
        prices = {s: self._last_close(s) for s in self.symbols}
        self.account = Account([self._symbol_info(s) for s in self.symbols],
                               {**prices, **(marks or {})}, book_profile(root / BOOK_FILE),
                               wallet=wallet, leverage=leverage)
        brackets = root / "fixtures" / "binance" / "fapi_v1_leverageBracket_BTC_ETH_SOL.json"
        if brackets.is_file():
            self._brackets = json.loads(brackets.read_text(encoding="utf-8"))
        self._keys = (api_key, api_secret.encode())
        return self.account

    def inject_trading(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0,
                       *, retry_after_s: int = 1, count: int = 1) -> None:
        """Fail the next ``count`` signed requests of ``op`` (``submit``, ``cancel``,
        ``amend`` or ``read``) with ``kind`` (:data:`TRADING_FAULTS`), ``before`` or ``after`` the
        account processes them; ``delay`` waits ``delay_s`` first (the client times out)."""
        if op not in TRADING_OPS or kind not in TRADING_FAULTS or when not in ("before",
                                                                                 "after"):
            raise ValueError(f"unknown fault {op}/{kind}/{when}: ops {TRADING_OPS}, kinds "
                             f"{TRADING_FAULTS}, when before|after")
        with self._lock:
            self._trading_faults.append(TradingFault(op, kind, when, delay_s, retry_after_s,
                                                     count))

    def submissions(self, client_id: str | None = None) -> list[SignedRequest]:
        """Order submissions received (processed or not), optionally of one client id."""
        with self._lock:
            return [r for r in self.signed if r.op == "submit"
                    and (client_id is None or r.client_id == client_id)]

    def restart(self, down_s: float = 0.0) -> None:
        """Stop serving (connections are refused for ``down_s``), then serve again on the
        same port; orders, positions and the wallet are kept."""
        port = self._server.server_address[1]
        handler = self._server.RequestHandlerClass
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._connections):  # kept-alive connections end too
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if down_s:
            time.sleep(down_s)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self.account is not None:
            self.account.stop_timers()
        super().close()

    def _private_routes(self) -> dict[tuple[str, str], tuple[str, Any]]:
        account = self.account
        assert account is not None
        return {
            ("POST", "/fapi/v1/order"): ("submit", account.new_order),
            ("POST", "/fapi/v1/algoOrder"): ("submit", account.new_algo),
            ("DELETE", "/fapi/v1/order"): ("cancel", account.cancel),
            ("PUT", "/fapi/v1/order"): ("amend", account.modify),
            ("DELETE", "/fapi/v1/algoOrder"): ("cancel", account.cancel_algo),
            ("POST", "/fapi/v1/countdownCancelAll"): ("cancel", account.countdown),
            ("GET", "/fapi/v1/order"): ("read", account.query),
            ("GET", "/fapi/v1/algoOrder"): ("read", account.query_algo),
            ("GET", "/fapi/v1/openOrders"): ("read", account.open_orders),
            ("GET", "/fapi/v1/openAlgoOrders"): ("read", account.open_algos),
            ("GET", "/fapi/v1/userTrades"): ("read", account.user_trades),
            ("GET", "/fapi/v3/positionRisk"): ("read", account.position_risk),
            ("GET", "/fapi/v2/positionRisk"): ("read", account.position_risk),
            ("GET", "/fapi/v3/account"): ("read", lambda params: account.account()),
            ("GET", "/fapi/v2/account"): ("read", lambda params: account.account()),
            ("GET", "/fapi/v1/leverageBracket"): ("read", lambda params: self._brackets),
        }

    def _handle(self, http: BaseHTTPRequestHandler, method: str) -> None:
        self._connections.add(http.connection)
        path = http.path.split("?", 1)[0]
        route = self._private_routes().get((method, path)) if self.account else None
        if route is None:
            super()._handle(http, method)
            return
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length).decode() if length else ""
        payload = body if method in ("POST", "PUT") else urlsplit(http.path).query
        params = dict(parse_qsl(payload, keep_blank_values=True))
        op, answer = route
        client_id = params.get("newClientOrderId") or params.get("clientAlgoId") or params.get(
            "origClientOrderId", "")
        with self._lock:
            self.requests.append(Request(method, http.path, params, dict(http.headers.items())))
            self.signed.append(SignedRequest(op, method, path, params, client_id))
        refused = self._check_signature(payload, http.headers.get("X-MBX-APIKEY", ""))
        if refused is not None:
            self._send(http, refused.status, _json(refused), {}, "application/json")
            return
        fault = self._trading_fault(op)
        if fault is not None and fault.when == "before":
            if fault.kind != "delay":
                self._broken(http, fault)
                return
            if self._closing.wait(fault.delay_s):
                return
        try:
            self._check_timestamp(params)
            status, reply = 200, answer(params)
        except Refused as exc:
            status, reply = exc.status, {"code": exc.code, "msg": exc.msg}
        if fault is not None and fault.when == "after":
            if fault.kind != "delay":
                self._broken(http, fault)
                return
            if self._closing.wait(fault.delay_s):
                return
        self._send(http, status, json.dumps(reply, separators=(",", ":")).encode(), {},
                   "application/json")

    def _check_signature(self, payload: str, api_key: str) -> Refused | None:
        key, secret = self._keys
        if not hmac.compare_digest(api_key, key):
            return Refused(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        signed, _, signature = payload.rpartition("&signature=")
        want = hmac.new(secret, signed.encode(), hashlib.sha256).hexdigest()
        if not signed or not hmac.compare_digest(signature, want):
            return Refused(-1022, "Signature for this request is not valid.", 400)
        return None

    @staticmethod
    def _check_timestamp(params: dict[str, str]) -> None:
        """Binance's rule, when the request is processed: ``timestamp`` at most 1 s ahead
        and at most ``recvWindow`` ms (default 5000) behind the server's clock."""
        try:
            sent, window = int(params["timestamp"]), int(params.get("recvWindow", 5000))
        except (KeyError, ValueError):
            raise Refused(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null,"
                                 " or malformed.") from None
        now = int(time.time() * 1000)
        if sent > now + 1000:
            raise Refused(-1021, "Timestamp for this request was 1000ms ahead of the server's "
                                 "time.")
        if now - sent > window:
            raise Refused(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _trading_fault(self, op: str) -> TradingFault | None:
        with self._lock:
            for fault in self._trading_faults:
                if fault.op == op and fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self._trading_faults.remove(fault)
                    return fault
        return None

    def _broken(self, http: BaseHTTPRequestHandler, fault: TradingFault) -> None:
        if fault.kind == "reset":  # close with a TCP reset, answering nothing
            http.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            http.connection.close()
            http.close_connection = True
        elif fault.kind == "5xx":
            self._send(http, 503, b"<html><body>503 Service Unavailable</body></html>", {},
                       "text/html")
        elif fault.kind == "429":
            body = _json(Refused(-1003, "Too many requests; current limit of IP is 2400 "
                                        "requests per minute.", 429))
            self._send(http, 429, body, {"Retry-After": str(fault.retry_after_s)},
                       "application/json")
        else:
            self._send(http, 200, b"<html><body>502 Bad Gateway</body></html>", {},
                       "text/html")

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
        fault = self._venue_fault(endpoint)
        if fault is not None and fault[0] == "miss":
            return 200, []
        if "startTime" in query:
            first = bisect.bisect_left(times, int(query["startTime"]))
            first = max(0, first - (fault[1] if fault is not None else 0))
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


def _json(refused: Refused) -> bytes:
    return json.dumps({"code": refused.code, "msg": refused.msg}).encode()
