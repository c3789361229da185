"""What a job's child process runs: one backtest, optimisation, walk-forward or market
data download.

:class:`flint.server.jobs.JobManager` starts ``python -m flint.server.worker FD`` with
the job as one JSON line on standard input. The child dies with the server, reads the
store (read-only until it journals its records) and writes JSON lines ``[kind,
payload]`` to file descriptor ``FD``: ``["progress", {...}]`` as it goes, then, if it
has records, ``["journal", [run_id, ...]]`` and waits for the server's ``go`` line
before writing them (no line: the job was stopped meanwhile and it writes nothing);
then ``["done", {"run_ids": [...], "saved": bool}]`` once its records are in the
store's journal (``saved`` False: the store stayed busy and they are kept in files),
or ``["error", message]``. From the ``journal`` message on it ignores SIGTERM and
SIGINT, so its records are written whole, all in one transaction, and the server
learns their ids. Saving here, not in the server, keeps the encoding of large records
off the server's CPU. Its standard output and error (what a strategy prints) go to the
job's log file. It runs at a lower CPU priority than the server (:data:`NICENESS`).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from flint.processes import die_with_parent

KINDS = ("backtest", "optimize", "walk_forward", "download")
#: How much lower than the server a job's process runs (``os.nice``), so that on a
#: busy host the API's reads get the CPU first.
NICENESS = 10
#: Seconds a finished job waits for another process writing the store before its
#: records are kept in files (``flint journal import`` adds them later).
JOURNAL_WAIT_S = 60.0
#: Tests only: a path; in its journal phase the child waits (up to
#: :data:`JOURNAL_WAIT_S`) until that file exists, so a test can stop it right there.
JOURNAL_GATE_ENV = "FLINT_TEST_JOURNAL_GATE"


def run(kind: str, request: dict[str, Any], store: Path, folder: Path, trust: bool,
        progress: Any) -> list[dict[str, Any]]:
    """The journal records of job ``kind`` with ``request`` (a request model's data; a
    download journals nothing)."""
    from flint.cli.backtest import backtest_record
    from flint.cli.inputs import load_research
    from flint.cli.optimize import optimise, walk_forward
    from flint.server.strategies import resolve, source_of

    r = request
    if kind == "download":
        download(r, store, progress)
        return []
    if kind == "backtest":
        label, source = source_of(r["strategy"], r.get("code"), folder)
        cls = None
        if source is None:
            cls = resolve(label, None, folder).cls
        progress({"phase": "backtest", "done": 0, "total": 1})
        data = load_research(
            store, market=r["market"], venues=r["venues"], resolution_s=r["resolution_s"],
            start=r["start"], end=r["end"], period=r["period"], capital=r["capital"],
            fee_rate=r["fee_rate"], fill_model=r["fill_model"],
        )
        record = backtest_record(label, source, cls, r["params"], data, trust)
        progress({"phase": "backtest", "done": 1, "total": 1})
        return [record]
    spec = resolve(r["strategy"], r.get("code"), folder, trust=trust)
    data = load_research(
        store, market=r["market"], venues=(r["venue"],) if r["venue"] else (),
        resolution_s=r["resolution_s"], start=r["start"], end=r["end"],
        capital=r["capital"], fee_rate=r["fee_rate"],
    )
    common = {"metric": r["metric"], "sampler": r["sampler"], "seed": r["seed"],
              "param_space": r["param_space"]}
    if kind == "optimize":
        study = optimise(
            spec, data, trials=r["trials"], **common,
            progress=lambda done, total: progress(
                {"phase": "trials", "done": done, "total": total}),
        )
    else:
        study = walk_forward(
            spec, data, windows=r["windows"], train_pct=r["train_pct"],
            anchored=r["anchored"], trials=r["trials"], warmup=r["warmup"], **common,
            progress=lambda window, done, total: progress(
                {"phase": f"window {window + 1}/{r['windows']}", "done": done,
                 "total": total}),
        )
    return study.records


def download_args(request: dict[str, Any], store: Path) -> list[str]:
    """The options of ``flint data download`` for ``request`` (a DownloadRequest's data)."""
    args = [f"--db={store}", f"--resolution={request['resolution_s']}",
            f"--kind={','.join(request['kinds'])}"]
    args += [f"--venue={v}" for v in request["venues"]]
    args += [f"--market={m}" for m in request["markets"]]
    args += [f"--{name}={request[name]}" for name in ("start", "end", "period")
             if request[name] is not None]
    return args


def download(request: dict[str, Any], store: Path, progress: Any) -> None:
    """``flint data download`` itself, into ``store``; what it prints goes to the log."""
    from flint.cli.data import download_command

    progress({"phase": "download", "done": 0, "total": 1})
    download_command.main(download_args(request, store), prog_name="flint data download",
                          standalone_mode=False)
    progress({"phase": "download", "done": 1, "total": 1})


def journal(records: list[dict[str, Any]], store: Path, send: Any) -> None:
    """The journal phase: announce the records' run ids, and once the server says
    ``go``, write them all and report them done, deaf to SIGTERM and SIGINT."""
    from rich.console import Console

    from flint.cli.journal import save_records
    from flint.store.store import journal_payload

    payloads = [journal_payload(r) for r in records]
    for stop in (signal.SIGTERM, signal.SIGINT):  # process-wide: every thread ignores them
        signal.signal(stop, signal.SIG_IGN)
    send("journal", [p["run_id"] for p in payloads])
    if sys.stdin.readline().strip() != "go":
        return
    gate = os.environ.get(JOURNAL_GATE_ENV)
    deadline = time.monotonic() + JOURNAL_WAIT_S
    while gate and not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    run_ids, saved = save_records(payloads, store, JOURNAL_WAIT_S, Console(quiet=True))
    send("done", {"run_ids": run_ids, "saved": saved})


def main(fd: int) -> None:
    """The child's entry point: run the job read from standard input, report to ``fd``."""
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    job = json.loads(sys.stdin.readline())
    die_with_parent(job["parent"])
    from flint.cli.common import user_error_types
    from flint.server.strategies import UnknownStrategy

    with os.fdopen(fd, "w", encoding="utf-8") as out:

        def send(kind: str, payload: Any) -> None:
            out.write(json.dumps([kind, payload]) + "\n")
            out.flush()

        try:
            records = run(job["kind"], job["request"], Path(job["store"]),
                          Path(job["strategies"]), job["trust"],
                          lambda state: send("progress", state))
        except click.ClickException as exc:
            send("error", exc.format_message())
        except (UnknownStrategy, *user_error_types()) as exc:
            send("error", str(exc))
        else:
            if records:
                journal(records, Path(job["store"]), send)
            else:
                send("done", {"run_ids": [], "saved": True})


if __name__ == "__main__":
    main(int(sys.argv[1]))
