"""The venue adapter: the small interface a venue plugin implements for live trading.

:class:`~flint.execution.live_base.LiveExecutionContext` does everything venues have
in common (journal, risk, reconciliation, resolving ambiguous outcomes); an adapter
only translates between flint's records and one venue's API. Its duties:

- every order carries flint's client order id to the venue, and the adapter can
  find it again by that id (:meth:`VenueAdapter.order_status`);
- a command the venue provably refused raises :class:`VenueRejected`; a command
  whose outcome is unknown (timeout, connection reset, 5xx, 429, a reply that cannot
  be parsed) raises :class:`AmbiguousOutcome`, never :class:`VenueRejected`, and is
  never retried by the adapter with a new request;
- a failed read raises :class:`VenueUnavailable`;
- :attr:`VenueAdapter.ambiguity_window_s` bounds how long after a send an order the
  venue does not report may still appear (a request expiry, a blockhash lifetime):
  after it, "not found" is final;
- every network call has a timeout; keys never appear in a log line or an error.

``flint.testing.live_contracts`` holds the tests every adapter is held to.
"""

import abc
from collections.abc import Sequence

import attrs

from flint_core.enums import OrderState, OrderType, Side, TimeInForce


class VenueError(Exception):
    """A venue call failed."""


class VenueRejected(VenueError):
    """The venue proved it did not carry out the command (``code`` is the venue's)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class AmbiguousOutcome(VenueError):
    """The command may or may not have reached the venue (``kind``: ``timeout``,
    ``reset``, ``server_error``, ``rate_limited``, ``unparsable``), or it did and the
    order's state after it is unknown (``unknown_state``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class VenueUnavailable(VenueError):
    """A read failed; nothing changed at the venue."""


@attrs.frozen
class OrderRequest:
    """What flint asks a venue to place; ``price`` is the limit or trigger price."""

    client_id: str
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float = 0.0
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC


@attrs.frozen
class VenueFill:
    """A fill as the venue reports it; ``trade_id`` is unique per venue account."""

    trade_id: str
    client_id: str
    market: str
    side: Side
    price: float
    size: float
    fee: float = 0.0
    ts: float = 0.0
    is_maker: bool = False


@attrs.frozen
class VenueOrder:
    """An order as the venue reports it. ``client_id`` is the client order id it was
    placed with (an order placed outside flint may have its own or a venue id);
    ``fills`` are the fills the reply carried, if any."""

    client_id: str
    market: str
    side: Side
    order_type: OrderType
    size: float
    state: OrderState
    price: float = 0.0
    filled_size: float = 0.0
    avg_price: float = 0.0
    reduce_only: bool = False
    venue_order_id: str = ""
    ts: float = 0.0
    reason: str = ""
    fills: tuple[VenueFill, ...] = ()


@attrs.frozen
class VenuePosition:
    """An open position: signed ``size`` (+ long, - short)."""

    market: str
    size: float
    entry_price: float
    mark_price: float = 0.0


@attrs.frozen
class VenueBalance:
    """Cash of one asset: ``total``, the wallet balance without unrealised PnL (equity is
    computed from it and the positions' marks), and ``available`` for new orders."""

    asset: str
    total: float
    available: float


@attrs.frozen
class UserEvents:
    """A batch of the account's order updates and fills, and where the next batch starts."""

    orders: tuple[VenueOrder, ...] = ()
    fills: tuple[VenueFill, ...] = ()
    cursor: str = ""


class VenueAdapter(abc.ABC):
    """One venue account, as the live context needs it. Methods block; each has a timeout."""

    #: The venue's name (what positions and fills are tagged with).
    venue: str = ""
    #: The asset the account's cash and PnL are in.
    quote_asset: str = "USD"
    #: Seconds after a send during which an unreported order may still appear.
    ambiguity_window_s: float = 60.0

    def new_client_id(self, session: str, number: int) -> str:
        """The client order id of the ``number``-th order of ``session`` (override when
        the venue restricts the format; the id must be unique per account)."""
        return f"fl-{session}-{number}"

    def connect(self) -> None:  # noqa: B027 (optional)
        """Open connections and log in."""

    def close(self) -> None:  # noqa: B027 (optional)
        """Release connections."""

    @abc.abstractmethod
    def place(self, request: OrderRequest) -> VenueOrder:
        """Send a new order; its state as the venue acknowledged it."""

    def check_order(self, request: OrderRequest) -> None:  # noqa: B027 (optional)
        """Build and validate ``request`` as :meth:`place` would, without sending it
        (dry-run); raise :class:`VenueRejected` for what the venue would refuse."""

    @abc.abstractmethod
    def cancel(self, client_id: str) -> VenueOrder:
        """Cancel a resting order; its state after the cancel. An order that is no
        longer open raises :class:`VenueRejected`."""

    def amend(
        self, client_id: str, size: float | None = None, price: float | None = None
    ) -> VenueOrder:
        """Change a resting order's size and/or price (default: the venue cannot)."""
        raise VenueRejected("unsupported", f"{self.venue} cannot amend orders")

    @abc.abstractmethod
    def open_orders(self) -> Sequence[VenueOrder]:
        """Every open order of the account, flint's or not."""

    @abc.abstractmethod
    def order_status(self, client_id: str) -> VenueOrder | None:
        """The order placed with ``client_id``, or None if the venue does not know it."""

    def state_after(self, client_id: str, done: str) -> VenueOrder:
        """The venue's record of an order a command just changed (``done``: "cancelled",
        "amended"), for a venue whose reply does not hold it; :class:`AmbiguousOutcome`
        (``unknown_state``) if it cannot be read or the venue does not know the order."""
        try:
            after = self.order_status(client_id)
        except VenueUnavailable as exc:
            raise AmbiguousOutcome("unknown_state", f"{done}; state unread: {exc}") from None
        if after is None:
            raise AmbiguousOutcome("unknown_state", f"{done} {client_id}; venue forgot it")
        return after

    @abc.abstractmethod
    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        """The account's fills at or after unix time ``ts``, oldest first."""

    @abc.abstractmethod
    def positions(self) -> Sequence[VenuePosition]:
        """Open positions."""

    @abc.abstractmethod
    def balances(self) -> Sequence[VenueBalance]:
        """Cash per asset."""

    @abc.abstractmethod
    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        """Order updates and fills after ``cursor``, waiting up to ``timeout_s`` for
        the first; an empty batch when nothing happened. ``cursor`` "" returns at once
        with no events and the cursor of the stream's present position."""
