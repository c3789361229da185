"""The operating-system layers that confine a sandboxed strategy process (Linux).

A child that runs untrusted strategy code applies them once, before it reads any
of that code; every layer it applies is irreversible for the process. The Landlock
ruleset and the seccomp filter are built once by the fork server
(:class:`Prepared`); each child forked from it only applies them:

* ``environment``: the child starts with an empty environment (no ``FLINT_*``
  settings, no keys); see :mod:`flint.strategy.forkserver`.
* ``rlimits``: CPU seconds, address space, file size 0, few open files, no new
  processes (``RLIMIT_NPROC`` 0; the kernel never applies it to root), no core
  dumps. Root could raise them back, but not once the namespaces below or seccomp
  are in place.
* ``no_new_privs`` and ``parent_death``: ``prctl`` flags: no privilege gain through
  set-uid programs, and ``SIGKILL`` when the parent dies.
* ``namespaces``: a new user and network namespace: no network interface at all and
  no capability over the host (so neither root nor anyone else can lift the limits).
* ``landlock``: the Landlock LSM: files may be read only beneath the directories
  Python and the installed packages live in, written nowhere; with ABI 4+ no TCP
  connect/bind, with ABI 6+ no signals to processes outside the sandbox.
* ``seccomp``: a seccomp filter (compiled by libseccomp) that makes the system calls
  for new processes, program execution, sockets, opening files for writing,
  changing files, raising limits, namespaces, mounts, tracing and signalling other
  processes fail with ``EPERM``.

:data:`REQUIRED` are the layers untrusted code needs (without them, only an explicit
``trust`` runs it); :func:`host_support` says which layers this host offers without
applying any.
"""

import ctypes
import ctypes.util
import errno
import functools
import os
import resource
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass

#: Layers without which untrusted code is refused (unless the caller trusts it).
REQUIRED = ("seccomp", "landlock")

#: What each layer stops, for ``flint doctor`` and the README.
STOPS = {
    "environment": "secrets in the environment (the child starts with none)",
    "rlimits": "runaway CPU and memory, file writes (size 0), many open files; "
               "new processes of users other than root",
    "no_new_privs": "privilege gain through set-uid programs",
    "parent_death": "the child outliving flint",
    "namespaces": "network access and capabilities over the host (limits stay lowered)",
    "landlock": "reading files outside Python and its packages, writing any file"
                "; TCP and signals to other processes on newer kernels",
    "seccomp": "new processes, exec, sockets, file writes and changes, raising limits, "
               "signalling or tracing other processes",
}

# prctl and clone flags
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000

# Landlock (linux/landlock.h); the three system calls have the same number everywhere
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
#: Filesystem rights each ABI version knows (all handled, so all denied but reads).
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

# libseccomp (seccomp.h)
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_NE, _SCMP_CMP_EQ, _SCMP_CMP_MASKED_EQ = 1, 4, 7

#: System calls that always fail with EPERM in the sandbox.
DENIED_SYSCALLS = (
    # processes and programs
    "fork", "vfork", "clone", "clone3", "execve", "execveat", "unshare", "setns",
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
    "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg",
    # changing files
    "creat", "openat2", "truncate", "ftruncate", "fallocate", "rename", "renameat",
    "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
    "lchown", "fchownat", "mknod", "mknodat", "utime", "utimes", "utimensat", "futimesat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "memfd_create", "memfd_secret", "name_to_handle_at", "open_by_handle_at",
    # limits, scheduling and process attributes
    "setrlimit", "prctl", "setpriority", "sched_setscheduler", "sched_setparam",
    "sched_setaffinity", "ioprio_set",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "kcmp", "migrate_pages", "move_pages",
    # the kernel and the machine
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key",
    "request_key", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    "lookup_dcookie", "syslog", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "iopl", "ioperm", "personality", "vhangup",
    "fanotify_init", "mq_open", "msgget", "semget", "shmget",
)
#: Open flags that mean writing or creating (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_TMPFILE).
_WRITE_OPEN_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, 0o20000000)
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C


