"""Nonces of Hyperliquid actions: per signer, strictly increasing, never reused.

The venue keeps each signer's highest nonces and refuses one it has seen, one below
them, or one far from its clock; nonces are millisecond timestamps. Every adapter of
a process that signs with the same key draws from one :class:`NonceClock` under a
lock, so concurrent orders never collide.
"""

import threading
import time
from collections.abc import Callable


class NonceClock:
    """Millisecond nonces of one signer: the time, or one more than the last."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        """A nonce greater than every one handed out before."""
        with self._lock:
            self._last = max(int(self._clock() * 1000), self._last + 1)
            return self._last


_clocks: dict[str, NonceClock] = {}
_clocks_lock = threading.Lock()


def nonce_clock(signer: str) -> NonceClock:
    """The process's nonce clock of ``signer`` (an address)."""
    with _clocks_lock:
        return _clocks.setdefault(signer.lower(), NonceClock())
