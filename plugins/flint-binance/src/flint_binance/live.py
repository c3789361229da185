"""Live trading through ccxt: :class:`CCXTAdapter`, the venue adapter of Binance USD-M
(``binanceusdm``, the default) and, as far as ccxt's unified API reaches, of any other
ccxt exchange.

It uses ccxt's synchronous client (flint's :class:`~flint.live.adapter.VenueAdapter`
interface is blocking) with ccxt's own rate limiting off: one lock serialises the
exchange object, every request has ``timeout_s``. What it does for safety:

- every order carries flint's client order id (``newClientOrderId``; ``clientAlgoId``
  for conditional orders) and is found again by it (``origClientOrderId``);
- every signed request carries ``recvWindow``: Binance refuses a request that reaches
  it later than that (``-1021``), so an order it does not know
  ``recv_window_s + visibility_s`` after the send never arrived
  (:attr:`ambiguity_window_s`; ``visibility_s`` covers Binance answering "order does not
  exist" for a moment after accepting one);
- a command's outcome is classified from Binance's error code where the reply has one
  (on any URL: ccxt keys its own code table on the production host names), else from
  ccxt's exception: refused (:class:`VenueRejected`), unknown (:class:`AmbiguousOutcome`:
  timeout, connection reset, 5xx, 429/418, ``-1000``/``-1001``/``-1003``/``-1006``/
  ``-1007``/``-1008``, a duplicate client order id ``-4116``, a reply that cannot be
  parsed) or a
  failed read (:class:`VenueUnavailable`); nothing is ever re-sent;
- a resting limit order is amended with Binance's modify order (``PUT /fapi/v1/order``);
- stop and take-profit orders go to the exchange's own conditional-order endpoint:
  with ccxt 4.5 (``stopLossPrice`` / ``takeProfitPrice``) that is Binance's algo
  service, ``POST /fapi/v1/algoOrder`` (``STOP_MARKET`` / ``TAKE_PROFIT_MARKET``);
- ``dead_man_s`` arms Binance's ``countdownCancelAll``: every open order of the markets
  traded is cancelled if flint stops refreshing it (each :meth:`events` round does);
- testnet by default: Binance's demo trading (``demo-fapi.binance.com``; ccxt refuses
  the retired futures sandbox), ccxt's sandbox URLs for other exchanges;
  ``network="mainnet"`` trades real money;
- keys are :class:`~flint.live.credentials.Secret` s (``FLINT_CCXT_API_KEY``,
  ``FLINT_CCXT_SECRET`` and, if set, ``FLINT_CCXT_PASSWORD`` by default) revealed only
  to the exchange object, and never shown by the adapter, its errors or its logs.

Fills are read with ``userTrades`` per market (Binance needs the symbol): the markets
given as ``markets`` plus every market the adapter has seen an order or position in.
Order updates and fills (:meth:`CCXTAdapter.events`) are polled over REST.
"""

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flint.live.adapter import (
    AmbiguousOutcome,
    OrderRequest,
    UserEvents,
    VenueAdapter,
    VenueBalance,
    VenueError,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueUnavailable,
)
from flint.live.credentials import CredentialError, Secret, load_secret
from flint_binance.client import _offline, origin, rebase_api
from flint_binance.markets import MarketNames
from flint_binance.provider import DEFAULT_EXCHANGE, venue_of
from flint_core.enums import OrderState, OrderType, Side, TimeInForce

log = logging.getLogger("flint.live")

#: Where the keys are read from (environment, else keyring) unless given.
KEY_VAR, SECRET_VAR, PASSWORD_VAR = "FLINT_CCXT_API_KEY", "FLINT_CCXT_SECRET", "FLINT_CCXT_PASSWORD"
NETWORKS = ("testnet", "mainnet")

