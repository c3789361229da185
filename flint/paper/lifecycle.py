"""How a paper or live session ends: the lifecycle both session kinds share.

A session trades through ``ctx`` (a live context, or a paper broker) and records a
status (``running``, ``stopped``, ``killed``, ``ended``) in its journal.
:meth:`SessionLifecycle.stop` cancels resting orders and keeps positions;
:meth:`SessionLifecycle.kill` is the kill switch (trading HALTED, resting orders
cancelled, every position closed with reduce-only orders); :meth:`SessionLifecycle.end`
leaves orders and positions as they are. :meth:`SessionLifecycle.obey` carries out
the commands ``flint paper`` / ``flint live`` send a session.
"""

from typing import Any


class SessionLifecycle:
    """Stop, kill, end and close of a session (see the module doc); a subclass sets
    ``kind``, ``ctx`` and ``status`` and records a status in :meth:`_set_status`."""

    kind = "session"  # "paper" or "live": names the session in messages
    ctx: Any
    status: str

    def stop(self) -> None:
        """Cancel resting orders, keep positions; the session can be resumed."""
        self.ctx.cancel_all()
        self._set_status("stopped")

    def kill(self, reason: str = "") -> None:
        """The kill switch: HALTED, cancel resting orders, close every position."""
        self._flatten(reason or f"{self.kind} session killed")
        self._set_status("killed")

    def end(self) -> None:
        """The session reached its end time (orders and positions left as they are)."""
        self._set_status("ended")

    def close(self) -> None:
        """Release the context (resting orders stay at the venue)."""
        self.ctx.stop()

    def obey(self, command: str) -> None:
        """Carry out ``stop``, ``kill`` or ``resume`` (trade again after a halt)."""
        if command == "kill":
            self.kill(f"flint {self.kind} kill")
        elif command == "stop":
            self.stop()
        elif command == "resume":
            self.ctx.resume()
        else:
            raise ValueError(f"unknown session command {command!r} (stop, kill or resume)")

    def _flatten(self, reason: str) -> None:
        self.ctx.kill(reason)

    def _set_status(self, status: str) -> None:
        raise NotImplementedError