class ConfinementError(RuntimeError):
    """A layer the caller asked for could not be applied."""


@dataclass(frozen=True)
class Support:
    """Whether this host offers a layer, and in what form (or why not)."""

    name: str
    available: bool
    detail: str


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def _libseccomp() -> ctypes.CDLL | None:
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError:
            continue
    else:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p,
    ]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_api_get.restype = ctypes.c_uint
    return lib


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel (0: none or disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                              ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(0, int(version))


def _namespaces_work() -> bool:
    """Whether a process may create a user and a network namespace (tried in a fork)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child
        ok = _libc().unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@functools.cache
def host_support() -> tuple[Support, ...]:
    """Every layer and whether this host offers it (nothing is applied here)."""
    linux = sys.platform.startswith("linux")
    found = [
        Support("environment", True, "empty"),
        Support("rlimits", True, "CPU, memory, file size, files, processes"),
        Support("no_new_privs", linux, "prctl" if linux else "Linux only"),
        Support("parent_death", linux, "prctl" if linux else "Linux only"),
    ]
    namespaces = linux and _namespaces_work()
    found.append(Support("namespaces", namespaces,
                         "user + network" if namespaces else "cannot create user namespaces"))
    abi = landlock_abi()
    found.append(Support("landlock", abi > 0,
                         f"ABI {abi}" if abi else "not in this kernel or not enabled"))
    lib = _libseccomp() if linux else None
    level = lib.seccomp_api_get() if lib is not None else 0
    found.append(Support(
        "seccomp", level > 0,
        f"libseccomp API level {level}" if level
        else "libseccomp (libseccomp2) is not installed" if lib is None
        else "the kernel has no seccomp filters"))
    return tuple(found)


def missing_required(layers: Iterable[str]) -> list[str]:
    """The :data:`REQUIRED` layers not among ``layers``."""
    have = set(layers)
    return [name for name in REQUIRED if name not in have]


# Applying the layers (in the child, in this order)


def _check(result: int, what: str) -> None:
    if result < 0 or result == -1:
        code = ctypes.get_errno()
        raise ConfinementError(f"{what} failed: {os.strerror(code) if code else result}")


def _lower(kind: int, limit: int) -> None:
    _, hard = resource.getrlimit(kind)
    value = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(kind, (value, value))


def set_limits(cpu_seconds: int, address_space: int, open_files: int) -> None:
    """Lower the child's resource limits (soft = hard, so they cannot be raised again)."""
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    hard = cpu_seconds + 5 if cpu_hard == resource.RLIM_INFINITY else min(cpu_seconds + 5,
                                                                           cpu_hard)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_seconds, hard), hard))  # SIGXCPU, SIGKILL
    _lower(resource.RLIMIT_AS, address_space)
    _lower(resource.RLIMIT_FSIZE, 0)  # CPython ignores SIGXFSZ: writes fail with EFBIG
    _lower(resource.RLIMIT_NOFILE, open_files)
    _lower(resource.RLIMIT_NPROC, 0)
    _lower(resource.RLIMIT_CORE, 0)
    _lower(resource.RLIMIT_MEMLOCK, 0)
    _lower(resource.RLIMIT_MSGQUEUE, 0)


