"""A fake venue server on 127.0.0.1 for tests: threaded HTTP, request log, injected faults.

Venue plugins subclass :class:`FakeVenueServer` to speak their venue's wire format
(``flint_hyperliquid.testing.FakeHyperliquid`` is one); tests point flint at it
through the venue's endpoint setting (``FLINT_<VENUE>_API_URL``) and use the real
client library against it. The base gives every fake:

- routes: ``route("POST", "/info", handler)``; a handler takes a :class:`Request`
  and returns ``(status, json_body)`` or ``(status, json_body, headers)``;
- a request log (:attr:`FakeVenueServer.requests`) and :meth:`count`;
- faults, each for the next ``times`` requests matching a predicate
  (:meth:`inject`): an HTTP status with optional ``Retry-After`` (429, 418, 5xx),
  a delay before answering (the client times out), a connection dropped after
  half of the body;
- :attr:`latency_s`, the time every answer takes;
- websockets on the same port (:meth:`websocket`, :meth:`push`, :meth:`drop_sockets`,
  :attr:`muted` for a stream that goes silent);
- :meth:`close`, which also cuts short any delayed answer, so no test hangs.

    with FakeHyperliquid.from_data(path) as fake:
        fake.inject(Fault.status(429, retry_after=1))
        ...
"""

