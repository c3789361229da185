"""A fake HTTP venue on 127.0.0.1 for plugin tests: canned JSON per path, requests kept.

    with FakeHTTPServer({"/candles": [[0, 1.0, 2.0, 0.5, 1.5, 10.0]]}) as venue:
        provider = MyProvider(api_url=venue.url)
        ...
        assert venue.requests[0].query["symbol"] == ["SOL"]

A route's value is the JSON body to answer, or a function of the :class:`Request`
returning the body or ``(status, body)``. An unknown path answers 404. The
``fake_http_server`` fixture of :mod:`flint.testing.plugin` gives a started one.
"""

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


Route = Any | Callable[[Request], Any]


class FakeHTTPServer:
    """Serves ``routes`` (path -> JSON body or handler) on 127.0.0.1, on a free port."""

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  dict(self.headers), self.rfile.read(length))
                fake.requests.append(request)
                status, body = fake.answer(request)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, request: Request) -> tuple[int, Any]:
        """The status and JSON body for ``request``."""
        if request.path not in self.routes:
            return 404, {"error": f"no route {request.path}", "routes": sorted(self.routes)}
        route = self.routes[request.path]
        body = route(request) if callable(route) else route
        return body if isinstance(body, tuple) else (200, body)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "FakeHTTPServer":
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeHTTPServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