def set_process_flags() -> None:
    """No new privileges; SIGKILL when the parent dies; a new session (no terminal)."""
    libc = _libc()
    parent = os.getppid()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
    _check(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG")
    if os.getppid() != parent:  # the parent died before the flag was set
        os._exit(1)
    os.setsid()


def enter_namespaces() -> None:
    """A new user namespace (no capability over the host) and network namespace."""
    _check(_libc().unshare(_CLONE_NEWUSER | _CLONE_NEWNET), "unshare")


def files_ruleset(readable: Iterable[str]) -> int:
    """A Landlock ruleset allowing reads beneath ``readable`` only (its file descriptor,
    for :func:`restrict_files`, in this process or a child forked after)."""
    abi = landlock_abi()
    if abi == 0:
        raise ConfinementError("Landlock is not available")
    libc = _libc()
    fs = _FS_RIGHTS_BY_ABI[max(v for v in _FS_RIGHTS_BY_ABI if v <= abi)]
    attr = _RulesetAttr(
        handled_access_fs=fs,
        handled_access_net=(_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                           ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    _check(ruleset, "landlock_create_ruleset")
    try:
        for path in sorted(set(readable)):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # gone: nothing to read there
            try:
                rights = _FS_READ_FILE | (_FS_READ_DIR if os.path.isdir(path) else 0)
                rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
                _check(libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset,
                                    ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                                    ctypes.byref(rule), ctypes.c_uint32(0)),
                       f"landlock_add_rule({path})")
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    return int(ruleset)


def restrict_files(ruleset: int) -> None:
    """Landlock: confine this process to :func:`files_ruleset` ``ruleset``."""
    _check(_libc().syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset),
                           ctypes.c_uint32(0)), "landlock_restrict_self")


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def _add_rule(ctx: int, name: str, *conditions: tuple[int, int, int, int]) -> None:
    lib = _libseccomp()
    assert lib is not None
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:
        return  # not a system call of this architecture
    array = (_ArgCmp * max(1, len(conditions)))(*(_ArgCmp(*c) for c in conditions))
    _check(lib.seccomp_rule_add_array(ctx, _errno_action(errno.EPERM), number,
                                      len(conditions), array), f"seccomp rule for {name}")


def syscall_filter() -> int:
    """The seccomp filter of the module doc (allow by default), but for its rules naming
    the process that loads it: libseccomp's context, for :func:`filter_syscalls` in this
    process or a child forked after."""
    lib = _libseccomp()
    if lib is None:
        raise ConfinementError("libseccomp is not installed")
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise ConfinementError("seccomp_init failed")
    try:
        for name in DENIED_SYSCALLS:
            _add_rule(ctx, name)
        for name, arg in (("open", 1), ("openat", 2)):
            for flag in _WRITE_OPEN_FLAGS:
                _add_rule(ctx, name, (arg, _SCMP_CMP_MASKED_EQ, flag, flag))
        _add_rule(ctx, "prlimit64", (2, _SCMP_CMP_NE, 0, 0))  # setting a limit, not reading
        for request in (_TIOCSTI, _TIOCLINUX):
            _add_rule(ctx, "ioctl", (1, _SCMP_CMP_EQ, request, 0))
    except BaseException:
        lib.seccomp_release(ctx)
        raise
    return int(ctx)


def filter_syscalls(ctx: int) -> None:
    """Load :func:`syscall_filter` ``ctx`` into this process, with signals allowed to
    itself only (a forked child adds that to its own copy of the context)."""
    lib = _libseccomp()
    assert lib is not None
    me = os.getpid()
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        _add_rule(ctx, name, (0, _SCMP_CMP_NE, me, 0))
    _check(lib.seccomp_load(ctx), "seccomp_load")


@dataclass(frozen=True)
class Prepared:
    """The Landlock ruleset and seccomp filter a fork server builds once for its children
    (``None`` where the host cannot: ``errors`` says why, by layer name)."""

    landlock_ruleset: int | None
    seccomp_filter: int | None
    errors: dict[str, str]

    @classmethod
    def build(cls, readable: Iterable[str]) -> "Prepared":
        """Both, for children that may read beneath ``readable`` only."""
        errors: dict[str, str] = {}
        built: list[int | None] = []
        for name, make in (("landlock", lambda: files_ruleset(readable)),
                           ("seccomp", syscall_filter)):
            try:
                built.append(make())
            except (ConfinementError, OSError) as exc:
                errors[name] = str(exc)
                built.append(None)
        return cls(built[0], built[1], errors)
