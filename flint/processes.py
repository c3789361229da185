"""Child processes that never outlive their parent.

A worker process (an optimiser trial runner, a sandboxed strategy, ...) calls
:func:`die_with_parent` first thing, with the process id its parent had before the
fork. From then on the worker ends when the parent ends, however the parent ends,
SIGKILL included, so no worker runs on for minutes after the command that started it.

On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks for SIGKILL
when the parent dies. The parent may have died between the fork and that call (the
signal would then never come): the worker checks that its parent is still the one
it expects and exits at once otherwise. Elsewhere a daemon thread checks the parent
once every :data:`POLL_S` seconds and exits the worker when it is gone.
"""

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1
#: Seconds between two checks of the parent where the kernel cannot watch it.
POLL_S = 1.0
#: Exit status of a worker whose parent is gone.
ORPHANED = 1


def _prctl_death_signal() -> bool:
    """Ask Linux for SIGKILL when the parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def _watch(parent: int) -> None:
    event = threading.Event()
    while not event.wait(POLL_S):
        if os.getppid() != parent:
            os._exit(ORPHANED)


def die_with_parent(parent: int, *, kernel: bool = True) -> None:
    """End this process when process ``parent`` (its parent at fork time) ends.

    ``kernel=False`` skips the Linux ``prctl`` and watches the parent from a thread,
    as on other systems.
    """
    if not (kernel and _prctl_death_signal()):
        threading.Thread(target=_watch, args=(parent,), name="flint-parent-watch",
                         daemon=True).start()
    if os.getppid() != parent:  # the parent died before anyone was watching
        os._exit(ORPHANED)
