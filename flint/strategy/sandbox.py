"""Run untrusted strategy code in a child process the operating system confines.

Code submitted through the command line, the HTTP API or MCP goes through
:func:`run_in_sandbox` (one run) or a :class:`Sandbox` (a long-lived child that
loads the code once and runs many jobs, e.g. optimisation trials). The child is
forked from a warm fork server (:mod:`flint.strategy.forkserver`) and, before it
reads the code, confines itself with every layer of
:mod:`flint.strategy.isolation` the host offers: an empty environment, resource
limits, ``no_new_privs``, death with its parent, user and network namespaces,
Landlock (read-only access to Python and its packages) and a seccomp filter (no
processes, sockets, writes or raised limits). Then the code is validated and
loaded with the Python-level checks of :mod:`flint.strategy.loader`, the first
and friendlier layer.

Untrusted code is refused when the host lacks one of
:data:`~flint.strategy.isolation.REQUIRED` unless the caller passes
``trust=True`` (``--trust`` on the command line).

Each run hands the strategy and the candles to a *job*: a trusted function
named ``"module:function"``, called in the child as ``job(strategy, candles,
**options)``, whose result must be JSON data. Candles and funding go to a child once
per object (:meth:`Sandbox.run`), as numpy columns. Only JSON comes back, its bulk
columns as raw bytes (:mod:`flint.strategy.replies`, checked as strictly), so a
compromised child cannot send the parent anything but data. The parent enforces
the CPU (per run), wall-clock, memory, result-size and output limits; what the
strategy prints reaches ``output`` (default: this process's standard output) with
control characters removed.

The default job, :func:`signals`, replays the candles the way the engine does
(``history`` = a window of the earlier bars) and counts the v1 signals.
"""

import codecs
import fcntl
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flint.strategy import isolation, replies
from flint.strategy.forkserver import ForkServerError, fork_server
from flint.strategy.loader import StrategyLoadError, StrategyParameterError
from flint_core.enums import Signal
from flint_core.funding import NUMBERS, FundingColumns
from flint_core.records import Candle, FundingRate
from flint_core.series import CandleSeries

DEFAULT_JOB = "flint.strategy.sandbox:signals"
_HEADER = struct.Struct("!Q")
#: Seconds between two checks of the child's CPU time while it runs.
_POLL_S = 0.25
#: Seconds to wait for the exit status of a child that closed its reply pipe.
_EXIT_WAIT_S = 10.0


