"""The sandbox's fork server: a clean, warm process that forks the sandboxed children.

Starting Python and importing numpy, flint and the plugins takes most of a second;
forking a process that has done so takes milliseconds. Each flint process starts one
fork server on first use (:func:`fork_server`), or earlier in the background
(:func:`prestart`) when a command knows it will run untrusted code: a fresh
interpreter, run with an empty environment (only the plugin selection variables
``FLINT_LOAD_PLUGINS``, ``FLINT_DISABLE_PLUGINS``, ``FLINT_STRICT_PLUGINS`` and
one-thread settings for the numeric libraries), its working directory ``/`` and no
descriptor of the parent's but its control socket. It imports what the children need,
then forks a child per request; the child confines itself
(:mod:`flint.strategy.isolation`) before it reads anything from the parent
(:mod:`flint.strategy.sandbox_child`). No untrusted code ever runs in the fork server
itself.

Control messages are JSON over a ``SOCK_SEQPACKET`` socket pair; a ``spawn``
request carries the child's three pipe ends (requests, replies, output) as
``SCM_RIGHTS``. The server reports each child's exit status, kills a child on
request, and kills them all and exits when the parent's end of the socket closes;
each child also gets ``SIGKILL`` when the server dies.
"""

import contextlib
import dataclasses
import fcntl
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import traceback
from typing import Any

from flint.strategy import isolation

#: Environment variables passed on to the fork server (none of them a secret).
PASSED_ENV = ("FLINT_LOAD_PLUGINS", "FLINT_DISABLE_PLUGINS", "FLINT_STRICT_PLUGINS")
#: The numeric libraries run single-threaded: the children may not create threads.
THREAD_ENV = {name: "1" for name in (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
)}
#: Imported by the fork server, so children start warm.
PRELOAD = ("flint.strategy.sandbox_child", "flint.strategy.sandbox", "flint.strategy.remote",
           "flint.backtest.runs")
#: Besides the Python installation and the loaded packages: shared libraries and time zones.
SYSTEM_READABLE = ("/lib", "/lib32", "/lib64", "/usr/lib", "/usr/lib32", "/usr/lib64",
                   "/usr/local/lib", "/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo")
_MESSAGE = 65536


class ForkServerError(RuntimeError):
    """The fork server could not be started or stopped answering."""


def clean_environment() -> dict[str, str]:
    """The whole environment of the fork server and its children."""
    env = {"LC_ALL": "C.UTF-8", **THREAD_ENV}
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    return env


# The parent's side


class ForkServer:
    """A running fork server and its control socket (one per flint process)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path = [p for p in sys.path if os.path.isabs(p)]
        boot = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "  # Ctrl-C: ours
                f"import sys; sys.path[:] = {path!r}; "
                f"from flint.strategy.forkserver import serve; serve({theirs.fileno()})")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", boot], env=clean_environment(), cwd="/",
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self.socket = ours
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.exited: dict[int, int] = {}
        self.replies: list[dict[str, Any]] = []
        hello = self._next_reply(timeout=120.0)
        if hello.get("op") != "ready":
            raise ForkServerError(f"the sandbox fork server did not start: {hello}")

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def _receive(self, timeout: float | None) -> bool:
        """Read one message (False on timeout); ``exited`` ones are kept, others queued."""
        ready, _, _ = select.select([self.socket], [], [], timeout)
        if not ready:
            return False
        raw = self.socket.recv(_MESSAGE)
        if not raw:
            raise ForkServerError("the sandbox fork server stopped")
        message = json.loads(raw)
        if message.get("op") == "exited":
            self.exited[int(message["pid"])] = int(message["status"])
        else:
            self.replies.append(message)
        return True

    def _next_reply(self, timeout: float) -> dict[str, Any]:
        while not self.replies:
            if not self._receive(timeout):
                raise ForkServerError("the sandbox fork server did not answer")
        return self.replies.pop(0)

    def spawn(self, spec: dict[str, Any], fds: list[int]) -> int:
        """Fork a child confined by ``spec`` with ``fds`` (requests, replies, output); its pid."""
        with self.lock:
            socket.send_fds(self.socket, [json.dumps({"op": "spawn", "spec": spec}).encode()],
                            fds)
            reply = self._next_reply(timeout=30.0)
        if reply.get("op") != "spawned":
            raise ForkServerError(f"the sandbox fork server could not fork: {reply}")
        return int(reply["pid"])

    def kill(self, pid: int) -> None:
        """SIGKILL child ``pid`` (nothing if it has exited)."""
        with self.lock:
            self.socket.send(json.dumps({"op": "kill", "pid": pid}).encode())

    def wait(self, pid: int, timeout: float) -> int | None:
        """The wait status of child ``pid`` once it exits (None after ``timeout`` seconds)."""
        with self.lock:
            if pid not in self.exited:
                self._receive(timeout)
                while pid not in self.exited and self._receive(0):
                    pass
            return self.exited.pop(pid, None)

    def close(self) -> None:
        self.socket.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_SERVER: dict[str, ForkServer] = {}
_SERVER_LOCK = threading.Lock()


def fork_server() -> ForkServer:
    """This process's fork server, started on first use (and again if it died)."""
    with _SERVER_LOCK:
        server = _SERVER.get("current")
        if server is None or not server.alive():
            if server is not None and server.owner == os.getpid():
                server.close()
            server = _SERVER["current"] = ForkServer()
        return server


