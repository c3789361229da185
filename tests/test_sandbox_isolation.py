"""The operating-system layers hold on their own: harms tried with the Python checks off.

``_run_unchecked`` (tests only) runs raw code with the real builtins in a child
confined exactly like a strategy's. Every harm must fail there: that is the test
of the OS boundary. The per-layer tests apply one layer in a forked process to
show what each stops by itself (hosts may lack some of them).
"""

import contextlib
import os
import pickle
import signal
import socket
import sys
import threading
from pathlib import Path

import pytest

from flint.strategy import isolation
from flint.strategy.sandbox import (
    SandboxLimits,
    StrategyExecutionError,
    StrategyOutputError,
    StrategyTimeoutError,
    _run_unchecked,
    sandbox_layers,
)

SUPPORT = {s.name: s.available for s in isolation.host_support()}
confined = pytest.mark.skipif(
    not all(SUPPORT[name] for name in isolation.REQUIRED),
    reason="this host lacks Landlock or seccomp: untrusted code is refused here",
)


def attempt(body: str) -> str:
    """Raw code that sets ``result`` to 'DONE' when ``body`` succeeds, else the error."""
    indented = "\n".join("    " + line for line in body.splitlines())
    return f"try:\n{indented}\n    result = 'DONE'\nexcept BaseException as exc:\n" \
           f"    result = f'{{type(exc).__name__}}: {{exc}}'"


@confined
def test_a_child_applies_every_layer_the_host_offers():
    layers = sandbox_layers()
    offered = [name for name, available in SUPPORT.items() if available]
    assert sorted(layers) == sorted(offered)


@confined
@pytest.mark.parametrize("body", [
    "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)",
    "import subprocess\nsubprocess.run(['true'])",
    "import os\nos.execv(sys.executable, [sys.executable, '-c', 'pass'])",
    "import threading\nt = threading.Thread(target=print)\nt.start()",
], ids=["fork", "subprocess", "exec", "thread"])
def test_no_new_process_or_program(body):
    assert _run_unchecked("import sys\n" + attempt(body)) != "DONE"


@confined
def test_no_file_is_written_or_created(tmp_path):
    target = tmp_path / "written.txt"
    existing = tmp_path / "existing.txt"
    existing.write_text("keep")
    for body in (
        f"open({str(target)!r}, 'w').write('x')",
        f"open({str(existing)!r}, 'a').write('x')",
        f"open({str(existing)!r}, 'r+').write('x')",
        f"import os\nos.truncate({str(existing)!r}, 0)",
        f"import os\nos.remove({str(existing)!r})",
        f"import os\nos.mkdir({str(tmp_path / 'd')!r})",
        "open('written-in-cwd.txt', 'w').write('x')",
        "open('/dev/shm/flint-escape', 'w').write('x')",
    ):
        assert _run_unchecked(attempt(body)) != "DONE", body
    assert not target.exists() and existing.read_text() == "keep"
    assert not Path("/dev/shm/flint-escape").exists()


@confined
def test_no_file_outside_python_and_its_packages_is_read(tmp_path):
    secret = tmp_path / "keys.env"
    secret.write_text("FLINT_API_SECRET=hunter2")
    for path in (secret, tmp_path, Path.home(), "/etc/passwd", f"/proc/{os.getpid()}/environ",
                 f"/proc/{os.getpid()}/mem", "/proc/self/environ"):
        body = f"import os\np = {str(path)!r}\nos.listdir(p) if os.path.isdir(p) else " \
               f"open(p, 'rb').read(1)"
        assert _run_unchecked(attempt(body)) != "DONE", path


@confined
def test_the_environment_is_empty_of_secrets(monkeypatch):
    monkeypatch.setenv("FLINT_API_SECRET", "hunter2")
    seen = _run_unchecked("import os\nresult = dict(os.environ)")
    assert "FLINT_API_SECRET" not in seen
    assert set(seen) <= {"LC_ALL", *isolation_threads()}


def isolation_threads():
    from flint.strategy.forkserver import PASSED_ENV, THREAD_ENV

    return {*THREAD_ENV, *PASSED_ENV}


