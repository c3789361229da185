"""Cost of the strategy sandbox: start-up, and overhead on a 100k-bar backtest.

    python bench/bench_sandbox.py [--bars 100000] [--repeat 5]

Prints one JSON object: the numbers below, the load average before and after, and
``goals``: the figures issue 11 asks for (start-up under 150 ms, under 5 % overhead
on a 100k-bar run) next to those goals.

* cold start: the first sandbox of a flint process, which boots the fork server (a
  fresh interpreter importing numpy, flint and the plugins), forks a confined child,
  reads its report and stops it; and the fork server's start alone (median of 3);
* warm start: the same once the fork server runs (median of 20);
* strategy file run on 10 bars: start, load the file, run the default job, stop;
* one backtest of ``tests/user_strategies/golden_cross.py`` on ``--bars`` hourly bars
  of a random walk with a funding settlement every bar, the funding as
  :class:`~flint_core.funding.FundingColumns` (as ``flint backtest`` reads it from the
  store): in this process vs ``run_in_sandbox`` with the backtest job (start, send the
  candles and funding, load, run, journal record back), alternating, best of
  ``--repeat`` each (the run least disturbed by other work on a shared machine);
* what the funding costs to send: its columns taken apart in the parent and checked
  into ``FundingColumns`` in the child; for reference, making the columns from
  ``FundingRate`` records (what a caller holding records pays, in process too) and
  pickling a record a row;
* what the child's reply costs: encoding the 100k-bar journal record
  (:mod:`flint.strategy.replies`) and decoding it, against the journal's JSON text;
* one optimiser trial on the same bars: the in-process class vs a
  ``SandboxedStrategy`` whose long-lived child already holds the code and candles
  (best of ``--repeat``);
* a whole ``flint backtest FILE`` in a fresh process (imports, loading a store of those
  bars and funding, the run) against the same backtest in process, with the fork
  server started while the store loads (as the command does) and without: the wall
  time a user waits beyond an in-process run, and how long the run waited for the fork
  server once the store was loaded (medians of ``--repeat``).

Wall times on a shared machine swing with other work; CPU times (this process plus the
sandboxed child and
the fork server, read from ``/proc/PID/schedstat``) do much less, so both are printed.
"""

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flint.backtest.runs import SANDBOX_JOB, RunSettings, run_backtest, sandbox_options
from flint.models import CandleSeries, FundingRate
from flint.optimization.objective import RunSettings as TrialSettings
from flint.optimization.objective import backtest
from flint.store import FlintStore
from flint.store.store import journal_json
from flint.strategy.forkserver import ForkServer, fork_server, prestart
from flint.strategy.loader import load_strategy_class, load_user_strategy
from flint.strategy.remote import SandboxedStrategy
from flint.strategy.replies import HEADER, decode, encode
from flint.strategy.sandbox import (
    DEFAULT_JOB,
    Sandbox,
    funding_columns,
    funding_from_columns,
    pack_candles,
    run_in_sandbox,
)
from flint_core.compiled import is_compiled
from flint_core.funding import FundingColumns

CODE = (Path(__file__).resolve().parents[1] / "tests" / "user_strategies" /
        "golden_cross.py").read_text()
#: The first bar's open time (a whole hour, as a store wants it).
START = 1_599_998_400


def walk(bars: int) -> CandleSeries:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, bars)))
    opens = np.concatenate(([close[0]], close[:-1]))
    return CandleSeries(START + 3600 * np.arange(bars), opens,
                        np.maximum(opens, close) * 1.002, np.minimum(opens, close) * 0.998,
                        close, np.full(bars, 10.0), "SOL-PERP", 3600, "binance")


def hourly_funding(bars: int) -> list[FundingRate]:
    """A funding settlement every bar of :func:`walk` (an hourly venue's funding)."""
    rng = np.random.default_rng(11)
    rates = rng.normal(1e-5, 3e-5, bars).tolist()
    return [FundingRate("SOL-PERP", START + 3600 * i, rate, source="binance",
                        interval_s=3600) for i, rate in enumerate(rates)]


