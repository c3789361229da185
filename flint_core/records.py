"""Hot value records: candles, orders, fills, positions, funding and order books.

Compiled by mypyc in the compiled build, so these are frozen slotted dataclasses
(native classes that keep equality, hashing and immutability when compiled).
Compiled native instances cannot be unpickled through the dataclass machinery,
so every record defines ``__reduce__`` to rebuild itself from its fields.
The mutable records (Order, Position) belong to one owner: never share one between
a strategy and an engine. :class:`PositionInfo` and :class:`AccountState` are frozen,
so an execution context can hand the same one out until what it shows changes.

:class:`Candle`, :class:`Fill`, :class:`Order`, :class:`Position`, :class:`PositionInfo`
and :class:`AccountState` write their own ``__init__``: the backtest engine builds them
per bar or per order, and mypyc compiles an explicit ``__init__`` natively (about
20 ns) where it keeps the dataclass-generated one interpreted (about 800 ns for a
candle, more for the longer records).
"""

from dataclasses import dataclass
from typing import Any, Final

from flint_core.enums import OrderStatus, OrderType, Side, TimeInForce
from flint_core.markets import DEFAULT_VENUE


def _probe() -> None:
    """A plain function in the pure build, a builtin once mypyc compiles this module."""


#: True when this module runs mypyc-compiled.
NATIVE: Final = type(_probe).__name__ != "function"


@dataclass(frozen=True, slots=True, init=False)
class Candle:
    """One OHLCV bar; ``ts`` is the bar's open time in unix seconds (UTC)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    market: str = ""
    resolution_s: int = 3600
    venue: str = DEFAULT_VENUE

    def __init__(
        self,
        ts: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        market: str = "",
        resolution_s: int = 3600,
        venue: str = DEFAULT_VENUE,
    ) -> None:
        if NATIVE:  # compiled: native field writes, the frozen __setattr__ is not involved
            self.ts = ts  # type: ignore[misc]
            self.open = open  # type: ignore[misc]
            self.high = high  # type: ignore[misc]
            self.low = low  # type: ignore[misc]
            self.close = close  # type: ignore[misc]
            self.volume = volume  # type: ignore[misc]
            self.market = market  # type: ignore[misc]
            self.resolution_s = resolution_s  # type: ignore[misc]
            self.venue = venue  # type: ignore[misc]
        else:  # pure Python: what the dataclass-generated __init__ of a frozen class does
            values = (ts, open, high, low, close, volume, market, resolution_s, venue)
            for name, value in zip(_CANDLE_FIELDS, values, strict=True):
                object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Candle,
            (
                self.ts, self.open, self.high, self.low, self.close, self.volume,
                self.market, self.resolution_s, self.venue,
            ),
        )


_CANDLE_FIELDS: Final = (
    "ts", "open", "high", "low", "close", "volume", "market", "resolution_s", "venue",
)
_FUNDING_FIELDS: Final = (
    "market", "ts", "rate", "oracle_price", "mark_price", "slot", "source", "interval_s",
)
_POSITION_INFO_FIELDS: Final = (
    "market", "side", "size", "entry_price", "unrealized_pnl", "entry_ts", "venue",
)
_ACCOUNT_STATE_FIELDS: Final = (
    "equity", "cash", "unrealized_pnl", "margin_used", "free_margin", "leverage",
)
_FILL_FIELDS: Final = (
    "market", "side", "price", "size", "fee", "ts", "order_id", "tx_sig", "venue", "is_partial",
    "latency_ms", "impact_bps", "tx_cost", "is_maker",
)


@dataclass(frozen=True, slots=True, init=False)
class Fill:
    """An executed (part of an) order; ``fee`` and ``tx_cost`` are in quote currency."""

    market: str
    side: Side
    price: float
    size: float
    fee: float
    ts: int
    order_id: str = ""
    tx_sig: str = ""
    venue: str = DEFAULT_VENUE
    is_partial: bool = False
    latency_ms: float = 0.0
    impact_bps: float = 0.0
    tx_cost: float = 0.0
    is_maker: bool = False

    def __init__(
        self,
        market: str,
        side: Side,
        price: float,
        size: float,
        fee: float,
        ts: int,
        order_id: str = "",
        tx_sig: str = "",
        venue: str = DEFAULT_VENUE,
        is_partial: bool = False,
        latency_ms: float = 0.0,
        impact_bps: float = 0.0,
        tx_cost: float = 0.0,
        is_maker: bool = False,
    ) -> None:
        if NATIVE:  # compiled: native field writes (see Candle)
            self.market = market  # type: ignore[misc]
            self.side = side  # type: ignore[misc]
            self.price = price  # type: ignore[misc]
            self.size = size  # type: ignore[misc]
            self.fee = fee  # type: ignore[misc]
            self.ts = ts  # type: ignore[misc]
            self.order_id = order_id  # type: ignore[misc]
            self.tx_sig = tx_sig  # type: ignore[misc]
            self.venue = venue  # type: ignore[misc]
            self.is_partial = is_partial  # type: ignore[misc]
            self.latency_ms = latency_ms  # type: ignore[misc]
            self.impact_bps = impact_bps  # type: ignore[misc]
            self.tx_cost = tx_cost  # type: ignore[misc]
            self.is_maker = is_maker  # type: ignore[misc]
        else:
            values = (
                market, side, price, size, fee, ts, order_id, tx_sig, venue, is_partial,
                latency_ms, impact_bps, tx_cost, is_maker,
            )
            for name, value in zip(_FILL_FIELDS, values, strict=True):
                object.__setattr__(self, name, value)

    @property
    def latency(self) -> float:
        """The seed's name for :attr:`latency_ms`: order to fill, in milliseconds."""
        return self.latency_ms

    @property
    def impact(self) -> float:
        """The seed's name for :attr:`impact_bps`: price impact, in basis points."""
        return self.impact_bps

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Fill,
            (
                self.market, self.side, self.price, self.size, self.fee, self.ts,
                self.order_id, self.tx_sig, self.venue, self.is_partial,
                self.latency_ms, self.impact_bps, self.tx_cost, self.is_maker,
            ),
        )