@confined
def test_no_network_even_to_this_machine():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(5)

    def accept():
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    waiter = threading.Thread(target=accept)
    waiter.start()
    for body in (
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
        "import socket\nsocket.socket(socket.AF_UNIX).connect('\\0flint-test')",
        "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', "
        "('127.0.0.1', 9))",
    ):
        assert _run_unchecked(attempt(body)) != "DONE", body
    waiter.join()
    server.close()
    assert not accepted


@confined
def test_limits_cannot_be_raised():
    for body in (
        "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10 ** 6, 10 ** 6))",
        "import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (hard, hard))",
        "import resource, os\nresource.prlimit(os.getpid(), resource.RLIMIT_NOFILE, (10, 10))",
        "import ctypes\nassert ctypes.CDLL(None).prctl(1, 0, 0, 0, 0) == 0",  # PDEATHSIG off
    ):
        assert _run_unchecked(attempt(body)) != "DONE", body


@confined
def test_other_processes_cannot_be_signalled_or_traced():
    me = os.getpid()
    for body in (
        f"import os\nos.kill({me}, 0)",
        "import os\nos.kill(os.getppid(), 9)",
        "import os\nos.kill(-1, 0)",
        "import os\nos.kill(0, 0)",
        f"import ctypes\nassert ctypes.CDLL(None).ptrace(16, {me}, 0, 0) == 0",
    ):
        assert _run_unchecked(attempt(body)) != "DONE", body
    assert _run_unchecked("import os, signal\nos.kill(os.getpid(), 0)\nresult = 'self'") == "self"


@confined
def test_sleeping_past_the_wall_clock_limit_is_stopped():
    with pytest.raises(StrategyTimeoutError, match="longer than 2 s of wall-clock"):
        _run_unchecked("import time\ntime.sleep(60)", SandboxLimits(wall_seconds=2))


@confined
def test_spinning_past_the_cpu_limit_is_stopped():
    with pytest.raises(StrategyTimeoutError, match="used up its 1 s of CPU time"):
        _run_unchecked("while True:\n    pass", SandboxLimits(cpu_seconds=1, wall_seconds=60))


@confined
def test_an_output_flood_is_cut_off():
    received = []
    with pytest.raises(StrategyOutputError, match="printed more than 64 KiB"):
        _run_unchecked("import sys\nfor _ in range(64 * 1024):\n    sys.stdout.write('x' * 1024)",
                       SandboxLimits(max_output_kb=64), output=received.append)
    assert sum(map(len, received)) <= 64 * 1024


@confined
def test_output_reaches_the_caller_without_control_characters():
    received = []
    _run_unchecked("print('hello \\x1b[2Jworld')\nresult = 1", output=received.append)
    assert "".join(received) == "hello [2Jworld\n"


@confined
@pytest.mark.parametrize("columns", [
    [{"at": ["x"], "type": "f8", "rows": 10 ** 9, "list": True}],  # more bytes than were sent
    [{"at": ["x"], "type": "|O", "rows": 1, "list": True}],  # object pointers: never read
    [{"at": ["missing", "x"], "type": "f8", "rows": 1, "list": True}],  # not a place there
    [{"at": ["x"], "type": "str", "rows": 2, "list": True, "values": ["a"]}],  # past values
], ids=["too-long", "objects", "nowhere", "past-values"])
def test_a_compromised_child_can_send_only_well_formed_data(columns):
    forge = (
        "import json, os, struct, time\n"
        f"body = json.dumps({{'kind': 'ok', 'payload': {{'x': None}}, 'columns': {columns!r}}})"
        ".encode()\n"
        "os.write(3, struct.pack('!QQ', len(body), 8) + body + bytes([0, 0, 0, 0, 9, 0, 0, 0]))\n"
        "time.sleep(30)\n"
    )
    with pytest.raises(StrategyExecutionError, match="malformed reply"):
        _run_unchecked(forge)


