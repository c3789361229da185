"""Run untrusted strategy code in a separate process with CPU and memory limits.

Code submitted through the command line, the HTTP API or MCP goes through
:func:`run_in_sandbox`: a fresh interpreter is spawned, limits are set with
``resource.setrlimit`` (CPU seconds, address space, no file writes, no core
dumps), the code is loaded there with :func:`~flint.strategy.loader.load_user_strategy`
and handed, with the candles, to a *job*: a trusted function named
``"module:function"``, called as ``job(strategy, candles, **options)``, whose
result must be JSON data. Only JSON comes back, so a compromised child cannot
send the parent anything but data.

The default job, :func:`signals`, replays the candles the way the engine does
(``history`` = a window of the earlier bars) and counts the v1 signals. The
backtest engine plugs in the same way with its own job that runs a full
backtest and returns the result as plain data.
"""

import importlib
import json
import multiprocessing
import resource
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from flint.strategy.loader import (
    SandboxError,
    StrategyLoadError,
    describe_failure,
    load_user_strategy,
)
from flint_core.enums import Signal
from flint_core.records import Candle
from flint_core.series import CandleSeries

DEFAULT_JOB = "flint.strategy.sandbox:signals"


class StrategyExecutionError(Exception):
    """The strategy failed while running in the sandbox."""


class StrategyTimeoutError(StrategyExecutionError):
    """The strategy used up its CPU time or wall-clock time."""


class StrategyMemoryError(StrategyExecutionError):
    """The strategy needed more memory than the sandbox allows."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandboxed run.

    :param cpu_seconds: CPU time of the child process (``RLIMIT_CPU``).
    :param memory_mb: address space the strategy may add to what the child has
        mapped once started (interpreter, numpy and flint loaded): ``RLIMIT_AS``
        is set to that footprint plus this.
    :param wall_seconds: wall-clock time before the child is killed
        (default: twice the CPU time plus 30 s for start-up).
    :param max_result_mb: largest result the child may send back.
    """

    cpu_seconds: int = 300
    memory_mb: int = 1024
    wall_seconds: float | None = None
    max_result_mb: int = 256

    def wall(self) -> float:
        """The wall-clock limit in seconds."""
        return self.wall_seconds if self.wall_seconds is not None else 2 * self.cpu_seconds + 30


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
) -> Any:
    """Load ``code`` in a limited child process and run ``job`` on it; return its JSON result.

    Raises :class:`~flint.strategy.loader.StrategyLoadError` when the code is
    refused or fails to load, :class:`StrategyTimeoutError` /
    :class:`StrategyMemoryError` when a limit is hit, and
    :class:`StrategyExecutionError` for any other failure (with the strategy's
    line when known).
    """
    limits = limits or SandboxLimits()
    series = candles if isinstance(candles, CandleSeries) else CandleSeries.from_candles(candles)
    columns = series_columns(series)
    request = {
        "code": code, "params": params or {}, "job": job, "options": options or {},
        "limits": asdict(limits), "class_name": class_name, "filename": filename,
    }
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, request, columns), daemon=True)
    started = time.monotonic()
    process.start()
    sender.close()
    try:
        reply = _receive(receiver, limits, started)
    finally:
        process.join(timeout=max(0.0, limits.wall() - (time.monotonic() - started)))
        if process.is_alive():
            process.kill()
            process.join()
        receiver.close()
    if reply is None:
        raise _death(process.exitcode, limits, time.monotonic() - started)
    return _unpack(reply)


def _receive(receiver: Connection, limits: SandboxLimits, started: float) -> Any:
    remaining = limits.wall() - (time.monotonic() - started)
    try:
        if not receiver.poll(max(0.0, remaining)):
            return None
        raw = receiver.recv_bytes(maxlength=limits.max_result_mb * 1024 * 1024)
    except (EOFError, OSError):
        return None
    return json.loads(raw)


def _death(exitcode: int | None, limits: SandboxLimits, elapsed: float) -> Exception:
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL) and elapsed < limits.wall():
        return StrategyTimeoutError(f"the strategy used up its {limits.cpu_seconds} s of CPU time")
    if exitcode is None or elapsed >= limits.wall():
        return StrategyTimeoutError(
            f"the strategy ran longer than {limits.wall():.0f} s of wall-clock time"
        )
    return StrategyExecutionError(f"the sandbox process died (exit code {exitcode})")


def series_columns(series: CandleSeries) -> dict[str, Any]:
    """``series`` as plain columns (numpy arrays and scalars) to send to a child process."""
    return {
        "ts": np.array(series.timestamps), "open": np.array(series.opens),
        "high": np.array(series.highs), "low": np.array(series.lows),
        "close": np.array(series.closes), "volume": np.array(series.volumes),
        "market": series.market, "resolution_s": series.resolution_s, "venue": series.venue,
    }


def series_from_columns(columns: dict[str, Any]) -> CandleSeries:
    """The series :func:`series_columns` took apart."""
    return CandleSeries(
        columns["ts"], columns["open"], columns["high"], columns["low"], columns["close"],
        columns["volume"], columns["market"], columns["resolution_s"], columns["venue"],
    )


def _unpack(reply: dict[str, Any]) -> Any:
    kind, payload = reply["kind"], reply["payload"]
    if kind == "ok":
        return payload
    raise {
        "load": StrategyLoadError,
        "memory": StrategyMemoryError,
        "violation": StrategyExecutionError,
    }.get(kind, StrategyExecutionError)(payload)


# The child process


def _limit(kind: int, soft: int, hard: int) -> None:
    """Lower a resource limit (never above the current hard limit)."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(kind, (soft, hard))


def _address_space() -> int:
    """Bytes of address space this process has mapped (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _child(sender: Connection, request: dict[str, Any], columns: dict[str, Any]) -> None:
    limits = SandboxLimits(**request["limits"])
    module_name, _, function_name = request["job"].partition(":")
    job = getattr(importlib.import_module(module_name), function_name)
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5)  # SIGXCPU, SIGKILL
    memory = _address_space() + limits.memory_mb * 1024 * 1024
    _limit(resource.RLIMIT_AS, memory, memory)
    _limit(resource.RLIMIT_FSIZE, 0, 0)  # CPython ignores SIGXFSZ: writes fail with EFBIG
    _limit(resource.RLIMIT_CORE, 0, 0)
    filename = request["filename"]
    try:
        strategy = load_user_strategy(request["code"], request["params"],
                                      class_name=request["class_name"], filename=filename)
        candles = series_from_columns(columns)
        reply = {"kind": "ok", "payload": job(strategy, candles, **request["options"])}
        raw = json.dumps(reply).encode()
    except StrategyLoadError as exc:
        raw = _error("load", str(exc))
    except MemoryError:
        raw = _error("memory", f"the strategy needed more than {limits.memory_mb} MB of memory")
    except SandboxError as exc:
        raw = _error("violation", f"{filename}: {exc}")
    except Exception as exc:
        raw = _error("error", f"{filename}: {describe_failure(exc, filename)}")
    sender.send_bytes(raw)
    sender.close()


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"kind": kind, "payload": message}).encode()


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
