"""Exceptions the kernel raises (kept out of the compiled modules: mypyc cannot
compile subclasses of most builtin exceptions)."""


class BacktestTimeoutError(RuntimeError):
    """A run took longer than its ``max_runtime_s``."""