class StrategyExecutionError(Exception):
    """The strategy failed while running in the sandbox; ``error_type`` names the
    exception the strategy raised (this class's name when the sandbox itself failed)."""

    def __init__(self, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type or type(self).__name__


class StrategyTimeoutError(StrategyExecutionError):
    """The strategy used up its CPU time or wall-clock time."""


class StrategyMemoryError(StrategyExecutionError):
    """The strategy needed more memory than the sandbox allows."""


class StrategyOutputError(StrategyExecutionError):
    """The strategy printed more than the sandbox allows."""


class SandboxUnavailableError(StrategyExecutionError):
    """This host cannot confine untrusted code, and the caller did not trust it."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of a sandboxed child.

    :param cpu_seconds: CPU time of one run (one job call).
    :param memory_mb: address space the strategy may add to what the child has
        mapped once started (interpreter, numpy and flint loaded): ``RLIMIT_AS``
        is set to that footprint plus this.
    :param wall_seconds: wall-clock time of one run before the child is killed
        (default: twice the CPU time plus 30 s).
    :param max_result_mb: largest result one run may send back.
    :param max_output_kb: most text the strategy may print per run; the child is
        killed past it.
    """

    cpu_seconds: int = 300
    memory_mb: int = 1024
    wall_seconds: float | None = None
    max_result_mb: int = 256
    max_output_kb: int = 1024

    def wall(self) -> float:
        """The wall-clock limit in seconds."""
        return self.wall_seconds if self.wall_seconds is not None else 2 * self.cpu_seconds + 30


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _printable(text: str) -> str:
    """``text`` without control characters (no terminal escapes), newlines and tabs kept."""
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")


def _cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` has used (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _widen(pipe: int) -> None:
    """Give ``pipe`` the largest buffer an unprivileged process may (megabytes of candles
    and results then cross in a few system calls, not hundreds)."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as limit:
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, int(limit.read()))
    except (OSError, ValueError):
        pass  # the default buffer works, only slower


def series_columns(series: CandleSeries) -> dict[str, Any]:
    """``series`` as plain columns (numpy arrays and scalars) to send to a child process."""
    return {
        "ts": series.timestamps, "open": series.opens, "high": series.highs,
        "low": series.lows, "close": series.closes, "volume": series.volumes,
        "market": series.market, "resolution_s": series.resolution_s, "venue": series.venue,
    }


def series_from_columns(columns: dict[str, Any]) -> CandleSeries:
    """The series :func:`series_columns` took apart."""
    return CandleSeries(
        columns["ts"], columns["open"], columns["high"], columns["low"], columns["close"],
        columns["volume"], columns["market"], columns["resolution_s"], columns["venue"],
    )


#: The text columns of funding sent to a child, each as its distinct values and an
#: int32 code a row (the numeric ones: ``flint_core.funding.NUMBERS``).
FUNDING_TEXTS = ("market", "source")


def funding_columns(rates: Sequence[FundingRate] | FundingColumns) -> dict[str, Any]:
    """Funding (records, or :class:`~flint_core.funding.FundingColumns` as the store reads
    them) as columns for a child: numpy arrays (out-of-band pickle buffers, no pickled
    object a row), the market and venue names as codes into their distinct values."""
    columns = rates if isinstance(rates, FundingColumns) else FundingColumns.from_records(rates)
    out: dict[str, Any] = {name: getattr(columns, name) for name in NUMBERS}
    out["market"] = (list(columns.markets), columns.market_codes.astype(np.int32))
    out["source"] = (list(columns.sources), columns.source_codes.astype(np.int32))
    return out


def funding_from_columns(columns: Mapping[str, Any]) -> FundingColumns:
    """The funding :func:`funding_columns` took apart, checked (every column's type,
    length and codes, then :class:`FundingColumns`'s own checks); ``ValueError`` for
    anything else. No record is built."""
    if set(columns) != {*NUMBERS, *FUNDING_TEXTS}:
        raise ValueError(f"funding columns are not {sorted({*NUMBERS, *FUNDING_TEXTS})}")
    if not (isinstance(columns["ts"], np.ndarray) and columns["ts"].ndim == 1):
        raise ValueError("funding column 'ts' is not an array")
    rows = len(columns["ts"])
    for name, dtype in NUMBERS.items():
        array = columns[name]
        if not (isinstance(array, np.ndarray) and array.dtype == dtype and array.shape == (rows,)):
            raise ValueError(f"funding column {name!r} is not {rows} values of {dtype}")
    for name in FUNDING_TEXTS:
        values, codes = columns[name]
        if type(values) is not list or not all(type(text) is str for text in values):
            raise ValueError(f"funding column {name!r} does not name its values")
        if not (isinstance(codes, np.ndarray) and codes.dtype == np.int32
                and codes.shape == (rows,)):
            raise ValueError(f"funding column {name!r} is not {rows} codes")
        if rows and (int(codes.min()) < 0 or int(codes.max()) >= len(values)):
            raise ValueError(f"funding column {name!r} points past its values")
    try:
        return FundingColumns(
            columns["ts"], columns["rate"], market=columns["market"], source=columns["source"],
            **{name: columns[name] for name in ("oracle_price", "mark_price", "slot",
                                                 "interval_s")},
        )
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def pack_funding(rates: Sequence[FundingRate] | FundingColumns) -> tuple[str, Any]:
    """Funding as :func:`funding_columns`, tagged for the child's ``data`` request."""
    return ("funding", funding_columns(rates))


def pack_candles(candles: Any) -> tuple[str, Any]:
    """A series, a candle list or ``{key: series}`` as plain columns for a child."""
    if isinstance(candles, Mapping):
        return ("dict", {str(k): series_columns(_series(v)) for k, v in candles.items()})
    return ("series", series_columns(_series(candles)))


def _series(candles: CandleSeries | Sequence[Candle]) -> CandleSeries:
    return candles if isinstance(candles, CandleSeries) else CandleSeries.from_candles(candles)


class Sandbox:
    """A confined child process holding one strategy's code, running jobs on request.

    The code is validated and loaded once (``name`` and ``parameters`` tell what
    class it defines); :meth:`run` then makes the strategy with new parameters and
    runs a job on candles (and funding), which go to the child once per object. A child
    that died or was killed for a limit is replaced on the next :meth:`run`, and so is
    one that has used more than a run's CPU time (its ``RLIMIT_CPU`` is twice that).
    Use it as a context manager or call :meth:`close`; children left open end with
    this process.
    """

    def __init__(
        self,
        code: str | None,
        *,
        class_name: str | None = None,
        filename: str = "<strategy>",
        limits: SandboxLimits | None = None,
        trust: bool = False,
        output: Callable[[str], None] | None = None,
        _raw: bool = False,
    ) -> None:
        self.code = code
        self.class_name = class_name
        self.filename = filename
        self.limits = limits or SandboxLimits()
        self.trust = trust
        self.output = output or _echo
        self._raw = _raw
        self._pid: int | None = None
        self._owner = os.getpid()
        self._sent: dict[int, tuple[object, str]] = {}
        self.layers: list[str] = []
        self.name: str | None = None
        self.parameters: dict[str, Any] = {}
        self._start()

    # The child

    def _start(self) -> None:
        try:
            server = fork_server()
        except (ForkServerError, OSError) as exc:
            raise StrategyExecutionError(f"cannot start the sandbox: {exc}") from exc
        ends = [os.pipe(), os.pipe(), os.pipe()]  # requests, replies, output
        (req_r, req_w), (rep_r, rep_w), (out_r, out_w) = ends
        for fd in (req_w, rep_w):
            _widen(fd)
        spec = {"cpu_seconds": 2 * self.limits.cpu_seconds, "memory_mb": self.limits.memory_mb,
                "raw": self._raw}
        try:
            self._pid = server.spawn(spec, [req_r, rep_w, out_w])
        except (ForkServerError, OSError) as exc:
            for fd in (req_r, req_w, rep_r, rep_w, out_r, out_w):
                os.close(fd)
            raise StrategyExecutionError(f"cannot start the sandbox: {exc}") from exc
        for fd in (req_r, rep_w, out_w):
            os.close(fd)
        self._server, self._requests, self._replies, self._out = server, req_w, rep_r, out_r
        self._sent.clear()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        hello = self._await("starting")
        self.layers = list(hello["applied"])
        missing = isolation.missing_required(self.layers)
        if missing and not self.trust:
            self.close()
            reasons = "; ".join(f"{name}: {hello['failed'].get(name, 'not offered')}"
                                for name in missing)
            raise SandboxUnavailableError(
                f"this host cannot confine untrusted strategy code ({reasons}). Use a Linux "
                f"host with Landlock and seccomp (libseccomp2), or trust the code (--trust) "
                f"to run it with only {', '.join(self.layers)} as its boundary"
            )
        if self.code is not None:
            info = self._call(("load", self.code, self.class_name, self.filename), "loading")
            self.name, self.parameters = str(info["name"]), dict(info["parameters"])

    def _alive(self) -> bool:
        return self._pid is not None and self._owner == os.getpid()

    def close(self) -> None:
        """Stop the child (it gets SIGKILL; nothing it was doing survives)."""
        self._stop(wait=True)

    def _stop(self, wait: bool) -> None:
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        for fd in (self._requests, self._replies, self._out):
            os.close(fd)
        if self._owner != os.getpid():
            return  # a copy in a forked process: the child is its parent's
        try:
            self._server.kill(pid)
            if wait:
                self._server.wait(pid, _EXIT_WAIT_S)
        except (ForkServerError, OSError):
            pass

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Requests

    def run(self, job: str, candles: Any, params: dict[str, Any] | None = None,
            options: dict[str, Any] | None = None, funding: Any = None) -> Any:
        """``job(strategy, candles, **options)`` in the child with ``strategy = cls(**params)``.

        ``funding`` (records or :class:`~flint_core.funding.FundingColumns`), when given,
        goes to the child once per object, as the candles do, and reaches the job as its
        ``funding`` option (checked :class:`FundingColumns`). Raises
        :class:`~flint.strategy.loader.StrategyParameterError` when the class refuses
        ``params``, and the errors of :func:`run_in_sandbox`.
        """
        if self._alive() and _cpu_seconds(self._pid) > self.limits.cpu_seconds:
            self.close()  # the child's RLIMIT_CPU (twice a run's) could cut the next run short
        if not self._alive():
            self._stop(wait=True)
            self._owner = os.getpid()
            self._start()
        key = self._send(candles, pack_candles, "receiving the candles")
        refs = {} if funding is None else {
            "funding": self._send(funding, pack_funding, "receiving the funding")}
        return self._call(("run", job, key, params or {}, options or {}, refs), "running")

    def _send(self, data: Any, pack: Callable[[Any], tuple[str, Any]], doing: str) -> str:
        """The child's name for ``data``, sent (packed) unless this child holds it already."""
        key = self._sent.get(id(data))
        if key is None or key[0] is not data:
            name = f"data-{len(self._sent)}"
            self._call(("data", name, pack(data)), doing)
            key = self._sent[id(data)] = (data, name)
        return key[1]

    def _call(self, request: tuple[Any, ...], doing: str) -> Any:
        """Send ``request`` (:func:`flint.strategy.sandbox_child._request` reads it) and
        await the reply. numpy arrays travel out of band: written from their own memory."""
        buffers: list[pickle.PickleBuffer] = []
        body = pickle.dumps(request, protocol=5, buffer_callback=buffers.append)
        parts = [memoryview(body), *(buffer.raw() for buffer in buffers)]
        sizes = [len(parts), *(part.nbytes for part in parts)]
        try:
            for part in (memoryview(b"".join(map(_HEADER.pack, sizes))), *parts):
                view = part
                while view:
                    view = view[os.write(self._requests, view):]
        except BrokenPipeError:
            pass  # the child is gone: _await says why
        return self._await(doing)

    def _await(self, doing: str) -> Any:
        """The child's next reply, enforcing the limits meanwhile."""
        assert self._pid is not None
        limits = self.limits
        started = time.monotonic()
        cpu_start = _cpu_seconds(self._pid)
        buffer = bytearray()
        printed = 0
        while True:
            ready, _, _ = select.select([self._replies, self._out], [], [], _POLL_S)
            if self._out in ready:
                chunk = os.read(self._out, 65536)
                room = max(0, limits.max_output_kb * 1024 - printed)
                printed += len(chunk)
                if chunk[:room]:
                    self.output(_printable(self._decoder.decode(chunk[:room])))
                if printed > limits.max_output_kb * 1024:
                    self.close()
                    raise StrategyOutputError(
                        f"the strategy printed more than {limits.max_output_kb} KiB")
            if self._replies in ready:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise self._death(doing, time.monotonic() - started)
                buffer += chunk
                if len(buffer) >= replies.HEADER.size:
                    size, raw = replies.HEADER.unpack_from(buffer)
                    if size + raw > limits.max_result_mb * 1024 * 1024:
                        self.close()
                        raise StrategyExecutionError(
                            f"the strategy's result is larger than {limits.max_result_mb} MB")
                    total = replies.HEADER.size + size + raw
                    if len(buffer) >= total:
                        try:
                            reply = replies.decode(
                                memoryview(buffer)[replies.HEADER.size:total], size)
                        except replies.MalformedReply as exc:
                            self.close()
                            raise StrategyExecutionError(
                                f"the sandbox sent a malformed reply: {exc}") from None
                        return self._unpack(reply)
            elapsed = time.monotonic() - started
            if elapsed > limits.wall():
                self.close()
                raise StrategyTimeoutError(
                    f"the strategy ran longer than {limits.wall():.0f} s of wall-clock time")
            if _cpu_seconds(self._pid) - cpu_start > limits.cpu_seconds:
                self.close()
                raise StrategyTimeoutError(
                    f"the strategy used up its {limits.cpu_seconds} s of CPU time")

    def _death(self, doing: str, elapsed: float) -> StrategyExecutionError:
        assert self._pid is not None
        pid = self._pid
        status = self._server.wait(pid, _EXIT_WAIT_S)
        self._stop(wait=False)
        if status is not None and os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            if number in (signal.SIGXCPU, signal.SIGKILL):
                return StrategyTimeoutError(
                    f"the strategy used up its {self.limits.cpu_seconds} s of CPU time")
            return StrategyExecutionError(
                f"the sandbox process died while {doing} ({signal.Signals(number).name}: "
                f"{signal.strsignal(number)})")
        code = os.waitstatus_to_exitcode(status) if status is not None else "unknown"
        return StrategyExecutionError(
            f"the sandbox process died while {doing} after {elapsed:.1f} s (exit code {code})")

    def _unpack(self, reply: dict[str, Any]) -> Any:
        kind, payload = reply.get("kind"), reply.get("payload")
        if kind in ("ok", "ready"):
            return payload
        if kind == "memory":
            raise StrategyMemoryError(
                f"the strategy needed more than {self.limits.memory_mb} MB of memory")
        if kind == "error" and isinstance(payload, dict):
            raise StrategyExecutionError(str(payload.get("message")), str(payload.get("type")))
        if kind == "params" and isinstance(payload, dict):
            refused = StrategyParameterError(str(payload.get("message")))
            refused.error_type = str(payload.get("type"))  # what the class raised
            raise refused
        raise {
            "load": StrategyLoadError,
            "params": StrategyParameterError,
        }.get(str(kind), StrategyExecutionError)(str(payload))


def run_in_sandbox(
    code: str,
    candles: CandleSeries | Sequence[Candle],
    params: dict[str, Any] | None = None,
    *,
    job: str = DEFAULT_JOB,
    options: dict[str, Any] | None = None,
    limits: SandboxLimits | None = None,
    class_name: str | None = None,
    filename: str = "<strategy>",
    trust: bool = False,
    output: Callable[[str], None] | None = None,
) -> Any:
    """Load ``code`` in a confined child process and run ``job`` on it; return its JSON result.

    Raises :class:`SandboxUnavailableError` when the host cannot confine the child
    and ``trust`` is false; :class:`~flint.strategy.loader.StrategyLoadError` when
    the code is refused or fails to load; :class:`StrategyTimeoutError`,
    :class:`StrategyMemoryError` or :class:`StrategyOutputError` when a limit is
    hit, and :class:`StrategyExecutionError` for any other failure (with the
    strategy's line when known).
    """
    with Sandbox(code, class_name=class_name, filename=filename, limits=limits, trust=trust,
                 output=output) as box:
        return box.run(job, candles, params, options)


def sandbox_layers() -> list[str]:
    """The layers a sandboxed child applies on this host (starts one, runs nothing)."""
    with Sandbox(None, trust=True) as box:
        return box.layers


def _run_unchecked(code: str, limits: SandboxLimits | None = None,
                   output: Callable[[str], None] | None = None) -> Any:
    """Tests only: run raw ``code`` in a confined child with the Python checks off.

    Its ``result`` variable comes back. This is how the tests show that the
    operating-system layers hold on their own.
    """
    with Sandbox(None, limits=limits, output=output, _raw=True) as box:
        return box._call(("raw", code), "running raw code")


# The default job


def signals(strategy: Any, candles: CandleSeries, lookback: int = 1000) -> dict[str, Any]:
    """Replay ``candles``: ``history`` holds up to ``lookback`` earlier bars; count signals.

    Returns ``{"bars": n, "buy": ..., "sell": ..., "hold": ..., "first_trade_bar": i | None}``.
    """
    strategy.reset()
    history = candles.window(0, 0)
    counts = {Signal.BUY: 0, Signal.SELL: 0, Signal.HOLD: 0}
    first_trade: int | None = None
    for i in range(len(candles)):
        candle = candles.candle(i)
        history.move_to(max(0, i - lookback), i, candle)
        result = strategy.on_candle(candle, history, None)
        if not isinstance(result, Signal):
            raise StrategyExecutionError(
                f"on_candle returned {result!r} at bar {i}; it must return a Signal"
            )
        counts[result] += 1
        if result is not Signal.HOLD and first_trade is None:
            first_trade = i
    return {
        "bars": len(candles), "buy": counts[Signal.BUY], "sell": counts[Signal.SELL],
        "hold": counts[Signal.HOLD], "first_trade_bar": first_trade,
    }
