"""The web dashboard's static files (``flint/server/dashboard/``), served at ``/ui/``.

They hold no data (the page asks for a token and reads the API with it), so they are
open; they are served before routing, which keeps the route table to the API alone."""

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FILES = Path(__file__).with_name("dashboard")
MOUNT = "/ui"
#: Sent with every file: only this origin's scripts and styles (inline style attributes
#: are used for chart and bar sizes), no framing, no type sniffing.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                 b"img-src 'self' data:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class Dashboard:
    """ASGI middleware: ``GET /`` redirects to ``/ui/``, ``/ui/...`` are the files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.files = StaticFiles(directory=FILES, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path in ("/", MOUNT):
            await RedirectResponse(f"{MOUNT}/")(scope, receive, send)
        elif path.startswith(f"{MOUNT}/"):
            async def guarded(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *HEADERS]
                await send(message)

            try:
                await self.files({**scope, "path": path[len(MOUNT):], "root_path": ""},
                                 receive, guarded)
            except HTTPException as exc:  # no such file, or a method other than GET/HEAD
                await JSONResponse({"detail": exc.detail}, exc.status_code,
                                   exc.headers)(scope, receive, send)
        else:
            await self.app(scope, receive, send)
