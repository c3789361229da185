"""Answers of the read routes, kept as JSON bytes until the store file changes.

DuckDB lets a file be open for writing by one process or read-only by any number,
never both, so the server cannot keep a read connection open without locking
writers (finished jobs, ``flint data download``, ...) out. Instead each answer is
kept, rendered, under the store's *change marker* (the size, modification time and
inode of the database file and of its write-ahead log): any commit by any process
changes it, and the next request reads the store again.

A kept answer is found by the request's path and query text, before routing
(:class:`KeptAnswers`, an ASGI middleware): it costs two ``stat`` calls and the
token check of the route that made it, with no connect, query, validation or JSON
rebuild. Anything else (no token, a missing scope, a changed store) goes on to the
app as usual.

While another process holds the file to write it (DuckDB's lock; a commit has
changed the marker, the writer has not let go yet), a read that had an answer before
gets that one at once instead of waiting: the write is not acknowledged to anyone
until the writer lets go (a job is complete, a delete answered only after it), so
the answer is one from just before it.

A file modified less than :data:`RACY_S` ago may be modified again within the same
timestamp tick without its marker changing, so an answer read from such a file is
kept only until that time has passed, then read again: at worst it is
:data:`RACY_S` late. Requests for the same answer while it is computed wait for
that one computation.
"""

import asyncio
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flint.server.security import bearer_scopes

#: Seconds after a change during which the file's marker is not trusted.
RACY_S = 0.1
#: Bytes of rendered answers kept, and how many (the least recently used go first).
MAX_BYTES = 64 << 20
MAX_ANSWERS = 10_000

Marker = tuple[tuple[int, int, int] | None, ...]
#: A kept answer: the marker it was read under, until when it holds (unix s; inf
#: unless the file was changing), its JSON bytes and the scopes it needs.
Entry = tuple[Marker, float, bytes, frozenset[str]]
#: A request's path and query text.
Key = tuple[str, bytes]


def change_marker(store: Path) -> tuple[Marker, float]:
    """The store's change marker and the newest modification time it holds (unix s)."""
    marker = []
    newest = 0.0
    for path in (store, store.with_name(store.name + ".wal")):
        try:
            st = os.stat(path)
        except OSError:
            marker.append(None)
            continue
        marker.append((st.st_size, st.st_mtime_ns, st.st_ino))
        newest = max(newest, st.st_mtime_ns / 1e9)
    return tuple(marker), newest


def render(answer: Any) -> bytes:
    """``answer`` (a model, or plain JSON data) as the bytes of its JSON response
    (non-finite numbers as null, as FastAPI renders them)."""
    if isinstance(answer, BaseModel):
        return answer.model_dump_json().encode()
    return to_json(answer, inf_nan_mode="null")


class ReadCache:
    """Rendered answers of reads of ``store``, each valid while the store is unchanged,
    with the scopes a token needs to be given it."""

    def __init__(self, store: Path, max_bytes: int = MAX_BYTES) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self._kept: OrderedDict[Key, Entry] = OrderedDict()
        self._bytes = 0
        self._pending: dict[tuple[Key, Marker], asyncio.Future[bytes]] = {}

    def kept(self, key: Key) -> tuple[bytes, frozenset[str]] | None:
        """The answer kept for ``key`` and the scopes it needs, if the store is unchanged."""
        kept = self._kept.get(key)
        if kept is None or kept[0] != change_marker(self.store)[0] or time.time() > kept[1]:
            return None
        self._kept.move_to_end(key)
        return kept[2], kept[3]

    async def answer(self, key: Key, scopes: Iterable[str],
                     compute: Callable[[bool], Any]) -> Response:
        """The JSON response of ``compute(wait)`` (run in a worker thread) for ``key``,
        kept while the store is unchanged for tokens holding ``scopes``. ``wait`` False:
        raise :class:`~flint.store.StoreLockedError` at once if another process holds
        the store, and the previous answer is given."""
        from flint.store import StoreLockedError

        started = time.time()
        marker, newest = change_marker(self.store)
        pending = self._pending.get((key, marker))
        if pending is not None:
            return _response(await asyncio.shield(pending))
        previous = self._kept.get(key)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[(key, marker)] = future
        try:
            body = await run_in_threadpool(lambda: render(compute(previous is None)))
        except StoreLockedError:
            if previous is None:
                future.set_exception(StoreLockedError("the store is busy"))
                future.exception()
                raise
            future.set_result(previous[2])
            return _response(previous[2])
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._pending[(key, marker)]
        future.set_result(body)
        until = newest + RACY_S if started - newest < RACY_S else math.inf
        self._keep(key, (marker, until, body, frozenset(scopes)))
        return _response(body)

    def _keep(self, key: Key, entry: Entry) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self._bytes -= len(old[2])
        if len(entry[2]) > self.max_bytes // 4:  # one answer may not push out the others
            return
        self._kept[key] = entry
        self._bytes += len(entry[2])
        while self._bytes > self.max_bytes or len(self._kept) > MAX_ANSWERS:
            _, (_, _, dropped, _) = self._kept.popitem(last=False)
            self._bytes -= len(dropped)


def _response(body: bytes) -> Response:
    return Response(body, media_type="application/json")


class KeptAnswers:
    """ASGI middleware: a GET whose answer ``cache`` keeps, asked with a token (of the
    app's ``state.tokens``) holding the scopes it needs, gets that answer before
    routing."""

    def __init__(self, app: ASGIApp, cache: ReadCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            kept = self.cache.kept((scope["path"], scope["query_string"]))
            if kept is not None:
                held = bearer_scopes(scope["app"].state.tokens,
                                     dict(scope["headers"]).get(b"authorization"))
                if held is not None and kept[1] <= set(held):
                    await _response(kept[0])(scope, receive, send)
                    return
        await self.app(scope, receive, send)
