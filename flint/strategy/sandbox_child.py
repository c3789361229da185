"""The sandboxed child: confine this process, then serve the parent's requests.

Forked by :mod:`flint.strategy.forkserver` with the parent's requests on fd 0, its
own output (``print``) on fds 1 and 2 and its replies on fd 3. Before reading a
request it applies every layer of :mod:`flint.strategy.isolation` the host offers
and reports them in its first reply; the parent decides whether that is enough.

Requests are pickled by the (trusted) parent, numpy arrays out of band (see
:func:`_request`); replies are JSON with bulk columns as raw bytes
(:mod:`flint.strategy.replies`), so whatever the strategy does, the parent only
ever receives data:

* ``("load", code, class_name, filename)``: validate and run the strategy code;
  reply with the class name and its ``parameters()``.
* ``("data", key, packed)``: keep candles or funding under ``key`` for later runs.
* ``("run", job, key, params, options, refs)``: make the strategy with ``params`` and
  reply with ``job(strategy, candles, **options)``, ``job`` being a trusted
  ``"module:function"``, the candles those kept under ``key`` and ``refs`` mapping
  more options to what is kept under their keys (e.g. the funding).
* ``("raw", code)``: tests only, and only in a child started with ``raw``: run
  ``code`` with the real builtins, no checks, and reply with its ``result`` variable.
  The OS layers alone must then hold.

Every reply is ``{"kind": ..., "payload": ...}``: ``ok``, ``load``, ``params``,
``memory``, ``violation`` or ``error``.
"""

import importlib
import os
import pickle
import struct
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from flint.strategy import isolation, replies
from flint.strategy.loader import (
    SandboxError,
    StrategyLoadError,
    StrategyParameterError,
    describe_failure,
    instantiate,
    load_strategy_class,
)
from flint.strategy.sandbox import funding_from_columns
from flint_core.series import CandleSeries

REQUESTS, REPLIES = 0, 3
#: Descriptors the child may hold open at once (Python opens files while importing).
OPEN_FILES = 64
_HEADER = struct.Struct("!Q")


def _read_exact(fd: int, size: int) -> memoryview | None:
    """``size`` bytes from ``fd``, read into place (None when it closes first)."""
    view = memoryview(bytearray(size))
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if not count:
            return None
        got += count
    return view.toreadonly()


def _request() -> list[memoryview] | None:
    """The parent's next request (None once it closed the pipe): a count of parts, their
    sizes, then the parts: a pickle and its out-of-band buffers (the candles' columns,
    which thus arrive with no copy but the pipe's)."""
    header = _read_exact(REQUESTS, _HEADER.size)
    sizes = header and _read_exact(REQUESTS, _HEADER.size * _HEADER.unpack(header)[0])
    if sizes is None:
        return None
    parts = []
    for (size,) in _HEADER.iter_unpack(sizes):
        part = _read_exact(REQUESTS, size)
        if part is None:
            return None
        parts.append(part)
    return parts