#: Binance error codes after which a command's outcome is unknown (never a rejection).
AMBIGUOUS_CODES = {
    "-1000": "server_error",  # UNKNOWN: an unknown error occurred while processing
    "-1001": "server_error",  # DISCONNECTED: internal error
    "-1003": "rate_limited",  # TOO_MANY_REQUESTS
    "-1006": "unparsable",  # UNEXPECTED_RESP: execution status unknown
    "-1007": "timeout",  # TIMEOUT: send status unknown, execution status unknown
    "-1008": "rate_limited",  # server overloaded
    "-4116": "duplicate",  # the client order id is taken by an open order: ours arrived
}
#: Binance's "unknown order sent" and "order does not exist".
NOT_FOUND = ("-2011", "-2013")
_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
_MSG = re.compile(r'"msg"\s*:\s*"([^"]*)"')
_STATES = {"open": OrderState.CONFIRMED, "closed": OrderState.FILLED,
           "canceled": OrderState.CANCELLED, "expired": OrderState.EXPIRED,
           "rejected": OrderState.FAILED}
_WIRE_SIDES = {Side.LONG: "buy", Side.SHORT: "sell"}
_SIZE_TOL = 1e-12
_WEEK_MS = 7 * 86_400_000


class RedactHeaders(logging.Filter):
    """Masks key-like header values (API keys, signatures, passphrases) in the records of
    ccxt's logger, which logs every request's headers at DEBUG level."""

    _HEADER = re.compile(r"""(['"])([\w-]*(?:key|sign|pass|secret|token)[\w-]*)\1(\s*:\s*)"""
                         r"""(['"])(.*?)\4""", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self._HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}***{m[4]}", text)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


def _redact_ccxt_logs() -> None:
    """Install :class:`RedactHeaders` on ccxt's request logger (once)."""
    logger = logging.getLogger("ccxt.base.exchange")
    if not any(isinstance(f, RedactHeaders) for f in logger.filters):
        logger.addFilter(RedactHeaders())


def _optional(name: str) -> Secret | None:
    """The key ``name`` if the environment or the keyring holds it."""
    try:
        return load_secret(name)
    except CredentialError:
        return None


def binance_code(exc: BaseException) -> str:
    """The Binance error code in a ccxt error's message (``"-2019"``), or ""."""
    found = _CODE.search(str(exc))
    return found.group(1) if found else ""


def _describe(exc: BaseException) -> str:
    """A short, key-free description of a ccxt error: its code and message, or its class."""
    text = str(exc)
    code, msg = _CODE.search(text), _MSG.search(text)
    if code:
        return f"{code.group(1)} {msg.group(1) if msg else ''}".strip()
    return type(exc).__name__


def classify(exc: Exception, what: str, writes: bool) -> VenueError:
    """The flint error of ``exc`` raised by a ccxt call ``what`` (a command if ``writes``)."""
    import ccxt

    code = binance_code(exc)
    detail = f"{what}: {_describe(exc)}"
    if code in AMBIGUOUS_CODES or not isinstance(exc, ccxt.BaseError):
        kind = AMBIGUOUS_CODES.get(code, "unparsable")
    elif code or isinstance(exc, ccxt.ExchangeError):
        if writes or code in NOT_FOUND:
            return VenueRejected(code or type(exc).__name__, detail)
        return VenueUnavailable(detail)
    elif isinstance(exc, ccxt.RequestTimeout):
        kind = "timeout"
    elif isinstance(exc, ccxt.DDoSProtection):
        kind = "rate_limited"
    elif isinstance(exc, ccxt.NetworkError) and _offline(exc):
        if writes:  # no connection was made: nothing was sent
            return VenueRejected("unreachable", detail)
        return VenueUnavailable(detail)
    elif isinstance(exc, ccxt.ExchangeNotAvailable):
        kind = "server_error"
    elif isinstance(exc, ccxt.NetworkError):
        kind = "reset"
    else:
        kind = "unparsable"
    return AmbiguousOutcome(kind, detail) if writes else VenueUnavailable(f"{kind}: {detail}")


