"""``PaperBroker``: the strategy's ``ctx`` in a paper session.

A :class:`~flint.execution.live_base.LiveExecutionContext` whose venue is a
:class:`~flint.paper.venue.PaperVenue`: orders are journaled (account
``paper:<session>``), risk-checked and reconciled exactly as live orders are, and
only the venue is simulated. Its clock is paper time (the close of the newest bar).

A strategy re-run on a bar after a restart (:attr:`PaperBroker.replaying`) asks for
the orders it placed before the restart again: those the venue has are not sent twice
(their id is returned); one whose intent was journaled but that never reached the
venue is sent under a new id. Any other order (the kill switch's closes, a strategy's
order on a new bar) is new: it takes the next id no earlier order has.
"""

from flint.execution.live_base import LiveExecutionContext
from flint.paper.venue import PaperVenue
from flint.risk.engine import RiskEngine
from flint.risk.monitor import Alert
from flint.store import FlintStore
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_core.records import Candle


class PaperBroker(LiveExecutionContext):
    """``ctx`` of paper session ``session`` on ``venue`` (see the module doc)."""

    def __init__(self, venue: PaperVenue, store: FlintStore, *, session: str,
                 risk: RiskEngine | None = None, alert: Alert | None = None) -> None:
        super().__init__(venue, store, account=f"paper:{session}", risk=risk, alert=alert,
                         clock=lambda: venue.now, poll_interval_s=0.0,
                         balance_interval_s=0.0, fill_overlap_s=float(venue.resolution_s))
        self.session = session
        self.paper = venue
        #: The strategy is re-running the last recorded bar (set by the session).
        self.replaying = False

    def begin_bar(self, candle: Candle) -> None:
        """The strategy is about to run on ``candle``: its orders are numbered from 1."""
        self._numbers = 0
        self.set_candle(candle)

    def _submit(self, kind: OrderType, market: str, side: Side, size: float, price: float,
                reduce_only: bool, tag: str, venue: str, tif: TimeInForce) -> str:
        base, number = self.session, self._numbers + 1
        try:
            while True:
                cid = self.adapter.new_client_id(self.session, number)
                known = self.tracker.orders.get(cid)
                if known is None:
                    self._numbers = number - 1
                    return super()._submit(kind, market, side, size, price, reduce_only, tag,
                                           venue, tif)
                if not self.replaying:  # a new order: never taken for an earlier one
                    number += 1
                    continue
                if not (known.state is OrderState.FAILED
                        and self.adapter.order_status(cid) is None):
                    self._numbers = number
                    return cid  # placed before a restart: not sent again
                self.session += "r"  # journaled, never reached the venue: a new id
        finally:
            self.session = base

    def flatten(self, reason: str) -> None:
        """The kill switch, filled at once at the last close (see :meth:`kill`)."""
        self.kill(reason)
        self.paper.after_strategy(all_now=True)
        self.sync()