def _reply(kind: str, payload: Any) -> None:
    """Send ``{"kind": kind, "payload": payload}`` (:mod:`flint.strategy.replies`)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        reply = replies.encode(kind, payload)
    except (TypeError, ValueError, RecursionError) as exc:
        reply = replies.encode("error", f"the result is not JSON data: {exc}")
    view = memoryview(reply)
    while view:
        view = view[os.write(REPLIES, view):]


def _address_space() -> int:
    """Bytes of address space this process has mapped (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _confine(spec: Mapping[str, Any], prepared: isolation.Prepared) -> dict[str, Any]:
    """Apply every layer this host offers (Landlock and seccomp as the fork server
    prepared them): ``{"applied": [names], "failed": {name: why}}``."""
    applied = ["environment"]
    failed = dict(prepared.errors)
    ruleset, syscall_filter = prepared.landlock_ruleset, prepared.seccomp_filter
    memory = _address_space() + int(spec["memory_mb"]) * 1024 * 1024
    isolation.set_limits(int(spec["cpu_seconds"]), memory, OPEN_FILES)
    applied.append("rlimits")
    steps = (
        ("no_new_privs", isolation.set_process_flags),  # also parent_death
        ("namespaces", isolation.enter_namespaces),
        ("landlock", None if ruleset is None else lambda: isolation.restrict_files(ruleset)),
        # last: it forbids the calls above
        ("seccomp", None if syscall_filter is None
         else lambda: isolation.filter_syscalls(syscall_filter)),
    )
    for name, step in steps:
        if step is None:
            continue  # the fork server could not prepare it (in ``failed``)
        try:
            step()
        except (isolation.ConfinementError, OSError) as exc:
            failed[name] = str(exc)
            continue
        applied.extend(("no_new_privs", "parent_death") if name == "no_new_privs" else (name,))
    if ruleset is not None:
        os.close(ruleset)  # applied (or failed): the strategy gets no handle on it
    return {"applied": applied, "failed": failed}


def unpack_data(packed: tuple[str, Any]) -> Any:
    """A series or ``{key: series}`` from :func:`flint.strategy.sandbox.pack_candles`,
    or checked :class:`~flint_core.funding.FundingColumns` from
    :func:`~flint.strategy.sandbox.pack_funding`."""
    kind, data = packed
    if kind == "dict":
        return {key: CandleSeries(**columns) for key, columns in data.items()}
    if kind == "funding":
        return funding_from_columns(data)
    return CandleSeries(**data)


class _Session:
    def __init__(self, raw: bool) -> None:
        self.raw = raw
        self.cls: type | None = None
        self.filename = "<strategy>"
        self.data: dict[str, Any] = {}

    def handle(self, request: tuple[Any, ...]) -> tuple[str, Any]:
        op = request[0]
        if op == "load":
            _, code, class_name, self.filename = request
            self.cls = load_strategy_class(code, class_name=class_name, filename=self.filename)
            return "ok", {"name": self.cls.__name__, "parameters": self.cls.parameters()}
        if op == "data":
            self.data[request[1]] = unpack_data(request[2])
            return "ok", None
        if op == "run":
            _, job_name, key, params, options, refs = request
            options = {**options, **{name: self.data[ref] for name, ref in refs.items()}}
            module_name, _, function_name = job_name.partition(":")
            job = getattr(importlib.import_module(module_name), function_name)
            assert self.cls is not None, "run before load"
            strategy = instantiate(self.cls, params, self.filename)
            return "ok", job(strategy, self.data[key], **options)
        if op == "raw" and self.raw:
            namespace: dict[str, Any] = {"__name__": "__raw__"}
            exec(compile(request[1], "<raw>", "exec"), namespace)
            return "ok", namespace.get("result")
        raise ValueError(f"unknown request {op!r}")

    def answer(self, parts: list[memoryview]) -> None:
        try:
            kind, payload = self.handle(pickle.loads(parts[0], buffers=parts[1:]))
        except StrategyParameterError as exc:
            kind, payload = "params", {"message": str(exc), "type": exc.error_type}
        except StrategyLoadError as exc:
            kind, payload = "load", str(exc)
        except MemoryError:
            kind, payload = "memory", "memory"
        except SandboxError as exc:
            kind, payload = "violation", f"{self.filename}: {exc}"
        except Exception as exc:
            kind, payload = "error", {
                "message": f"{self.filename}: {describe_failure(exc, self.filename)}",
                "type": type(exc).__name__,
            }
        _reply(kind, payload)


def main(spec: Mapping[str, Any], prepared: isolation.Prepared) -> NoReturn:
    """Confine, say which layers hold, then answer requests until the parent closes fd 0."""
    _reply("ready", _confine(spec, prepared))
    session = _Session(bool(spec.get("raw")))
    while (parts := _request()) is not None:
        session.answer(parts)
    os._exit(0)
