"""Enumerations shared by strategies, the engine and the venues."""

from enum import StrEnum


class Signal(StrEnum):
    """What a v1 strategy asks for on a bar."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class Side(StrEnum):
    """Direction of an order or a position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for LONG, -1 for SHORT."""
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> "Side":
        """The other side."""
        return Side.SHORT if self is Side.LONG else Side.LONG


class OrderType(StrEnum):
    """Kinds of order a strategy can place."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


class OrderStatus(StrEnum):
    """Order status in backtest and paper trading."""

    PENDING = "pending"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    CANCELLED = "cancelled"


class OrderState(StrEnum):
    """Full lifecycle of an order on a live venue.

    ``UNKNOWN``: the venue's answer was ambiguous (timeout, reset, 5xx, 429, a reply
    that cannot be parsed); the order may or may not exist there until a query by its
    client order id says which. It is never resolved by sending the order again.
    """

    PENDING = "pending"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"


class TimeInForce(StrEnum):
    """How long an order's unfilled remainder lives."""

    IOC = "IOC"
    FOK = "FOK"
    GTC = "GTC"