def prestart() -> threading.Thread:
    """Start this process's fork server in the background, if it is not running; the
    thread that starts it.

    A command that will run untrusted code calls this first and loads its data
    meanwhile; its first sandbox then waits only for what is left of the server's
    start (:func:`fork_server` waits for it). A start that fails here is tried again,
    and reported, by that first sandbox.
    """
    def start() -> None:
        with contextlib.suppress(ForkServerError, OSError):
            fork_server()

    thread = threading.Thread(target=start, name="flint-sandbox-prestart", daemon=True)
    thread.start()
    return thread


# The fork server's side


def readable_paths() -> list[str]:
    """What sandboxed children may read: the Python installation, the site-packages
    folders, every loaded package's folder (editable installs live elsewhere) and
    :data:`SYSTEM_READABLE`. Never the working directory or a script's folder."""
    found = {path for key, path in sysconfig.get_paths().items()
             if key in ("stdlib", "platstdlib", "purelib", "platlib")}
    found.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages",
                                                    "lib-dynload")))
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if not location or "." in name:
            continue  # a submodule lives in its top-level package's folder
        found.add(os.path.dirname(location) if hasattr(module, "__path__") else location)
    found.update(SYSTEM_READABLE)
    return sorted(os.path.realpath(p) for p in found if os.path.exists(p))


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    from flint.plugins import get_host
    from flint.strategy import policy

    get_host().registry("strategies")  # every plugin imported now, not in a child
    for module in (*policy.ALLOWED_ROOTS, *policy.ALLOWED_SUBMODULES):
        policy.module_proxy(module)
    # What the server holds now is shared by every child: out of the collector's sight,
    # a child's collections neither walk it nor copy its pages (copy-on-write).
    gc.collect()
    gc.freeze()


def serve(fd: int) -> None:
    """The fork server's loop on control socket ``fd`` (runs until the parent goes)."""
    control = socket.socket(fileno=fd)
    _preload()
    prepared = isolation.Prepared.build(readable_paths())  # once, for every child
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()

    def send(message: dict[str, Any]) -> None:
        control.send(json.dumps(message).encode())

    def reap() -> None:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                send({"op": "exited", "pid": pid, "status": status})

    try:
        send({"op": "ready"})
        while True:
            ready, _, _ = select.select([control.fileno(), wake_r], [], [])
            if wake_r in ready:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                reap()
            if control.fileno() not in ready:
                continue
            raw, fds, _, _ = socket.recv_fds(control, _MESSAGE, 3)
            if not raw:
                return
            message = json.loads(raw)
            if message["op"] == "kill":
                if message["pid"] in children:
                    os.kill(message["pid"], signal.SIGKILL)
                continue
            pid = os.fork()
            if pid == 0:
                _become_child(control, (wake_r, wake_w), fds, message["spec"], prepared)
            for descriptor in fds:
                os.close(descriptor)
            children.add(pid)
            send({"op": "spawned", "pid": pid})
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent went (e.g. a command that started this server failed first)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)


def _become_child(control: socket.socket, wake: tuple[int, int], fds: list[int],
                  spec: dict[str, Any], prepared: isolation.Prepared) -> None:
    """In the forked child: requests on fd 0, output on 1 and 2, replies on 3, the
    prepared Landlock ruleset on 4; confine; serve."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        for descriptor in wake:
            os.close(descriptor)
        requests, replies, output = fds
        ruleset = prepared.landlock_ruleset
        if ruleset is not None:  # out of the way of the dup2 calls below
            ruleset = fcntl.fcntl(ruleset, fcntl.F_DUPFD, 10)
        os.dup2(requests, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(replies, 3)
        if ruleset is not None:
            os.dup2(ruleset, 4)
            prepared = dataclasses.replace(prepared, landlock_ruleset=4)
        os.closerange(5, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
        from flint.strategy.sandbox_child import main

        main(spec, prepared)
    except BaseException:  # trusted code failed: say why on the child's output
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(70)