class CCXTAdapter(VenueAdapter):
    """One account on a ccxt exchange (see the module doc).

    ``exchange``: a ccxt exchange id (``binanceusdm``); ``network``: ``testnet``
    (default) or ``mainnet``; ``api_url`` moves every REST endpoint to another scheme,
    host and port (a fake venue); ``markets``: flint markets whose fills are read even
    before the adapter saw an order there; ``post_only``: send GTC limit orders as
    post-only (``GTX``); ``dead_man_s``: arm ``countdownCancelAll`` with this many
    seconds (None: off); ``options``: extra ccxt options.
    """

    def __init__(
        self,
        exchange: str = DEFAULT_EXCHANGE,
        *,
        network: str = "testnet",
        api_key: Secret | None = None,
        api_secret: Secret | None = None,
        password: Secret | None = None,
        api_url: str | None = None,
        markets: Sequence[str] = (),
        settle: str = "USDT",
        timeout_s: float = 10.0,
        recv_window_s: float = 5.0,
        visibility_s: float = 60.0,
        post_only: bool = False,
        dead_man_s: float | None = None,
        poll_s: float = 1.0,
        options: dict[str, Any] | None = None,
    ) -> None:
        import ccxt

        if exchange not in ccxt.exchanges:
            raise ValueError(f"ccxt has no exchange '{exchange}'")
        if dead_man_s is not None and not hasattr(getattr(ccxt, exchange),
                                                  "fapiPrivatePostCountdownCancelAll"):
            raise ValueError(f"{exchange} has no countdownCancelAll: dead_man_s needs Binance "
                             f"USD-M")
        if network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
        if not 0 < recv_window_s <= 60:
            raise ValueError("recv_window_s must be in (0, 60] (Binance's limit)")
        _redact_ccxt_logs()
        self.exchange_id, self.network = exchange, network
        self.venue = venue_of(exchange)
        self.quote_asset = settle
        self.settle = settle
        self.timeout_s = float(timeout_s)
        self.recv_window_s = float(recv_window_s)
        self.ambiguity_window_s = self.recv_window_s + float(visibility_s)
        self.post_only = post_only
        self.dead_man_s = dead_man_s
        self.poll_s = float(poll_s)
        self._api_url = api_url
        self._markets = tuple(markets)
        self._options = dict(options or {})
        self._key = api_key if api_key is not None else load_secret(KEY_VAR)
        self._secret = api_secret if api_secret is not None else load_secret(SECRET_VAR)
        self._password = password if password is not None else _optional(PASSWORD_VAR)
        self._lock = threading.RLock()
        self._exchange: Any = None
        self._names: MarketNames | None = None
        self._symbols: set[str] = set()  # unified symbols whose fills are read
        self._located: dict[str, tuple[str, bool]] = {}  # client id -> (symbol, conditional)
        self._client_ids: dict[str, str] = {}  # venue order id -> client id
        self._open: dict[str, VenueOrder] = {}  # client id -> last report of an open order
        self._heartbeat = 0.0

    def __repr__(self) -> str:
        return f"CCXTAdapter({self.exchange_id!r}, network={self.network!r})"

    # Connection

    def connect(self) -> None:
        with self._lock:
            if self._exchange is None:
                self._exchange = self._make_exchange()
            if not self._exchange.markets:  # a new exchange object (first or after close)
                self._call("load_markets", lambda ex: ex.load_markets(), writes=False)
            if self._names is None:
                self._names = MarketNames(self._exchange.markets, self.venue, self.settle)
                self._symbols.update(self._names.symbol(m) for m in self._markets)
        self._beat(force=True)

    def _make_exchange(self) -> Any:
        import ccxt

        config: dict[str, Any] = {
            "apiKey": self._key.reveal(), "secret": self._secret.reveal(),
            "enableRateLimit": False, "timeout": int(self.timeout_s * 1000),
            "options": {
                "fetchCurrencies": False, "fetchMargins": False,
                "defaultType": "swap", "warnOnFetchOpenOrdersWithoutSymbol": False,
                "recvWindow": int(self.recv_window_s * 1000),
                "fetchMarkets": {"types": ["linear"]}, **self._options,
            },
        }
        if self._password is not None:
            config["password"] = self._password.reveal()
        exchange = getattr(ccxt, self.exchange_id)(config)
        if self.network == "testnet":
            if "demo" in exchange.urls:  # Binance: demo trading replaced the futures testnet
                exchange.enable_demo_trading(True)
            else:
                exchange.set_sandbox_mode(True)
        if self._api_url:
            exchange.urls["api"] = rebase_api(exchange.urls["api"], self._api_url)
        return exchange

    def close(self) -> None:
        with self._lock:
            if self._exchange is None:
                return
            if self.dead_man_s:  # a clean stop leaves resting orders (see the context)
                for symbol in sorted(self._symbols):
                    try:
                        self._countdown(symbol, 0)
                    except VenueError as exc:
                        log.warning("%s: could not disarm countdownCancelAll (%s)", self.venue,
                                    exc)
            session = getattr(self._exchange, "session", None)
            if session is not None:
                session.close()
            self._exchange = None

    @property
    def endpoint(self) -> str:
        """``scheme://host[:port]`` the adapter trades with (the testnet's by default)."""
        with self._lock:
            if self._exchange is None:
                self._exchange = self._make_exchange()
            urls = self._exchange.urls["api"]
            return origin(urls.get("fapiPrivate", urls) if isinstance(urls, dict) else urls)

    @property
    def names(self) -> MarketNames:
        """The exchange's markets by flint name (after :meth:`connect`)."""
        if self._names is None:
            self.connect()
        assert self._names is not None
        return self._names

    def _call(self, what: str, request: Callable[[Any], Any], writes: bool) -> Any:
        """``request(exchange)`` (a ccxt call) under the lock, its failures classified."""
        with self._lock:
            if self._exchange is None:
                self._exchange = self._make_exchange()
            try:
                return request(self._exchange)
            except Exception as exc:  # every failure of ccxt, classified
                raise classify(exc, what, writes) from None

    def _read(self, what: str, request: Callable[[Any], Any]) -> Any:
        try:
            return self._call(what, request, writes=False)
        except VenueRejected as exc:
            raise VenueUnavailable(str(exc)) from None

    # Dead-man switch

    def _countdown(self, symbol: str, ms: int) -> None:
        self._call("countdownCancelAll", lambda ex: ex.fapiPrivatePostCountdownCancelAll(
            {"symbol": ex.market(symbol)["id"], "countdownTime": ms}), writes=True)

    def _beat(self, force: bool = False) -> None:
        """Refresh ``countdownCancelAll`` (every quarter of ``dead_man_s``)."""
        if not self.dead_man_s:
            return
        now = time.monotonic()
        if not force and now < self._heartbeat:
            return
        for symbol in sorted(self._symbols):
            self._countdown(symbol, int(self.dead_man_s * 1000))
        self._heartbeat = now + self.dead_man_s / 4

    # Translation

    def _order(self, data: dict[str, Any], read: bool = False) -> VenueOrder:
        """``data`` (a ccxt order) as flint's record; a record that cannot be read is an
        ambiguous outcome of a command (``read``: a failed read)."""
        try:
            info = data.get("info") or {}
            symbol = str(data["symbol"])
            trigger = data.get("triggerPrice") or data.get("stopPrice")
            if trigger:
                kind = OrderType.TAKE_PROFIT if data.get("takeProfitPrice") else (
                    OrderType.STOP_LOSS)
            else:
                kind = OrderType.MARKET if data.get("type") == "market" else OrderType.LIMIT
            size, filled = float(data["amount"]), float(data.get("filled") or 0.0)
            state = _STATES[str(data["status"])]
            if state is OrderState.CONFIRMED and filled > _SIZE_TOL:
                state = OrderState.PARTIALLY_FILLED
            if trigger and state is OrderState.FILLED and filled < size - _SIZE_TOL:
                # an algo order passed on to the matching engine: TRIGGERED is still working,
                # FINISHED ended there with what it filled
                still = info.get("algoStatus") == "TRIGGERED"
                state = (OrderState.PARTIALLY_FILLED if filled > _SIZE_TOL else
                         OrderState.CONFIRMED) if still else OrderState.EXPIRED
            client_id = str(data.get("clientOrderId") or data["id"])
            venue_id = str(data["id"])
            report = VenueOrder(
                client_id, self.names.market(symbol), Side.LONG if data["side"] == "buy"
                else Side.SHORT, kind, size, state, float(trigger or data.get("price") or 0.0),
                filled, float(data.get("average") or 0.0), bool(data.get("reduceOnly")),
                venue_id, float(data.get("timestamp") or 0) / 1000.0,
                reason=str(info.get("algoStatus") or info.get("status") or ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if read:
                raise VenueUnavailable(f"unparsable order record: {exc!r}") from None
            raise AmbiguousOutcome("unparsable", f"order record: {exc!r}") from None
        self._client_ids[venue_id] = client_id
        actual = str(info.get("actualOrderId") or "")
        if actual and actual != "0":
            self._client_ids[actual] = client_id
        self._located[client_id] = (symbol, bool(trigger))
        self._symbols.add(symbol)
        if state in (OrderState.CONFIRMED, OrderState.PARTIALLY_FILLED):
            self._open[client_id] = report
        else:
            self._open.pop(client_id, None)
        return report

    def _fill(self, trade: dict[str, Any]) -> VenueFill:
        symbol = str(trade["symbol"])
        order_id = str(trade["order"])
        fee = trade.get("fee") or {}
        return VenueFill(
            str(trade["id"]), self._client_id_of(order_id, symbol), self.names.market(symbol),
            Side.LONG if trade["side"] == "buy" else Side.SHORT, float(trade["price"]),
            float(trade["amount"]), float(fee.get("cost") or 0.0),
            float(trade["timestamp"]) / 1000.0, trade.get("takerOrMaker") == "maker",
        )

    def _client_id_of(self, order_id: str, symbol: str) -> str:
        """The client order id of venue order ``order_id`` (asked once, then remembered)."""
        if order_id not in self._client_ids:
            try:
                self._order(self._read("fetch_order", lambda ex: ex.fetch_order(
                    order_id, symbol)), read=True)
            except VenueUnavailable:
                return order_id  # asked again next time
        return self._client_ids.get(order_id, order_id)

    # Orders

    def _params(self, request: OrderRequest) -> tuple[str, str, float | None, dict[str, Any]]:
        """(symbol, ccxt type, price, params) of ``request``."""
        symbol = self.names.symbol(request.market)
        params: dict[str, Any] = {"clientOrderId": request.client_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.order_type is OrderType.MARKET:
            return symbol, "market", None, params
        if request.order_type is OrderType.LIMIT:
            tif = request.time_in_force
            if tif is TimeInForce.GTC and self.post_only:
                params["postOnly"] = True
            else:
                params["timeInForce"] = tif.value
            return symbol, "limit", request.price, params
        trigger = "stopLossPrice" if request.order_type is OrderType.STOP_LOSS else (
            "takeProfitPrice")
        params[trigger] = request.price
        return symbol, "market", None, params

    def check_order(self, request: OrderRequest) -> None:
        """Name, size and price rules of the market, without sending anything."""
        import ccxt

        try:
            symbol, _, price, _ = self._params(request)
            amount = float(self._exchange.amount_to_precision(symbol, request.size))
            limits = self._exchange.market(symbol)["limits"]
            reference = request.price if request.price > 0 else None
            if price is not None:
                self._exchange.price_to_precision(symbol, price)
            minimum = (limits.get("cost") or {}).get("min")
            if minimum and reference and not request.reduce_only and (
                amount * reference < minimum
            ):
                raise VenueRejected("-4164", f"notional {amount * reference:g} is below "
                                             f"{minimum:g}")
        except ccxt.BaseError as exc:
            raise VenueRejected(type(exc).__name__, _describe(exc)) from None
        except (LookupError, ValueError) as exc:  # UnknownMarket
            raise VenueRejected("unknown_market", str(exc)) from None

    def place(self, request: OrderRequest) -> VenueOrder:
        try:
            symbol, kind, price, params = self._params(request)
        except (LookupError, ValueError) as exc:  # UnknownMarket
            raise VenueRejected("unknown_market", str(exc)) from None
        if self.dead_man_s and symbol not in self._symbols:  # armed before its first order
            try:
                self._countdown(symbol, int(self.dead_man_s * 1000))
            except VenueError as exc:
                raise VenueRejected("dead_man", f"countdownCancelAll not armed: {exc}") from None
        self._located[request.client_id] = (symbol, request.order_type in (
            OrderType.STOP_LOSS, OrderType.TAKE_PROFIT))
        self._symbols.add(symbol)
        side = _WIRE_SIDES[request.side]
        data = self._call("create_order", lambda ex: ex.create_order(
            symbol, kind, side, request.size, price, params), writes=True)
        return self._order(data)

    def _locate(self, client_id: str) -> Iterator[tuple[str, bool]]:
        """Where ``client_id`` may be: (symbol, conditional), most likely first."""
        if client_id in self._located:
            yield self._located[client_id]
            return
        for symbol in sorted(self._symbols):
            yield symbol, False
            if self._conditional_api():
                yield symbol, True

    def _conditional_api(self) -> bool:
        """The exchange has Binance's algo service (conditional orders apart)."""
        import ccxt

        return hasattr(getattr(ccxt, self.exchange_id), "fapiPrivateGetOpenAlgoOrders")

    def cancel(self, client_id: str) -> VenueOrder:
        if client_id not in self._located:
            self.open_orders()  # learns where open orders are
        if client_id not in self._located:
            raise VenueRejected("-2011", f"no open order {client_id}")
        symbol, conditional = self._located[client_id]
        params: dict[str, Any] = {"clientOrderId": client_id}
        if conditional:
            params["trigger"] = True
        data = self._call("cancel_order", lambda ex: ex.cancel_order(None, symbol, params),
                          writes=True)
        if not conditional:
            return self._order(data)
        # Binance answers a conditional cancel with ids only: read the order
        return self.state_after(client_id, "cancelled")

    def amend(self, client_id: str, size: float | None = None,
              price: float | None = None) -> VenueOrder:
        """A resting limit order's new size (its whole size, filled part included) and/or
        price (Binance's modify-order: ``PUT /fapi/v1/order``)."""
        self.names  # noqa: B018 (connects)
        if not self._exchange.has.get("editOrder"):
            raise VenueRejected("unsupported", f"{self.exchange_id} cannot amend orders")
        current = self._open.get(client_id) or self.order_status(client_id)
        if current is None or current.state not in (OrderState.CONFIRMED,
                                                    OrderState.PARTIALLY_FILLED):
            raise VenueRejected("-2013", f"no open order {client_id}")
        if current.order_type is not OrderType.LIMIT:
            raise VenueRejected("unsupported", "only limit orders can be amended")
        symbol = self._located[client_id][0]
        side = _WIRE_SIDES[current.side]
        new_size = current.size if size is None else size
        new_price = current.price if price is None else price
        data = self._call("edit_order", lambda ex: ex.edit_order(
            current.venue_order_id, symbol, "limit", side, new_size, new_price,
            {"clientOrderId": client_id}), writes=True)
        return self._order(data)

    def order_status(self, client_id: str) -> VenueOrder | None:
        for symbol, conditional in list(self._locate(client_id)):
            params: dict[str, Any] = {"clientOrderId": client_id}
            if conditional:
                params["trigger"] = True
            try:
                data = self._call("fetch_order", lambda ex, s=symbol, p=params: (
                    ex.fetch_order(None, s, p)), writes=False)
            except VenueRejected as exc:
                if exc.code in NOT_FOUND:
                    continue
                raise VenueUnavailable(str(exc)) from None
            return self._order(data, read=True)
        return None

    def open_orders(self) -> Sequence[VenueOrder]:
        return self._open_orders(None)

    def _open_orders(self, symbol: str | None) -> list[VenueOrder]:
        """Open orders (and conditional ones) of ``symbol``, or of every market (which
        Binance weighs 40 times more)."""
        out = [self._order(o, read=True) for o in self._read(
            "fetch_open_orders", lambda ex: ex.fetch_open_orders(symbol))]
        if self._conditional_api():
            out += [self._order(o, read=True) for o in self._read(
                "fetch_open_orders", lambda ex: ex.fetch_open_orders(
                    symbol, None, None, {"trigger": True}))]
        return out

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        return sorted(self._fills_after(int(ts * 1000)), key=lambda f: (f.ts, f.trade_id))

    def _fills_after(self, since_ms: int) -> list[VenueFill]:
        """Fills at or after ``since_ms`` in every market read, a week a window (Binance's
        limit), 1000 a page."""
        now = int(time.time() * 1000) + 60_000
        out: list[VenueFill] = []
        self.names  # noqa: B018 (connects)
        for symbol in sorted(self._symbols):
            start = max(since_ms, 0)
            while start <= now:
                end = min(start + _WEEK_MS - 1, now)
                page = self._read("fetch_my_trades", lambda ex, s=symbol, a=start, b=end: (
                    ex.fetch_my_trades(s, a, 1000, {"endTime": b})))
                out += [self._fill(t) for t in page]
                if len(page) >= 1000:
                    start = int(page[-1]["timestamp"])  # same-ms trades come again: deduped
                    continue
                start = end + 1
        return list({f.trade_id: f for f in out}.values())

    def positions(self) -> Sequence[VenuePosition]:
        out = []
        for data in self._read("fetch_positions", lambda ex: ex.fetch_positions()):
            size = float(data.get("contracts") or 0.0) * float(data.get("contractSize") or 1.0)
            if abs(size) <= _SIZE_TOL:
                continue
            symbol = str(data["symbol"])
            self._symbols.add(symbol)
            out.append(VenuePosition(
                self.names.market(symbol), -size if data.get("side") == "short" else size,
                float(data.get("entryPrice") or 0.0), float(data.get("markPrice") or 0.0)))
        return out

    def balances(self) -> Sequence[VenueBalance]:
        """Each asset's wallet balance where the exchange reports one (ccxt's ``total`` of
        a futures account is the margin balance: it holds the unrealised PnL, which flint
        adds from the positions itself), else ccxt's ``total``."""
        data = self._read("fetch_balance", lambda ex: ex.fetch_balance())
        totals, free = data.get("total") or {}, data.get("free") or {}
        wallets = wallet_balances(data.get("info"))
        return [VenueBalance(str(asset), wallets.get(str(asset), float(total)),
                             float(free.get(asset) or 0.0))
                for asset, total in totals.items() if total is not None]

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        """Polled over REST: fills after ``cursor`` (a time in ms) and the open orders
        that changed since the last round, in the markets the adapter knows; every
        ``poll_s`` until something happened or ``timeout_s`` passed."""
        if not cursor:  # a little back: the venue's clock may lag (fills are deduped)
            self._open.clear()
            self.open_orders()
            return UserEvents(cursor=str(int(time.time() * 1000) - 5000))
        deadline = time.monotonic() + timeout_s
        since = int(cursor)
        while True:
            self._beat()
            orders = self._order_changes()
            fills = tuple(f for f in self.fills_since(since / 1000) if f.ts * 1000 >= since)
            if orders or fills or time.monotonic() >= deadline:
                break
            time.sleep(min(self.poll_s, max(deadline - time.monotonic(), 0.0)))
        last = max((int(f.ts * 1000) + 1 for f in fills), default=since)
        return UserEvents(orders, fills, str(max(last, since)))

    def _order_changes(self) -> tuple[VenueOrder, ...]:
        """Open orders that are new or changed since the adapter last reported them, and
        the state of those it reported open that no longer are (asked market by market:
        orders of other markets are found by reconciliation's :meth:`open_orders`)."""
        before = dict(self._open)
        now = {o.client_id: o for symbol in sorted(self._symbols)
               for o in self._open_orders(symbol)}
        changed = [o for cid, o in now.items() if before.get(cid) != o]
        for cid in set(before) - set(now):
            report = self.order_status(cid)
            if report is None:
                self._open.pop(cid, None)
            else:
                changed.append(report)
        return tuple(changed)


def wallet_balances(info: Any) -> dict[str, float]:
    """``{asset: wallet balance}`` from a futures account's raw answer (Binance's
    ``assets[].walletBalance`` of ``/fapi/v3/account``, or ``balance`` of
    ``/fapi/v3/balance``); empty for an answer without them."""
    rows = info.get("assets") if isinstance(info, dict) else info
    out: dict[str, float] = {}
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, dict) or "asset" not in row:
            continue
        wallet = row.get("walletBalance", row.get("balance"))
        if wallet is not None:
            out[str(row["asset"])] = float(wallet)
    return out
