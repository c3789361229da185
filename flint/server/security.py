"""What guards every request: the bearer token and its scope, and the body size limit."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_bearer = HTTPBearer(auto_error=False, description="A flint API token (flint serve prints one).")


def require(scope: str) -> Callable[..., None]:
    """A dependency refusing requests without a token holding ``scope``: 401 without a
    valid token, 403 with one lacking the scope."""

    async def check(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None,
                                     Depends(_bearer)]) -> None:
        scopes = None if credentials is None else request.app.state.tokens.scopes(
            credentials.credentials)
        if scopes is None:
            raise HTTPException(401, "a valid bearer token is needed",
                                headers={"WWW-Authenticate": "Bearer"})
        if scope not in scopes:
            raise HTTPException(403, f"this token lacks the '{scope}' scope")

    check.flint_scope = scope  # type: ignore[attr-defined]
    return check


def bearer_scopes(tokens: Any, authorization: bytes | None) -> tuple[str, ...] | None:
    """The scopes of the token in an ``Authorization: Bearer ...`` header (None without
    a valid one); ``tokens`` is the server's :class:`~flint.server.auth.TokenBook`."""
    scheme, _, token = (authorization or b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    scopes: tuple[str, ...] | None = tokens.scopes(token.strip())
    return scopes


def route_scopes(route: Any) -> set[str]:
    """The scopes a route's dependencies require (empty: the route is open); ``route``
    is a route or a ``fastapi.routing.RouteContext`` (an included router's route)."""
    found: set[str] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        scope = getattr(dep.call, "flint_scope", None)
        if scope is not None:
            found.add(scope)
        pending += dep.dependencies
    return found


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes, declared or sent.

    The body is read (at most ``limit`` bytes of it) before the app sees the request,
    then handed over as one message."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = b'{"detail":"request body too large"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