import base64
import contextlib
import hashlib
import json
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@attrs.frozen
class Request:
    """One request the fake received (``body`` is the parsed JSON, or None)."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]


Handler = Callable[[Request], tuple[Any, ...]]


class FakeSocket:
    """One websocket connection to the fake: JSON text frames both ways.

    ``subscriptions`` is for the venue fake to note what the client asked for.
    """

    def __init__(self, http: BaseHTTPRequestHandler, muted: Callable[[], bool]) -> None:
        self._http = http
        self._muted = muted
        self._lock = threading.Lock()
        self.subscriptions: list[Any] = []
        self.closed = False

    def send_json(self, payload: Any) -> None:
        """Send ``payload`` as one text frame (nothing while the server is muted, or once
        closed)."""
        if self._muted():
            return
        self._send(0x1, json.dumps(payload, separators=(",", ":")).encode())

    def _send(self, opcode: int, data: bytes) -> None:
        size = len(data)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self._lock:
            if self.closed:
                return
            try:
                self._http.wfile.write(header + data)
                self._http.wfile.flush()
            except (OSError, ValueError):  # ValueError: the server closed the file meanwhile
                self.closed = True

    def receive(self) -> tuple[int, bytes] | None:
        """The next frame from the client (opcode, unmasked payload); None once closed."""
        read = self._http.rfile.read
        head = read(2)
        if len(head) < 2:
            return None
        opcode, size = head[0] & 0x0F, head[1] & 0x7F
        if size == 126:
            size = struct.unpack("!H", read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", read(8))[0]
        mask = read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(read(size)))
        return opcode, data

    def close(self) -> None:
        """Close the connection (the client sees it end)."""
        self._send(0x8, b"")
        with self._lock:
            self.closed = True
        with contextlib.suppress(OSError):
            self._http.connection.shutdown(2)


#: ``on_message(socket, parsed JSON)`` of a websocket route.
SocketHandler = Callable[[FakeSocket, Any], None]


@attrs.define
class Fault:
    """What to do instead of answering normally, for the next ``times`` matching requests."""

    kind: str  # "status", "delay" or "drop"
    times: int = 1
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    match: Callable[[Request], bool] | None = None

    @classmethod
    def status_code(cls, status: int, *, retry_after: float | None = None, times: int = 1,
                    match: Callable[[Request], bool] | None = None) -> "Fault":
        """Answer ``status`` (with ``Retry-After`` if given) and a short text body."""
        return cls("status", times, status=status, retry_after=retry_after, match=match)

    @classmethod
    def delay(cls, seconds: float, *, times: int = 1,
              match: Callable[[Request], bool] | None = None) -> "Fault":
        """Wait ``seconds`` before answering normally (longer than the client's timeout)."""
        return cls("delay", times, delay_s=seconds, match=match)

    @classmethod
    def drop(cls, *, times: int = 1, match: Callable[[Request], bool] | None = None) -> "Fault":
        """Send the headers and half of the body, then close the connection."""
        return cls("drop", times, match=match)


class FakeVenueServer:
    """Threaded HTTP server on 127.0.0.1 (a free port unless ``port`` is given)."""

    def __init__(self, port: int = 0) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._socket_routes: dict[str, SocketHandler] = {}
        #: Open websocket connections.
        self.sockets: list[FakeSocket] = []
        #: While True, websockets stay open and are read, but nothing is sent on them
        #: (a silent stream).
        self.muted = False
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: list[Request] = []
        #: Seconds every answer takes (a slow venue), 0 by default.
        self.latency_s = 0.0
        self._venue_faults: list[tuple[str, str, int]] = []  # (endpoint, fault, rows)
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (~40 ms an answer on a kept-alive connection)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # Set up

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` with ``handler``."""
        self._routes[(method, path)] = handler

    def websocket(self, path: str, on_message: SocketHandler) -> None:
        """Accept websocket connections on ``GET path``; ``on_message`` gets each JSON
        message (and its answers are not sent while :attr:`muted`)."""
        self._socket_routes[path] = on_message

    def push(self, payload: Any, match: Callable[[FakeSocket], bool] | None = None) -> int:
        """Send ``payload`` on every open websocket (that ``match``); return how many."""
        if self.muted:
            return 0
        sent = 0
        for sock in list(self.sockets):
            if not sock.closed and (match is None or match(sock)):
                sock.send_json(payload)
                sent += 1
        return sent

    def drop_sockets(self) -> None:
        """Close every open websocket (the venue dropped its clients)."""
        for sock in list(self.sockets):
            sock.close()

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next ``fault.times`` requests it matches (in order)."""
        with self._lock:
            self._faults.append(fault)

    def overlap_next(self, endpoint: str, rows: int = 3) -> None:
        """The next page of ``endpoint`` (a data endpoint, as the fake names it) also holds
        ``rows`` rows just outside what was asked (which side: the fake's docs)."""
        with self._lock:
            self._venue_faults.append((endpoint, "overlap", rows))

    def miss_next(self, endpoint: str) -> None:
        """The next page of ``endpoint`` is answered empty although data exists."""
        with self._lock:
            self._venue_faults.append((endpoint, "miss", 0))

    def _venue_fault(self, endpoint: str) -> tuple[str, int] | None:
        """The data fault to apply to this answer of ``endpoint``: ``("overlap", rows)``,
        ``("miss", 0)`` or None; each fault applies once."""
        with self._lock:
            for fault in self._venue_faults:
                if fault[0] == endpoint:
                    self._venue_faults.remove(fault)
                    return fault[1], fault[2]
        return None

    def count(self, match: Callable[[Request], bool] | None = None) -> int:
        """Requests received (that ``match``)."""
        with self._lock:
            return sum(1 for r in self.requests if match is None or match(r))

    def reset_log(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        """Stop serving (delayed answers are cut short); safe to call twice."""
        self._closing.set()
        self.drop_sockets()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeVenueServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Serving

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match is None or fault.match(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _serve_socket(self, http: BaseHTTPRequestHandler, on_message: SocketHandler) -> None:
        key = http.headers.get("Sec-WebSocket-Key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
        http.send_response(101)
        http.send_header("Upgrade", "websocket")
        http.send_header("Connection", "Upgrade")
        http.send_header("Sec-WebSocket-Accept", accept)
        http.end_headers()
        http.wfile.flush()
        sock = FakeSocket(http, lambda: self.muted)
        with self._lock:
            self.sockets.append(sock)
        try:
            while not self._closing.is_set() and not sock.closed:
                frame = sock.receive()
                if frame is None or frame[0] == 0x8:
                    break
                if frame[0] == 0x9:
                    sock._send(0xA, frame[1])
                elif frame[0] == 0x1:
                    try:
                        message = json.loads(frame[1])
                    except ValueError:
                        continue
                    on_message(sock, message)
        except OSError:
            pass
        finally:
            sock.closed = True
            with self._lock:
                self.sockets.remove(sock)
            http.close_connection = True

    def _handle(self, http: BaseHTTPRequestHandler, method: str) -> None:
        socket_route = self._socket_routes.get(http.path.split("?", 1)[0])
        if method == "GET" and socket_route is not None and (
            http.headers.get("Upgrade", "").lower() == "websocket"
        ):
            with self._lock:
                self.requests.append(Request(method, http.path, None, dict(http.headers.items())))
            self._serve_socket(http, socket_route)
            return
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = http.path.split("?", 1)[0]
        request = Request(method, http.path, body, dict(http.headers.items()))
        with self._lock:
            self.requests.append(request)
        if self.latency_s and self._closing.wait(self.latency_s):
            return
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            self._send(http, fault.status, f"fault {fault.status}".encode(), headers, "text/plain")
            return
        if fault is not None and fault.kind == "delay" and self._closing.wait(fault.delay_s):
            return
        handler = self._routes.get((method, path))
        if handler is None:
            self._send(http, 404, b"not found", {}, "text/plain")
            return
        status, payload, *rest = handler(request)
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers = rest[0] if rest else {}
        if fault is not None and fault.kind == "drop":
            self._send(http, status, data, headers, "application/json", cut=len(data) // 2)
            return
        self._send(http, status, data, headers, "application/json")

    @staticmethod
    def _send(http: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str],
              content_type: str, cut: int | None = None) -> None:
        try:
            http.send_response(status)
            http.send_header("Content-Type", content_type)
            http.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(data if cut is None else data[:cut])
            http.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if cut is not None:
            http.close_connection = True
            http.connection.shutdown(2)  # socket.SHUT_RDWR