def ran(pid: int) -> float:
    """CPU seconds process ``pid`` has run (nanosecond counts, read while it waits)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


def cpu(*pids: int) -> float:
    """CPU seconds of this process plus processes ``pids`` (e.g. the fork server, which
    forks each child)."""
    return time.process_time() + sum(map(ran, pids))


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def compare_backtests(candles: CandleSeries, bars: int, repeat: int) -> dict[str, float]:
    """A whole backtest (journal record) with hourly funding, in this process vs in the
    sandbox (the options, funding as columns, made for each sandboxed run)."""
    out: dict[str, float] = {}
    settings = RunSettings(strategy="golden_cross.py", market="SOL-PERP", venues=("binance",),
                           fill_model="close", max_runtime_s=0)
    funding = FundingColumns.from_records(hourly_funding(bars))  # as the store reads it
    options = sandbox_options({}, funding, settings)
    server = fork_server().process.pid
    here, there, cpu_here, cpu_there, cpu_start = [], [], [], [], []
    for _ in range(repeat):
        before = cpu()
        here.append(timed(lambda: run_backtest(load_user_strategy(CODE), candles, funding,
                                               settings)))
        cpu_here.append(cpu() - before)
        before = cpu(server)
        started = time.perf_counter()
        with Sandbox(CODE) as box:  # what run_in_sandbox does, keeping the child to read its CPU
            cpu_start.append(cpu(server, box._pid) - before)
            box.run(SANDBOX_JOB, candles, None, sandbox_options({}, funding, settings))
            child = ran(box._pid)
        there.append(time.perf_counter() - started)
        cpu_there.append(cpu(server) - before + child)
    out[f"backtest_{bars}_in_process_s"] = min(here)
    out[f"backtest_{bars}_sandbox_s"] = min(there)
    out["backtest_overhead_pct"] = 100 * (min(there) / min(here) - 1)
    out[f"backtest_{bars}_cpu_in_process_s"] = statistics.median(cpu_here)
    out[f"backtest_{bars}_cpu_sandbox_s"] = statistics.median(cpu_there)
    out["backtest_cpu_overhead_pct"] = 100 * (statistics.median(cpu_there)
                                              / statistics.median(cpu_here) - 1)
    out["backtest_cpu_start_and_load_s"] = statistics.median(cpu_start)
    out.update(fixed_costs(candles, options))
    out.update(funding_costs(hourly_funding(bars)))  # records alive only now: they would
    # slow this process's garbage collections, and so its in-process runs, above
    out.update(reply_costs(run_backtest(load_user_strategy(CODE), candles, funding, settings)))
    return out


def reply_costs(record: dict[str, object]) -> dict[str, float]:
    """CPU to encode and decode ``record`` as a reply, and as JSON text (best of 5)."""
    def best(action) -> float:
        times = []
        for _ in range(5):
            before = cpu()
            action()
            times.append(cpu() - before)
        return min(times)

    data = encode("ok", record)
    size = HEADER.unpack_from(data)[0]
    text = journal_json(record)
    return {"reply_bytes": len(data), "cpu_reply_encode_s": best(lambda: encode("ok", record)),
            "cpu_reply_decode_s": best(lambda: decode(memoryview(data)[HEADER.size:], size)),
            "json_bytes": len(text), "cpu_json_encode_s": best(lambda: journal_json(record)),
            "cpu_json_decode_s": best(lambda: json.loads(text))}


def funding_costs(funding: list[FundingRate]) -> dict[str, float]:
    """CPU to send ``funding`` to a child as columns (taken apart in the parent, checked
    into ``FundingColumns`` in the child), to make those columns from records, and to
    pickle a record a row (best of 3 each)."""
    def best(action) -> float:
        times = []
        for _ in range(3):
            before = cpu()
            action()
            times.append(cpu() - before)
        return min(times)

    table = FundingColumns.from_records(funding)
    columns = funding_columns(table)
    pickled = pickle.dumps(funding, protocol=5)
    return {"funding_records": len(funding),
            "cpu_funding_from_records_s": best(lambda: FundingColumns.from_records(funding)),
            "cpu_funding_columns_s": best(lambda: funding_columns(table)),
            "cpu_funding_rebuild_s": best(lambda: funding_from_columns(columns)),
            "cpu_funding_pickle_s": best(lambda: pickle.dumps(funding, protocol=5)),
            "cpu_funding_unpickle_s": best(lambda: pickle.loads(pickled))}


def fixed_costs(candles: CandleSeries, options: dict[str, object]) -> dict[str, float]:
    """CPU the sandbox adds to one run whatever the strategy does, step by step: sending
    the candles (both processes) and the parent's side of the run (request, waiting,
    reading the record). Steadier than whole-run differences on a busy machine."""
    send, parent = [], []
    for _ in range(5):
        with Sandbox(CODE) as box:
            box.run(DEFAULT_JOB, walk(2), None, None)  # the smallest run: code warm
            before = cpu(box._pid)
            box._call(("data", "bench", pack_candles(candles)), "receiving the candles")
            send.append(cpu(box._pid) - before)
            box._sent[id(candles)] = (candles, "bench")
            before = cpu()
            box.run(SANDBOX_JOB, candles, None, options)
            parent.append(cpu() - before)
    return {"cpu_send_candles_s": statistics.median(send),
            "cpu_parent_side_of_run_s": statistics.median(parent)}


def fork_server_start(repeat: int) -> float:
    """Seconds a fork server takes to start alone: boot, imports, ready (median)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        server = ForkServer()
        times.append(time.perf_counter() - started)
        server.close()
    return statistics.median(times)


