"""Live Hyperliquid candles: the websocket ``candle`` channel, closed bars only.

:class:`HyperliquidCandleFeed` subscribes to ``{"type": "candle", "coin", "interval"}``
on ``ws(s)://<api host>/ws`` (the endpoint of :mod:`flint.providers.endpoints`) and
hands each bar to ``on_candle`` once it has closed (when the next bar starts), in
order, each once (:class:`flint.providers.feeds.ClosedBars`). It pings every
``ping_s``; a stream silent for ``watchdog_s`` (no message, not even a pong) or a
dropped connection is reconnected with exponential backoff and subscribed again,
and the bars missed meanwhile are fetched from the REST API before the stream
resumes: no gap, no duplicate.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from flint.providers.errors import VenueError
from flint.providers.feeds import Backoff, ClosedBars, wait
from flint_core.records import Candle
from flint_hyperliquid.markets import VENUE, interval
from flint_hyperliquid.provider import HyperliquidProvider

log = logging.getLogger("flint_hyperliquid.feed")


def ws_url(api_url: str) -> str:
    """The websocket URL of a REST base URL (``https://h`` -> ``wss://h/ws``)."""
    return api_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"


class HyperliquidCandleFeed:
    """Closed candles of one market as they happen (see the module doc).

    ``last_ts``: the open time of the last bar the consumer has (e.g. the last stored
    one); bars after it that closed before the feed started are fetched first.
    """

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
        self.market = market
        self.resolution_s = resolution_s
        self.provider = provider or HyperliquidProvider(clock=clock)
        self.coin = self.provider.coin(market)
        self.interval = interval(resolution_s)
        self.url = ws_url(self.provider.api_url)
        self.watchdog_s, self.ping_s = watchdog_s, ping_s
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.bars = ClosedBars(resolution_s, self._backfill, on_candle, last_ts)
        self.connections = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _backfill(self, first_ts: int, last_ts: int) -> Sequence[Candle]:
        return list(self.provider.fetch_candles(self.market, self.resolution_s, first_ts, last_ts))

    def _candle(self, data: dict[str, object]) -> Candle | None:
        if data.get("s") != self.coin or data.get("i") != self.interval:
            return None
        return Candle(int(str(data["t"])) // 1000, float(str(data["o"])), float(str(data["h"])),
                      float(str(data["l"])), float(str(data["c"])), float(str(data["v"])),
                      self.market, self.resolution_s, VENUE)

    # Running

    def run(self) -> None:
        """Connect, listen and reconnect until :meth:`stop` (blocking)."""
        import websocket

        while not self._stop.is_set():
            try:
                connection = websocket.create_connection(self.url, timeout=5)
            except (OSError, websocket.WebSocketException) as exc:
                log.warning("cannot connect to %s: %s", self.url, exc)
                wait(self.backoff.next(), self._stop.is_set)
                continue
            self.connections += 1
            try:
                connection.send(json.dumps({"method": "subscribe", "subscription": {
                    "type": "candle", "coin": self.coin, "interval": self.interval}}))
                self.bars.catch_up(self.clock())
                self._listen(connection)
            except (OSError, websocket.WebSocketException, VenueError) as exc:
                log.warning("%s %s feed interrupted: %s", self.market, self.interval, exc)
            finally:
                connection.close()
            wait(self.backoff.next(), self._stop.is_set)

    def _listen(self, connection: Any) -> None:
        import websocket

        connection.settimeout(min(0.25, self.watchdog_s, self.ping_s))
        heard = pinged = time.monotonic()
        while not self._stop.is_set():
            try:
                text = connection.recv()
            except websocket.WebSocketTimeoutException:
                now = time.monotonic()
                if now - heard > self.watchdog_s:
                    log.warning("%s %s feed silent for %.0f s: reconnecting", self.market,
                                self.interval, now - heard)
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
            if isinstance(message, dict) and message.get("channel") == "candle":
                candle = self._candle(message["data"])
                if candle is not None:
                    self.backoff.reset()
                    self.bars.update(candle)

    def start(self) -> "HyperliquidCandleFeed":
        """Run in a background thread; returns self."""
        self._thread = threading.Thread(target=self.run, name=f"feed-{self.market}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
