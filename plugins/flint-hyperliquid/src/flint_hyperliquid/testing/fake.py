"""A fake Hyperliquid on 127.0.0.1 speaking the real POST /info wire format.

Serves candles and funding (from the ``hyperliquid-*.csv`` files of flint's real
test data, or rows given in code) with Hyperliquid's rules: at most 5000 candles
and 500 funding records per answer, only the most recent ``candle_window`` candles
of each interval (5000; ``None`` for a mirror that keeps everything), candles whose
``[t, T]`` overlaps ``[startTime, endTime]``, funding with ``startTime <= time <=
endTime``, nothing after :attr:`FakeHyperliquid.now`. Also ``meta``, ``spotMeta``,
``metaAndAssetCtxs``, ``allMids`` and ``l2Book`` (made up from the last close), and
the websocket ``/ws`` on the same port (``subscribe``, ``ping``; candles pushed
with :meth:`FakeHyperliquid.push_candle`, books with :meth:`FakeHyperliquid.push_book`; the
account's ``orderUpdates`` and
``userFills`` pushed as they happen, ``userFills`` starting with a snapshot).

Trading (``POST /exchange`` and the account's ``/info`` types) is served once
:meth:`FakeHyperliquid.trade` gave it a :class:`~flint_hyperliquid.testing.exchange.
FakeExchange`; then ``l2Book`` and ``allMids`` are that exchange's book and marks.
:meth:`FakeHyperliquid.fail_next` fails the next ``submit`` (an ``order`` action),
``cancel``, ``amend`` (``batchModify``) or ``read`` (``/info``) request ``before`` the
venue runs it or ``after``: ``delay``, ``reset`` (the connection closes with no reply),
``5xx``, ``429`` (with ``Retry-After``) or ``garbage`` (a body that is not the venue's
JSON);
:meth:`FakeHyperliquid.restarted` is the fake restarted on its port, state kept.

Data faults, from :class:`flint.testing.fakes.FakeVenueServer`, by info type:
``overlap_next(type)`` (a page starting rows earlier than asked), ``miss_next(type)``
(a page answered empty); and ``forming=True`` (the
bar still forming at ``now`` is served too). Point flint at it with
``FLINT_HYPERLIQUID_API_URL=fake.url`` or ``HyperliquidProvider(fake.url)``.
"""

import bisect
import csv
import gzip
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from flint.testing.fakes import FakeSocket, FakeVenueServer, Request
from flint_hyperliquid.markets import INTERVALS
from flint_hyperliquid.testing.exchange import FakeExchange

CANDLES_PER_PAGE = 5000
FUNDING_PER_PAGE = 500

#: szDecimals of the coins the fake knows by default (others get 2).
SZ_DECIMALS = {"BTC": 5, "ETH": 4, "SOL": 2}

#: A candle row as in the data files: ts (s), open, high, low, close, volume (text).
CandleRow = tuple[int, str, str, str, str, str]
#: A funding row: time (s), rate (text).
FundingRow = tuple[int, str]


#: Faults :meth:`FakeHyperliquid.fail_next` injects, and on which requests.
FAULT_KINDS = ("delay", "reset", "5xx", "429", "garbage")
FAULT_OPS = ("submit", "cancel", "amend", "read")
#: ``/info`` types of the account (answered by the exchange).
ACCOUNT_TYPES = ("clearinghouseState", "openOrders", "frontendOpenOrders", "userFills",
                 "userFillsByTime", "orderStatus")


@attrs.define
class _LiveFault:
    op: str
    kind: str
    when: str
    delay_s: float


class _Hangup(Exception):
    """Close the connection without a reply."""


def _op(path: str, body: Any) -> str:
    """The fault op of a request: submit, cancel, amend, read or other."""
    if path == "/info":
        return "read"
    kind = body.get("action", {}).get("type") if isinstance(body, dict) else None
    if kind == "order":
        return "submit"
    if kind == "batchModify":
        return "amend"
    return "cancel" if kind in ("cancel", "cancelByCloid") else "other"


