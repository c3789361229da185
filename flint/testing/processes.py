"""Watching other processes from a test (Linux, through ``/proc``): the children a
command started, whether they still run, and waiting for a condition with a deadline."""

import time
from collections.abc import Callable, Iterable
from pathlib import Path

POLL_S = 0.05


def child_pids(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended while we looked
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def descendant_pids(pid: int) -> list[int]:
    """Every process below ``pid``: its children, theirs, and so on."""
    found = []
    for child in child_pids(pid):
        found += [child, *descendant_pids(child)]
    return found


def is_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: Callable[[], object], seconds: float, *,
               between: Callable[[], object] | None = None) -> bool:
    """Poll ``condition`` until it is true (``True``) or ``seconds`` pass (``False``),
    calling ``between`` (e.g. a live context's ``sync``) after each false try."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        if between is not None:
            between()
        time.sleep(POLL_S)
    return True


def all_gone(pids: Iterable[int], seconds: float = 10.0) -> bool:
    """Whether every process in ``pids`` has ended within ``seconds``."""
    pids = list(pids)
    return wait_until(lambda: not any(map(is_alive, pids)), seconds)
