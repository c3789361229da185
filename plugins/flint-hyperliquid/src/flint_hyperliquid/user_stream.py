"""The account's ``userFills`` and ``orderUpdates`` from Hyperliquid's websocket.

A :class:`UserStream` thread connects to ``ws(s)://HOST/ws``, subscribes both channels
for one user, queues what they push and reconnects after any loss.
:attr:`UserStream.generation` counts the subscriptions made: a new value means
messages may have been missed, and the reader resyncs over REST.
"""

import contextlib
import json
import logging
import queue
import threading
import time
from typing import Any

log = logging.getLogger("flint.hyperliquid")

#: Channels the stream queues.
CHANNELS = ("orderUpdates", "userFills")
#: Seconds between the venue's application-level pings (it closes idle connections).
PING_S = 30.0


def ws_url(url: str) -> str:
    """The websocket URL of REST endpoint ``url`` (same host and port)."""
    return "ws" + url[len("http"):] + "/ws" if url.startswith("http") else url + "/ws"


class UserStream:
    """``(channel, data)`` messages of one user's fills and order updates."""

    def __init__(self, url: str, user: str, timeout_s: float, reconnect_s: float = 1.0) -> None:
        self.url = ws_url(url)
        self.user = user
        self.timeout_s = timeout_s
        self.reconnect_s = reconnect_s
        #: Subscriptions made so far (each reconnect adds one).
        self.generation = 0
        #: True while subscribed.
        self.connected = False
        self._messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socket: Any = None

    def start(self) -> None:
        """Connect (in a daemon thread) and stay connected until :meth:`stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="flint-hyperliquid-ws",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Close the connection and end the thread."""
        self._stop.set()
        socket = self._socket
        if socket is not None:
            with contextlib.suppress(Exception):
                socket.close()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 2)
            self._thread = None

    def take(self, wait_s: float) -> list[tuple[str, Any]]:
        """The queued messages, waiting up to ``wait_s`` for the first."""
        out = []
        try:
            out.append(self._messages.get(timeout=wait_s) if wait_s > 0
                       else self._messages.get_nowait())
            while True:
                out.append(self._messages.get_nowait())
        except queue.Empty:
            return out

    def _run(self) -> None:
        import websocket

        pause = self.reconnect_s
        while not self._stop.is_set():
            served = self.generation
            try:
                self._socket = websocket.create_connection(self.url, timeout=self.timeout_s)
                self._serve(self._socket)
            except (OSError, websocket.WebSocketException) as exc:
                log.info("Hyperliquid websocket: %s (reconnecting)", type(exc).__name__)
            finally:
                self.connected = False
                if self._socket is not None:
                    with contextlib.suppress(Exception):
                        self._socket.close()
                    self._socket = None
            # after a session, reconnect soon; while connecting fails, back off to 30 s
            pause = self.reconnect_s if self.generation != served else min(pause * 2, 30.0)
            self._stop.wait(pause)

    def _serve(self, socket: Any) -> None:
        import websocket

        for channel in CHANNELS:
            socket.send(json.dumps({"method": "subscribe",
                                    "subscription": {"type": channel, "user": self.user}}))
        self.generation += 1
        self.connected = True
        socket.settimeout(0.5)  # wake up to notice stop() and to ping
        pinged = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - pinged > PING_S:
                socket.send(json.dumps({"method": "ping"}))
                pinged = time.monotonic()
            try:
                text = socket.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if not text:
                return  # closed by the venue
            try:
                message = json.loads(text)
            except ValueError:
                continue  # the venue's greeting line
            if isinstance(message, dict) and message.get("channel") in CHANNELS:
                self._messages.put((message["channel"], message.get("data")))
