"""Live Hyperliquid data over its websocket: closed candles and L2 book snapshots.

Both feeds talk to ``ws(s)://<api host>/ws`` (the endpoint of
:mod:`flint.providers.endpoints`) through :class:`_Stream`: it subscribes, pings
every ``ping_s``, and reconnects with exponential backoff (subscribing again) after a
dropped connection or a stream silent for ``watchdog_s`` (no message, not even a pong).

- :class:`HyperliquidCandleFeed` (channel ``candle``) hands each bar to ``on_candle``
  once it has closed (when the next bar starts), in order, each once
  (:class:`flint.providers.feeds.ClosedBars`); the bars missed while disconnected are
  fetched from the REST API before the stream resumes: no gap, no duplicate.
- :class:`HyperliquidBookFeed` (channel ``l2Book``) hands each book the venue pushes
  to ``on_book`` as an :class:`OrderbookSnapshot` stamped with the venue's time.
"""

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from flint.providers.errors import VenueError
from flint.providers.feeds import BackgroundFeed, Backoff, ClosedBars, wait
from flint_core.records import Candle, OrderbookSnapshot
from flint_hyperliquid.markets import VENUE, interval
from flint_hyperliquid.provider import HyperliquidProvider, book_snapshot

log = logging.getLogger("flint_hyperliquid.feed")


def ws_url(api_url: str) -> str:
    """The websocket URL of a REST base URL (``https://h`` -> ``wss://h/ws``)."""
    return api_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"


class _Stream(BackgroundFeed):
    """One subscription of one market, kept alive until :meth:`stop` (see the module doc)."""

    channel = ""

    def __init__(self, market: str, provider: HyperliquidProvider, *, watchdog_s: float,
                 ping_s: float, backoff: Backoff | None) -> None:
        super().__init__(market)
        self.market = market
        self.provider = provider
        self.coin = provider.coin(market)
        self.url = ws_url(provider.api_url)
        self.watchdog_s, self.ping_s = watchdog_s, ping_s
        self.backoff = backoff or Backoff()
        self.connections = 0

    def subscription(self) -> dict[str, Any]:
        """The ``subscription`` object of the subscribe message."""
        raise NotImplementedError

    def connected(self) -> None:
        """Called once subscribed on a new connection."""

    def received(self, data: Any) -> None:
        """Called with the ``data`` of each message on :attr:`channel`."""
        raise NotImplementedError

    def run(self) -> None:
        """Connect, listen and reconnect until :meth:`stop` (blocking)."""
        import websocket

        while not self.stopping():
            try:
                connection = websocket.create_connection(self.url, timeout=5)
            except (OSError, websocket.WebSocketException) as exc:
                log.warning("cannot connect to %s: %s", self.url, exc)
                wait(self.backoff.next(), self.stopping)
                continue
            self.connections += 1
            try:
                connection.send(json.dumps({"method": "subscribe",
                                            "subscription": self.subscription()}))
                self.connected()
                self._listen(connection)
            except (OSError, websocket.WebSocketException, VenueError) as exc:
                log.warning("%s %s feed interrupted: %s", self.market, self.channel, exc)
            finally:
                connection.close()
            wait(self.backoff.next(), self.stopping)

    def _listen(self, connection: Any) -> None:
        import websocket

        connection.settimeout(min(0.25, self.watchdog_s, self.ping_s))
        heard = pinged = time.monotonic()
        while not self.stopping():
            try:
                text = connection.recv()
            except websocket.WebSocketTimeoutException:
                now = time.monotonic()
                if now - heard > self.watchdog_s:
                    log.warning("%s %s feed silent for %.0f s: reconnecting", self.market,
                                self.channel, now - heard)
                    return
                if now - pinged > self.ping_s:
                    connection.send(json.dumps({"method": "ping"}))
                    pinged = now
                continue
            if not text:
                return  # closed by the venue
            heard = time.monotonic()
            try:
                message = json.loads(text)
            except ValueError:
                continue  # e.g. "Websocket connection established."
            if isinstance(message, dict) and message.get("channel") == self.channel:
                self.received(message["data"])


class HyperliquidCandleFeed(_Stream):
    """Closed candles of one market as they happen (see the module doc).

    ``last_ts``: the open time of the last bar the consumer has (e.g. the last stored
    one); bars after it that closed before the feed started are fetched first.
    """

    channel = "candle"

    def __init__(
        self,
        market: str,
        resolution_s: int,
        on_candle: Callable[[Candle], None],
        *,
        provider: HyperliquidProvider | None = None,
        last_ts: int | None = None,
        watchdog_s: float = 30.0,
        ping_s: float = 20.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(market, provider or HyperliquidProvider(clock=clock),
                         watchdog_s=watchdog_s, ping_s=ping_s, backoff=backoff)
        self.resolution_s = resolution_s
        self.interval = interval(resolution_s)
        self.clock = clock
        self.bars = ClosedBars(resolution_s, self._backfill, on_candle, last_ts)

    def _backfill(self, first_ts: int, last_ts: int) -> Sequence[Candle]:
        return list(self.provider.fetch_candles(self.market, self.resolution_s, first_ts, last_ts))

    def subscription(self) -> dict[str, Any]:
        return {"type": "candle", "coin": self.coin, "interval": self.interval}

    def connected(self) -> None:
        self.bars.catch_up(self.clock())

    def received(self, data: Any) -> None:
        if data.get("s") != self.coin or data.get("i") != self.interval:
            return
        candle = Candle(int(str(data["t"])) // 1000, float(str(data["o"])),
                        float(str(data["h"])), float(str(data["l"])), float(str(data["c"])),
                        float(str(data["v"])), self.market, self.resolution_s, VENUE)
        self.backoff.reset()
        self.bars.update(candle)


class HyperliquidBookFeed(_Stream):
    """L2 book snapshots of one market as the venue pushes them (see the module doc)."""

    channel = "l2Book"

    def __init__(
        self,
        market: str,
        on_book: Callable[[OrderbookSnapshot], None],
        *,
        provider: HyperliquidProvider | None = None,
        watchdog_s: float = 30.0,
        ping_s: float = 20.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(market, provider or HyperliquidProvider(), watchdog_s=watchdog_s,
                         ping_s=ping_s, backoff=backoff)
        self.on_book = on_book

    def subscription(self) -> dict[str, Any]:
        return {"type": "l2Book", "coin": self.coin}

    def received(self, data: Any) -> None:
        if data.get("coin") != self.coin:
            return
        self.backoff.reset()
        self.on_book(book_snapshot(self.market, data))