@confined
def test_a_crash_kills_only_the_child():
    with pytest.raises(Exception, match="SIGSEGV"):
        _run_unchecked("import ctypes\nctypes.string_at(0)")
    assert _run_unchecked("result = 2") == 2


@confined
def test_the_child_dies_with_its_parent(tmp_path):
    """A flint process killed outright takes its fork server and every child with it."""
    import subprocess
    import time

    script = (
        "import os, sys\n"
        "from flint.strategy.sandbox import Sandbox\n"
        "box = Sandbox(None, trust=True, _raw=True)\n"
        "print(box._pid, box._server.process.pid, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False)
    child, server = map(int, run.stdout.split())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_alive(child) or _alive(server)):
        time.sleep(0.05)
    assert not _alive(child) and not _alive(server)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


# One layer at a time, in a forked process


def in_fork(layer, probe):
    """``probe()``'s result (or error text) after applying ``layer`` in a forked child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            layer()
            result = probe()
        except BaseException as exc:
            result = f"{type(exc).__name__}: {exc}"
        os.write(write, pickle.dumps(result))
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return pickle.loads(data)


def try_it(action):
    def probe():
        try:
            action()
            return "DONE"
        except (OSError, ValueError) as exc:  # setrlimit's EPERM is a ValueError
            return f"{type(exc).__name__}: {exc}"
    return probe


@pytest.mark.skipif(not SUPPORT["seccomp"], reason="no seccomp on this host")
def test_seccomp_alone_stops_processes_sockets_writes_and_limit_changes(tmp_path):
    import resource

    def fork():
        if os.fork() == 0:
            os._exit(0)

    def write():
        with open(tmp_path / "x", "w"):
            pass

    def read():
        with open(__file__) as source:
            return len(source.read()) > 0

    def same_limits():
        resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))

    prepared = isolation.syscall_filter()  # built here, loaded in forks: as the fork server

    def layer():
        isolation.filter_syscalls(prepared)

    for action in (fork, socket.socket, write, lambda: os.unlink(tmp_path), same_limits,
                   lambda: os.kill(os.getppid(), 0)):
        assert in_fork(layer, try_it(action)) != "DONE"
    assert in_fork(layer, read)
    assert in_fork(layer, try_it(lambda: os.kill(os.getpid(), 0))) == "DONE"  # itself


@pytest.mark.skipif(not SUPPORT["landlock"], reason="no Landlock on this host")
def test_landlock_alone_allows_reads_beneath_the_given_folders_only(tmp_path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (inside / "a").write_text("a")
    (outside / "b").write_text("b")

    ruleset = isolation.files_ruleset([str(inside)])  # built here, applied in forks

    def layer():
        isolation.restrict_files(ruleset)

    assert in_fork(layer, (inside / "a").read_text) == "a"
    assert in_fork(layer, try_it((outside / "b").read_text)).startswith(
        "PermissionError")
    assert in_fork(layer, try_it(lambda: (inside / "c").write_text("c"))).startswith(
        "PermissionError")
    assert not (inside / "c").exists()


@pytest.mark.skipif(not SUPPORT["namespaces"], reason="no user namespaces on this host")
def test_the_network_namespace_alone_has_no_route_anywhere():
    def connect():
        socket.create_connection(("127.0.0.1", 9), timeout=2)

    assert in_fork(isolation.enter_namespaces, try_it(connect)).startswith("OSError")


def test_rlimits_alone_stop_file_writes_and_new_processes(tmp_path):
    def layer():
        isolation.set_limits(60, 8 * 1024 ** 3, 4096)

    def write():
        with open(tmp_path / "big", "wb") as f:
            f.write(b"x")

    def fork():
        if os.fork() == 0:
            os._exit(0)

    assert in_fork(layer, try_it(write)).startswith("OSError: [Errno 27]")  # EFBIG
    if os.getuid() != 0:  # the kernel never counts root's processes (seccomp stops them)
        assert in_fork(layer, try_it(fork)) != "DONE"


def test_host_support_names_every_layer():
    assert {s.name for s in isolation.host_support()} == set(isolation.STOPS)
    assert signal.SIGKILL  # the parent-death signal exists here