def as_command(mode: str, db: str) -> None:
    """In a fresh process, what ``flint backtest FILE`` does (``mode`` ``sandbox``: start
    the fork server in the background, load the store, run in the sandbox;
    ``sandbox-late``: the same with no early start) or a backtest of the same code in
    this process (``in-process``). Prints how long loading the store took and how long
    the run then waited for the fork server."""
    from flint.cli.backtest import backtest_record
    from flint.cli.inputs import load_research

    if mode == "sandbox":
        prestart()
    started = time.perf_counter()
    data = load_research(Path(db), market="SOL-PERP", venues=("binance",), fill_model="close")
    loaded = time.perf_counter()
    if mode != "in-process":
        fork_server()
    print(json.dumps({"load_s": loaded - started, "server_wait_s": time.perf_counter() - loaded}))
    local = load_strategy_class(CODE) if mode == "in-process" else None
    source = None if local else (CODE, "golden_cross.py")
    backtest_record("golden_cross.py", source, local, {}, data)


def command_waits(candles: CandleSeries, funding: list[FundingRate], repeat: int,
                  workdir: Path) -> dict[str, float]:
    """Wall time of a whole backtest command in a fresh process, from a store of
    ``candles`` and ``funding``: in the sandbox (with and without the fork server started
    while the store loads) and in process; medians of ``repeat``, alternating."""
    db = workdir / "bench.duckdb"
    with FlintStore(db) as store:
        store.upsert_candles(candles)
        store.upsert_funding_rates(funding)
    modes = ("in-process", "sandbox", "sandbox-late")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    waits: dict[str, list[float]] = {mode: [] for mode in modes}
    loads = []
    for _ in range(repeat):
        for mode in modes:
            command = [sys.executable, __file__, "--as-command", mode, "--db", str(db)]
            started = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            times[mode].append(time.perf_counter() - started)
            steps = json.loads(done.stdout)
            waits[mode].append(steps["server_wait_s"])
            loads.append(steps["load_s"])
    here = statistics.median(times["in-process"])
    return {"command_store_load_s": statistics.median(loads),
            "command_server_wait_s": statistics.median(waits["sandbox"]),
            "command_server_wait_late_start_s": statistics.median(waits["sandbox-late"]),
            "command_in_process_s": here,
            "command_sandbox_s": statistics.median(times["sandbox"]),
            "command_sandbox_late_start_s": statistics.median(times["sandbox-late"]),
            "command_wait_beyond_in_process_s": statistics.median(times["sandbox"]) - here,
            "command_wait_late_start_s": statistics.median(times["sandbox-late"]) - here}