@dataclass(frozen=True, slots=True, init=False)
class FundingRate:
    """One funding settlement of a venue.

    ``rate`` is the decimal rate for the venue's own interval (``interval_s``);
    longs pay a positive rate. ``source`` names the venue.
    """

    market: str
    ts: int
    rate: float
    oracle_price: float = 0.0
    mark_price: float = 0.0
    slot: int = 0
    source: str = DEFAULT_VENUE
    interval_s: int = 3600

    def __init__(
        self,
        market: str,
        ts: int,
        rate: float,
        oracle_price: float = 0.0,
        mark_price: float = 0.0,
        slot: int = 0,
        source: str = DEFAULT_VENUE,
        interval_s: int = 3600,
    ) -> None:
        if NATIVE:  # compiled: native field writes (as Candle's)
            self.market = market  # type: ignore[misc]
            self.ts = ts  # type: ignore[misc]
            self.rate = rate  # type: ignore[misc]
            self.oracle_price = oracle_price  # type: ignore[misc]
            self.mark_price = mark_price  # type: ignore[misc]
            self.slot = slot  # type: ignore[misc]
            self.source = source  # type: ignore[misc]
            self.interval_s = interval_s  # type: ignore[misc]
        else:
            values = (market, ts, rate, oracle_price, mark_price, slot, source, interval_s)
            for name, value in zip(_FUNDING_FIELDS, values, strict=True):
                object.__setattr__(self, name, value)

    @property
    def venue(self) -> str:
        """The venue this rate was paid on (alias of ``source``)."""
        return self.source

    @property
    def hourly_rate(self) -> float:
        """The rate scaled to one hour, for comparing venues with different intervals."""
        return self.rate * (3600.0 / self.interval_s)  # exact for 1 h and 8 h intervals

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            FundingRate,
            (
                self.market, self.ts, self.rate, self.oracle_price, self.mark_price,
                self.slot, self.source, self.interval_s,
            ),
        )


@dataclass(frozen=True, slots=True)
class OrderbookLevel:
    """One price level of an order book."""

    price: float
    size: float

    def __reduce__(self) -> tuple[Any, ...]:
        return (OrderbookLevel, (self.price, self.size))