def _read_rows(path: Path) -> list[list[str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[1:]


class FakeHyperliquid(FakeVenueServer):
    """Fake Hyperliquid info endpoint; ``candles[(coin, resolution_s)]`` and ``funding[coin]``
    are rows sorted by time."""

    def __init__(
        self,
        candles: dict[tuple[str, int], Sequence[CandleRow]],
        funding: dict[str, Sequence[FundingRow]] | None = None,
        *,
        now: float | None = None,
        candle_window: int | None = CANDLES_PER_PAGE,
        forming: bool = False,
        port: int = 0,
        exchange: FakeExchange | None = None,
    ) -> None:
        super().__init__(port)
        self._made = ((candles, funding), {"now": now, "candle_window": candle_window,
                                           "forming": forming})
        #: The trading side (None until :meth:`trade`).
        self.exchange = exchange
        if exchange is not None:
            exchange.listener = self._push_user
        self._live_faults: list[_LiveFault] = []
        quiet = self._server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], _Hangup):
                quiet(request, client_address)

        self._server.handle_error = handle_error  # type: ignore[method-assign]
        self._server.socket.listen(128)  # room for many concurrent clients
        self.candle_window = candle_window
        self.forming = forming
        funding = funding or {}
        self.coins = sorted({coin for coin, _ in candles} | set(funding))
        self._candles = {
            key: ([int(r[0]) * 1000 for r in rows], [self._candle(key, r) for r in rows])
            for key, rows in candles.items()
        }
        self._funding = {
            coin: ([int(r[0]) * 1000 for r in rows],
                   [{"coin": coin, "fundingRate": r[1], "premium": "0.0", "time": int(r[0]) * 1000}
                    for r in rows])
            for coin, rows in funding.items()
        }
        ends = [int(rows[-1][0]) + res for (_, res), rows in candles.items() if rows]
        ends += [int(rows[-1][0]) + 1 for rows in funding.values() if rows]
        #: The fake's clock (unix seconds): nothing later is served, and the bar holding it
        #: is the forming one. Default: when the last bar of the data closes.
        self.now = float(now if now is not None else max(ends, default=0))
        self.route("POST", "/info", self._faulty(self._info))
        self.route("POST", "/exchange", self._faulty(self._exchange))
        self.websocket("/ws", self._on_message)
        #: Subscriptions received so far, over every websocket connection.
        self.subscribed = 0

    @classmethod
    def from_data(
        cls,
        data_dir: str | Path,
        coins: Iterable[str] = ("SOL", "BTC", "ETH"),
        resolutions: Iterable[int] = (3600,),
        **options: Any,
    ) -> "FakeHyperliquid":
        """Serve ``hyperliquid-<COIN>-<res>.csv`` and ``hyperliquid-<COIN>-funding.csv`` of
        flint's real data folder (``ts,open,high,low,close,volume`` / ``ts,rate``)."""
        root = Path(data_dir)
        candles: dict[tuple[str, int], Sequence[CandleRow]] = {}
        funding: dict[str, Sequence[FundingRow]] = {}
        for coin in coins:
            for res in resolutions:
                rows = _read_rows(root / f"hyperliquid-{coin}-{res}.csv")
                candles[(coin, res)] = [(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]
            path = root / f"hyperliquid-{coin}-funding.csv"
            if path.is_file():
                funding[coin] = [(int(r[0]), r[1]) for r in _read_rows(path)]
        return cls(candles, funding, **options)

    @staticmethod
    def _candle(key: tuple[str, int], row: CandleRow) -> dict[str, Any]:
        coin, res = key
        t = int(row[0]) * 1000
        return {"t": t, "T": t + res * 1000 - 1, "s": coin, "i": INTERVALS[res], "o": row[1],
                "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": 100}

    # Trading

    def trade(self, user: str, agents: Sequence[str] = (), **options: Any) -> FakeExchange:
        """Serve trading for account ``user`` (an address), signed by it or one of its
        approved ``agents``; ``options`` go to :class:`FakeExchange` (``marks``
        default to each coin's last close)."""
        marks = options.pop("marks", None) or {c: self._last_close(c) for c in self.coins}
        self.exchange = FakeExchange(
            {c: SZ_DECIMALS.get(c, 2) for c in self.coins}, marks, user=user,
            agents=tuple(agents), **options)
        self.exchange.listener = self._push_user
        return self.exchange

    def _push_user(self, channel: str, data: Any) -> None:
        """Push an account message to the sockets subscribed to ``channel`` for it."""
        user = self.exchange.user if self.exchange is not None else ""

        def subscribed(sock: FakeSocket) -> bool:
            return any(sub.get("type") == channel and str(sub.get("user", "")).lower() == user
                       for sub in sock.subscriptions)

        self.push({"channel": channel, "data": data}, subscribed)

    def restarted(self) -> "FakeHyperliquid":
        """Stop this fake and serve the same data and account on the same port (a
        venue restart that keeps its state)."""
        port = int(self.url.rsplit(":", 1)[1])
        self.close()
        args, options = self._made
        return FakeHyperliquid(*args, **options, port=port, exchange=self.exchange)

    def fail_next(self, op: str, kind: str, when: str = "after", delay_s: float = 1.0) -> None:
        """Fail the next ``op`` request with ``kind``, ``before`` the venue runs it
        (it never happens; a ``delay`` makes it happen late) or ``after`` (it happened;
        the reply is late, lost or broken)."""
        if op not in FAULT_OPS or kind not in FAULT_KINDS or when not in ("before", "after"):
            raise ValueError(f"unknown fault {op}/{kind}/{when}: ops {FAULT_OPS}, kinds "
                             f"{FAULT_KINDS}, when before|after")
        with self._lock:
            self._live_faults.append(_LiveFault(op, kind, when, delay_s))

    def _live_fault(self, op: str) -> _LiveFault | None:
        with self._lock:
            for fault in self._live_faults:
                if fault.op == op:
                    self._live_faults.remove(fault)
                    return fault
        return None

    def _faulty(self, handler: Any) -> Any:
        def run(request: Request) -> tuple[Any, ...]:
            op = _op(request.path.split("?", 1)[0], request.body)
            if op == "submit" and self.exchange is not None:
                self.exchange.received(request.body)
            fault = self._live_fault(op)
            if fault is not None and fault.when == "before" and fault.kind != "delay":
                return self._broken(fault)
            if fault is not None and fault.when == "before":
                self._closing.wait(fault.delay_s)
            answer = handler(request)
            if fault is not None and fault.when == "after" and fault.kind != "delay":
                return self._broken(fault)
            if fault is not None and fault.when == "after":
                self._closing.wait(fault.delay_s)
            return tuple(answer)
        return run

    @staticmethod
    def _broken(fault: _LiveFault) -> tuple[Any, ...]:
        if fault.kind == "reset":
            raise _Hangup()
        if fault.kind == "5xx":
            return 502, {"code": 502, "msg": "bad gateway", "data": None}
        if fault.kind == "429":
            return 429, {"code": 429, "msg": "rate limited", "data": None}, {"Retry-After": "1"}
        return 200, "<html>502 Bad Gateway</html>"

    def _exchange(self, request: Request) -> tuple[Any, ...]:
        from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

        body = request.body if isinstance(request.body, dict) else {}
        if self.exchange is None:
            return 200, {"status": "err", "response": "trading is not enabled on this fake"}
        try:
            signer = recover_agent_or_user_from_l1_action(
                body["action"], body["signature"], body.get("vaultAddress"), int(body["nonce"]),
                body.get("expiresAfter"), False)
        except Exception as exc:  # any malformed signature or envelope
            return 422, {"code": 422, "msg": f"Failed to deserialize the JSON body: "
                                             f"{type(exc).__name__}", "data": None}
        return 200, self.exchange.exchange(body, str(signer))

    # The request log

    def count_type(self, info_type: str) -> int:
        """Requests received of info ``type`` ``info_type``."""
        return self.count(lambda r: isinstance(r.body, dict) and r.body.get("type") == info_type)

    # Websocket

    def _on_message(self, sock: FakeSocket, message: Any) -> None:
        method = message.get("method") if isinstance(message, dict) else None
        if method == "ping":
            sock.send_json({"channel": "pong"})
        elif method == "subscribe":
            sock.subscriptions.append(message["subscription"])
            with self._lock:
                self.subscribed += 1
            sock.send_json({"channel": "subscriptionResponse", "data": message})
            subscription = message["subscription"]
            if subscription.get("type") == "userFills" and self.exchange is not None and str(
                subscription.get("user", "")
            ).lower() == self.exchange.user:  # the venue starts with a snapshot
                sock.send_json({"channel": "userFills", "data": {
                    "isSnapshot": True, "user": self.exchange.user,
                    "fills": self.exchange.recent_fills()[-2000:]}})

    def push_candle(self, coin: str, resolution_s: int, ts: int, **changes: str) -> int:
        """Push the state of bar ``ts`` (from the data, with ``changes`` such as
        ``c="101.5"``) on the ``candle`` channel to its subscribers; return how many."""
        times, rows = self._candles[(coin, resolution_s)]
        candle = {**rows[bisect.bisect_left(times, ts * 1000)], **changes}
        name = INTERVALS[resolution_s]

        def subscribed(sock: FakeSocket) -> bool:
            return any(sub.get("type") == "candle" and sub.get("coin") == coin
                       and sub.get("interval") == name for sub in sock.subscriptions)

        return self.push({"channel": "candle", "data": candle}, subscribed)

    def push_book(self, coin: str) -> int:
        """Push the current book of ``coin`` (as ``l2Book`` answers it) on the ``l2Book``
        channel to its subscribers; return how many."""
        def subscribed(sock: FakeSocket) -> bool:
            return any(sub.get("type") == "l2Book" and sub.get("coin") == coin
                       for sub in sock.subscriptions)

        return self.push({"channel": "l2Book", "data": self._book({"coin": coin})}, subscribed)

    # Answers

    def _info(self, request: Request) -> tuple[Any, ...]:
        body = request.body if isinstance(request.body, dict) else {}
        kind = body.get("type")
        if kind in ACCOUNT_TYPES and self.exchange is not None:
            return 200, self.exchange.info(body)
        answer = {
            "meta": self._meta, "spotMeta": self._spot_meta, "candleSnapshot": self._candles_of,
            "fundingHistory": self._funding_of, "metaAndAssetCtxs": self._contexts,
            "allMids": self._mids, "l2Book": self._book,
        }.get(kind)
        if answer is None:
            return 422, {"code": 422, "msg": f"unknown info type {kind!r}", "data": None}
        return 200, answer(body)

    def _meta(self, body: dict[str, Any]) -> Any:
        return {"universe": [{"name": c, "szDecimals": SZ_DECIMALS.get(c, 2), "maxLeverage": 20}
                             for c in self.coins]}

    def _spot_meta(self, body: dict[str, Any]) -> Any:
        return {"universe": [], "tokens": []}

    def _page(self, info_type: str, times: list[int], rows: list[Any], first: int,
              stop: int, size: int) -> list[Any]:
        fault = self._venue_fault(info_type)
        if fault is not None and fault[0] == "miss":
            return []
        if fault is not None:
            first = max(0, first - fault[1])
        return rows[first:min(stop, first + size)]

    def _candles_of(self, body: dict[str, Any]) -> Any:
        req = body["req"]
        res = next((s for s, name in INTERVALS.items() if name == req["interval"]), None)
        if res is None or req["coin"] not in self.coins:
            return []
        times, rows = self._candles.get((req["coin"], res), ([], []))
        step = res * 1000
        current = int(self.now) // res * res * 1000  # the forming bar
        rows = list(rows)
        times = list(times)
        if self.forming and rows and times[-1] < current:
            last = rows[-1]
            rows.append({**last, "t": current, "T": current + step - 1, "o": last["c"],
                         "h": last["c"], "l": last["c"], "v": "0.5", "n": 1})
            times.append(current)
        low = max(int(req["startTime"]) - step + 1, 0)  # T >= startTime
        if self.candle_window is not None:
            low = max(low, current - (self.candle_window - 1) * step)
        high = min(int(req["endTime"]), current if self.forming else current - 1)
        first, stop = bisect.bisect_left(times, low), bisect.bisect_right(times, high)
        return self._page("candleSnapshot", times, rows, first, stop, CANDLES_PER_PAGE)

    def _funding_of(self, body: dict[str, Any]) -> Any:
        times, rows = self._funding.get(body.get("coin", ""), ([], []))
        high = min(int(body.get("endTime") or 2**62), int(self.now * 1000))
        first = bisect.bisect_left(times, int(body["startTime"]))
        stop = bisect.bisect_right(times, high)
        return self._page("fundingHistory", times, rows, first, stop, FUNDING_PER_PAGE)

    def _last_close(self, coin: str) -> float:
        series = [rows for (c, _), (_, rows) in self._candles.items() if c == coin and rows]
        return float(series[0][-1]["c"]) if series else 100.0

    def _contexts(self, body: dict[str, Any]) -> Any:
        contexts = []
        for coin in self.coins:
            close = f"{self._last_close(coin):g}"
            rates = self._funding.get(coin, ([], []))[1]
            contexts.append({
                "dayNtlVlm": "1000000.0", "funding": rates[-1]["fundingRate"] if rates else "0.0",
                "impactPxs": [close, close], "markPx": close, "midPx": close,
                "openInterest": "12345.6", "oraclePx": close, "premium": "0.0",
                "prevDayPx": close,
            })
        return [self._meta(body), contexts]

    def _mids(self, body: dict[str, Any]) -> Any:
        if self.exchange is not None:
            return {coin: f"{self.exchange.marks[coin]:g}" for coin in self.coins}
        return {coin: f"{self._last_close(coin):g}" for coin in self.coins}

    def _book(self, body: dict[str, Any]) -> Any:
        coin = body.get("coin", "")
        if self.exchange is not None and coin in self.exchange.marks:
            return {"coin": coin, "time": self.exchange.now_ms(),
                    "levels": self.exchange.l2_levels(coin)}
        mid = self._last_close(coin)
        tick = mid * 1e-4
        bids = [{"px": f"{mid - tick * (i + 1):.6g}", "sz": f"{1.5 * (i + 1):g}", "n": i + 1}
                for i in range(10)]
        asks = [{"px": f"{mid + tick * (i + 1):.6g}", "sz": f"{1.5 * (i + 1):g}", "n": i + 1}
                for i in range(10)]
        return {"coin": coin, "time": int(self.now * 1000), "levels": [bids, asks]}