def compare_trials(candles: CandleSeries, bars: int, repeat: int) -> dict[str, float]:
    """An optimiser trial with the in-process class vs a warm SandboxedStrategy."""
    out: dict[str, float] = {}
    local = load_strategy_class(CODE)
    remote = SandboxedStrategy(CODE)
    trial = TrialSettings(10_000.0, 0.0005, {})
    params = {"fast": 20, "slow": 50}
    backtest(remote, params, candles, trial)  # the child holds code and candles from now on
    here, there, cpu_here, cpu_there = [], [], [], []
    pid = remote._sandbox()._pid
    for _ in range(repeat):
        before = cpu()
        here.append(timed(lambda: backtest(local, params, candles, trial)))
        cpu_here.append(cpu() - before)
        before = cpu(pid)
        there.append(timed(lambda: backtest(remote, params, candles, trial)))
        cpu_there.append(cpu(pid) - before)
    remote.close()
    out[f"trial_{bars}_cpu_in_process_s"] = statistics.median(cpu_here)
    out[f"trial_{bars}_cpu_sandbox_s"] = statistics.median(cpu_there)
    out["trial_cpu_overhead_pct"] = 100 * (statistics.median(cpu_there)
                                           / statistics.median(cpu_here) - 1)
    out[f"trial_{bars}_in_process_s"] = min(here)
    out[f"trial_{bars}_sandbox_s"] = min(there)
    out["trial_overhead_pct"] = 100 * (min(there) / min(here) - 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--as-command", choices=("in-process", "sandbox", "sandbox-late"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_command:
        as_command(args.as_command, args.db)
        return
    out: dict[str, object] = {"python": platform.python_version(), "compiled": is_compiled(),
                              "cpus": os.cpu_count(), "load_before": os.getloadavg()}

    def start_stop():
        Sandbox(None).close()

    out["sandbox_start_cold_s"] = timed(start_stop)
    out["fork_server_start_s"] = fork_server_start(3)
    out["sandbox_start_warm_s"] = statistics.median(timed(start_stop) for _ in range(20))
    small = walk(10)
    out["file_run_10_bars_s"] = statistics.median(
        timed(lambda: run_in_sandbox(CODE, small)) for _ in range(10))

    candles = walk(args.bars)
    out.update(compare_backtests(candles, args.bars, args.repeat))
    out.update(compare_trials(candles, args.bars, args.repeat))
    with tempfile.TemporaryDirectory() as workdir:
        out.update(command_waits(candles, hourly_funding(args.bars), args.repeat,
                                 Path(workdir)))
    out["load_after"] = os.getloadavg()
    # the sandbox's own steps, each measured alone: steadier than the difference of two
    # whole runs on a busy machine (the child encodes the record as this process does)
    fixed = sum(float(out[key]) for key in (
        "backtest_cpu_start_and_load_s", "cpu_send_candles_s", "cpu_parent_side_of_run_s",
        "cpu_reply_encode_s", "cpu_funding_columns_s", "cpu_funding_rebuild_s"))
    here = float(out[f"backtest_{args.bars}_cpu_in_process_s"])
    out["goals"] = {
        "start_goal_ms": 150,
        "start_warm_ms": round(1000 * out["sandbox_start_warm_s"], 1),
        "start_cold_ms": round(1000 * out["sandbox_start_cold_s"], 1),
        "fork_server_start_ms": round(1000 * out["fork_server_start_s"], 1),
        "command_wait_beyond_in_process_ms": round(
            1000 * out["command_wait_beyond_in_process_s"], 1),
        "command_wait_without_early_start_ms": round(1000 * out["command_wait_late_start_s"], 1),
        "command_waits_for_fork_server_ms": round(1000 * out["command_server_wait_s"], 1),
        "command_waits_for_fork_server_without_early_start_ms": round(
            1000 * out["command_server_wait_late_start_s"], 1),
        "overhead_goal_pct": 5,
        "backtest_fixed_cpu_ms": round(1000 * fixed, 1),
        f"backtest_{args.bars}_cpu_overhead_pct": round(out["backtest_cpu_overhead_pct"], 1),
        f"backtest_{args.bars}_wall_overhead_pct": round(out["backtest_overhead_pct"], 1),
        f"backtest_{args.bars}_fixed_cpu_pct": round(100 * fixed / here, 1),
        f"trial_{args.bars}_cpu_overhead_pct": round(out["trial_cpu_overhead_pct"], 1),
        f"trial_{args.bars}_wall_overhead_pct": round(out["trial_overhead_pct"], 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
