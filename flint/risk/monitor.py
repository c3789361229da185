"""The kill switch: :class:`EquityMonitor` watches equity and kills trading on a drawdown.

Killing means, in this order: the trading state goes to HALTED (so nothing new can
be sent), every resting order is cancelled, every position is closed with a
reduce-only market order (which HALTED lets through), and an alert is raised. The
context does the first three in its ``kill(message)``; the state survives restarts
until the user resumes.
"""

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from flint_core.records import AccountState

log = logging.getLogger("flint.risk")

#: ``alert(kind, message)``; kinds: ``drawdown_warning``, ``kill_switch``.
Alert = Callable[[str, str], None]


class Killable(Protocol):
    """What the monitor needs of a context: its account and a kill switch."""

    @property
    def account(self) -> AccountState: ...

    def kill(self, message: str) -> None: ...


class EquityMonitor:
    """Trips the kill switch when equity falls ``kill_switch_pct`` below its peak.

    Warns once at ``warning_pct``. Call :meth:`check` yourself (once per bar, say) or
    :meth:`start` a thread that checks every ``check_interval_s``. The peak starts at
    the first equity seen. ``notification_manager(kind, message)`` receives alerts.
    """

    def __init__(
        self,
        context: Killable,
        kill_switch_pct: float = 0.15,
        warning_pct: float = 0.075,
        check_interval_s: float = 5.0,
        notification_manager: Alert | None = None,
    ) -> None:
        if not 0 < warning_pct <= kill_switch_pct < 1:
            raise ValueError(
                f"need 0 < warning_pct <= kill_switch_pct < 1, got {warning_pct!r} and "
                f"{kill_switch_pct!r}"
            )
        self.context = context
        self.kill_switch_pct = float(kill_switch_pct)
        self.warning_pct = float(warning_pct)
        self.check_interval_s = float(check_interval_s)
        self.notify = notification_manager
        self.peak_equity = 0.0
        self.current_drawdown_pct = 0.0
        self.tripped = False
        self._warned = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Read equity once; trip the kill switch on a breach. True once tripped."""
        if self.tripped:
            return True
        equity = self.context.account.equity
        self.peak_equity = max(self.peak_equity, equity)
        if self.peak_equity <= 0:
            return False
        self.current_drawdown_pct = (self.peak_equity - equity) / self.peak_equity
        if self.current_drawdown_pct >= self.kill_switch_pct:
            self.tripped = True
            message = (f"equity {equity:.2f} is {self.current_drawdown_pct:.2%} below its peak "
                       f"{self.peak_equity:.2f} (kill switch at {self.kill_switch_pct:.2%})")
            log.critical("kill switch: %s", message)
            self.context.kill(message)
            self._alert("kill_switch", message)
        elif self.current_drawdown_pct >= self.warning_pct and not self._warned:
            self._warned = True
            message = (f"drawdown {self.current_drawdown_pct:.2%} from the peak "
                       f"{self.peak_equity:.2f} (kill switch at {self.kill_switch_pct:.2%})")
            log.warning("drawdown warning: %s", message)
            self._alert("drawdown_warning", message)
        return self.tripped

    def _alert(self, kind: str, message: str) -> None:
        if self.notify is not None:
            self.notify(kind, message)

    def reset(self) -> None:
        """Clear the trip and the warning; the peak restarts at the current equity."""
        self.tripped = self._warned = False
        self.peak_equity = self.context.account.equity
        self.current_drawdown_pct = 0.0

    def start(self) -> None:
        """Check every ``check_interval_s`` in a daemon thread until stopped or tripped."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="flint-equity-monitor",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                if self.check():
                    return
            except Exception:  # a failed read must not end the watch silently
                log.exception("equity monitor: the check failed; retrying")

    def stop(self) -> None:
        """Stop the thread (waits for it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