@dataclass(frozen=True, slots=True)
class OrderbookSnapshot:
    """Order book at ``ts``: bids best (highest) first, asks best (lowest) first."""

    market: str
    ts: int
    bids: tuple[OrderbookLevel, ...]
    asks: tuple[OrderbookLevel, ...]
    slot: int = 0
    venue: str = DEFAULT_VENUE

    @property
    def best_bid(self) -> float:
        """Highest bid price, 0.0 when there are no bids."""
        return self.bids[0].price if self.bids else 0.0

    @property
    def best_ask(self) -> float:
        """Lowest ask price, 0.0 when there are no asks."""
        return self.asks[0].price if self.asks else 0.0

    @property
    def mid(self) -> float:
        """Mid price, 0.0 unless both sides are present."""
        if not self.bids or not self.asks:
            return 0.0
        return (self.bids[0].price + self.asks[0].price) / 2.0

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            OrderbookSnapshot,
            (self.market, self.ts, self.bids, self.asks, self.slot, self.venue),
        )


@dataclass(frozen=True, slots=True)
class BorrowSnapshot:
    """Borrow rate of a lending venue (e.g. Jupiter Perps) at ``ts``."""

    market: str
    ts: int
    rate_hourly: float
    utilization: float = 0.0
    cumulative_rate: float = 0.0
    source: str = "jupiter"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            BorrowSnapshot,
            (
                self.market, self.ts, self.rate_hourly, self.utilization,
                self.cumulative_rate, self.source,
            ),
        )


@dataclass(frozen=True, slots=True)
class OpenInterest:
    """Open interest of a market on a venue, in base units."""

    market: str
    ts: int
    long_oi: float
    short_oi: float
    venue: str = DEFAULT_VENUE

    @property
    def net(self) -> float:
        """Long minus short open interest."""
        return self.long_oi - self.short_oi

    @property
    def total(self) -> float:
        """Long plus short open interest."""
        return self.long_oi + self.short_oi

    def __reduce__(self) -> tuple[Any, ...]:
        return (OpenInterest, (self.market, self.ts, self.long_oi, self.short_oi, self.venue))


@dataclass(frozen=True, slots=True)
class OraclePrice:
    """An oracle price observation."""

    market: str
    ts: int
    price: float
    slot: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (OraclePrice, (self.market, self.ts, self.price, self.slot))


@dataclass(slots=True, init=False)
class Order:
    """A mutable order record; ``price`` is the limit or trigger price (0 for market)."""

    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float = 0.0
    order_id: str = ""
    status: OrderStatus = OrderStatus.PENDING
    ts: int = 0
    filled_size: float = 0.0
    filled_price: float = 0.0
    venue: str = DEFAULT_VENUE
    time_in_force: TimeInForce = TimeInForce.IOC
    reduce_only: bool = False
    tag: str = ""

    def __init__(
        self,
        market: str,
        side: Side,
        order_type: OrderType,
        size: float,
        price: float = 0.0,
        order_id: str = "",
        status: OrderStatus = OrderStatus.PENDING,
        ts: int = 0,
        filled_size: float = 0.0,
        filled_price: float = 0.0,
        venue: str = DEFAULT_VENUE,
        time_in_force: TimeInForce = TimeInForce.IOC,
        reduce_only: bool = False,
        tag: str = "",
    ) -> None:
        self.market = market
        self.side = side
        self.order_type = order_type
        self.size = size
        self.price = price
        self.order_id = order_id
        self.status = status
        self.ts = ts
        self.filled_size = filled_size
        self.filled_price = filled_price
        self.venue = venue
        self.time_in_force = time_in_force
        self.reduce_only = reduce_only
        self.tag = tag

    @property
    def remaining(self) -> float:
        """Size still to fill."""
        return self.size - self.filled_size

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Order,
            (
                self.market, self.side, self.order_type, self.size, self.price,
                self.order_id, self.status, self.ts, self.filled_size, self.filled_price,
                self.venue, self.time_in_force, self.reduce_only, self.tag,
            ),
        )


@dataclass(slots=True, init=False)
class Position:
    """A backtest position; ``size`` is signed (+ long, - short)."""

    entry_price: float
    size: float
    entry_ts: int
    exit_price: float = 0.0
    exit_ts: int = 0
    pnl: float = 0.0
    closed: bool = False
    market: str = ""
    venue: str = DEFAULT_VENUE

    def __init__(
        self,
        entry_price: float,
        size: float,
        entry_ts: int,
        exit_price: float = 0.0,
        exit_ts: int = 0,
        pnl: float = 0.0,
        closed: bool = False,
        market: str = "",
        venue: str = DEFAULT_VENUE,
    ) -> None:
        self.entry_price = entry_price
        self.size = size
        self.entry_ts = entry_ts
        self.exit_price = exit_price
        self.exit_ts = exit_ts
        self.pnl = pnl
        self.closed = closed
        self.market = market
        self.venue = venue

    @property
    def side(self) -> Side:
        """LONG for a positive size, SHORT otherwise."""
        return Side.LONG if self.size >= 0 else Side.SHORT

    def close(self, price: float, ts: int) -> float:
        """Close the whole position at ``price``; return and record its price PnL."""
        if self.closed:
            raise ValueError("position is already closed")
        self.exit_price = price
        self.exit_ts = ts
        self.pnl = (price - self.entry_price) * self.size
        self.closed = True
        return self.pnl

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Position,
            (
                self.entry_price, self.size, self.entry_ts, self.exit_price, self.exit_ts,
                self.pnl, self.closed, self.market, self.venue,
            ),
        )


@dataclass(frozen=True, slots=True, init=False)
class PositionInfo:
    """Read-only view of an open position for strategies; ``size`` is always positive."""

    market: str
    side: Side
    size: float
    entry_price: float
    unrealized_pnl: float = 0.0
    entry_ts: int = 0
    venue: str = DEFAULT_VENUE

    def __init__(
        self,
        market: str,
        side: Side,
        size: float,
        entry_price: float,
        unrealized_pnl: float = 0.0,
        entry_ts: int = 0,
        venue: str = DEFAULT_VENUE,
    ) -> None:
        if NATIVE:  # compiled: native field writes (see Candle)
            self.market = market  # type: ignore[misc]
            self.side = side  # type: ignore[misc]
            self.size = size  # type: ignore[misc]
            self.entry_price = entry_price  # type: ignore[misc]
            self.unrealized_pnl = unrealized_pnl  # type: ignore[misc]
            self.entry_ts = entry_ts  # type: ignore[misc]
            self.venue = venue  # type: ignore[misc]
        else:
            values = (market, side, size, entry_price, unrealized_pnl, entry_ts, venue)
            for name, value in zip(_POSITION_INFO_FIELDS, values, strict=True):
                object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            PositionInfo,
            (
                self.market, self.side, self.size, self.entry_price, self.unrealized_pnl,
                self.entry_ts, self.venue,
            ),
        )


@dataclass(frozen=True, slots=True, init=False)
class AccountState:
    """Account snapshot; ``equity`` is cash plus unrealised PnL."""

    equity: float
    cash: float
    unrealized_pnl: float = 0.0
    margin_used: float = 0.0
    free_margin: float = 0.0
    leverage: float = 0.0

    def __init__(
        self,
        equity: float,
        cash: float,
        unrealized_pnl: float = 0.0,
        margin_used: float = 0.0,
        free_margin: float = 0.0,
        leverage: float = 0.0,
    ) -> None:
        if NATIVE:  # compiled: native field writes (see Candle)
            self.equity = equity  # type: ignore[misc]
            self.cash = cash  # type: ignore[misc]
            self.unrealized_pnl = unrealized_pnl  # type: ignore[misc]
            self.margin_used = margin_used  # type: ignore[misc]
            self.free_margin = free_margin  # type: ignore[misc]
            self.leverage = leverage  # type: ignore[misc]
        else:
            values = (equity, cash, unrealized_pnl, margin_used, free_margin, leverage)
            for name, value in zip(_ACCOUNT_STATE_FIELDS, values, strict=True):
                object.__setattr__(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            AccountState,
            (
                self.equity, self.cash, self.unrealized_pnl, self.margin_used,
                self.free_margin, self.leverage,
            ),
        )
