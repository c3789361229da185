"""Data models: the records strategies, the engine, the store and the venues exchange.

The hot records (candles, orders, fills, positions, funding, order books) live in
the kernel and are compiled in the compiled build; the collector and arbitrage
records below are plain attrs classes. Frozen records are immutable and hashable.
"""

import attrs

from flint_core.enums import OrderState, OrderStatus, OrderType, Side, Signal, TimeInForce
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import (
    AccountState,
    BorrowSnapshot,
    Candle,
    Fill,
    FundingRate,
    OpenInterest,
    OraclePrice,
    Order,
    OrderbookLevel,
    OrderbookSnapshot,
    Position,
    PositionInfo,
)
from flint_core.series import CandleSeries

__all__ = [
    "AccountState", "ArbRoute", "BorrowSnapshot", "Candle", "CandleSeries", "CollectorStatus",
    "DexVolume", "Fill", "FundingRate", "LegGroup", "LegGroupResult", "Liquidation",
    "LiquidationOpportunity", "MarketInfo", "MarketSnapshot", "OpenInterest", "OraclePrice",
    "Order", "OrderLeg", "OrderState", "OrderStatus", "OrderType", "OrderbookLevel",
    "OrderbookSnapshot", "PoolState", "Position", "PositionInfo", "Side", "Signal",
    "SyncMetadata", "TimeInForce", "TokenUnlock", "Trade", "WhaleTransfer",
]


@attrs.frozen
class MarketSnapshot:
    """A market's state on a venue at ``ts``: mark and oracle (or index) prices, open
    interest (base units) and the current funding rate (of the coming settlement, for the
    venue's own interval: an hour on Hyperliquid)."""

    market: str
    ts: int
    mark_price: float
    oracle_price: float
    open_interest: float
    funding_rate: float
    venue: str = DEFAULT_VENUE


@attrs.frozen
class MarketInfo:
    """Protocol metadata of a market: tick size, minimum size, fees, oracle."""

    symbol: str
    market_index: int
    oracle: str
    tick_size: float
    min_order_size: float
    maker_fee: float
    taker_fee: float


@attrs.frozen
class PoolState:
    """Snapshot of an AMM pool, for arbitrage detection."""

    pool_address: str
    dex: str
    token_a_mint: str
    token_b_mint: str
    reserve_a: float
    reserve_b: float
    fee_rate: float
    slot: int = 0

    @property
    def price_a_in_b(self) -> float:
        """Price of token A in units of token B (0.0 for an empty pool)."""
        return self.reserve_b / self.reserve_a if self.reserve_a else 0.0


@attrs.frozen
class ArbRoute:
    """A profitable arbitrage path through ``pools``."""

    pools: tuple[str, ...]
    tokens: tuple[str, ...]
    input_amount: float
    output_amount: float
    profit: float
    profit_bps: float

    @property
    def hops(self) -> int:
        """Number of pools traversed."""
        return len(self.pools)


@attrs.frozen
class LiquidationOpportunity:
    """A position on a lending or perp protocol that is close to liquidation."""

    protocol: str
    user_account: str
    market: str
    side: Side
    position_size: float
    entry_price: float
    liquidation_price: float
    oracle_price: float
    margin_ratio: float
    estimated_profit: float


@attrs.frozen
class Liquidation:
    """A liquidation that happened on a venue."""

    market: str
    ts: int
    side: Side
    size: float
    price: float
    slot: int = 0
    tx_sig: str = ""


@attrs.frozen
class WhaleTransfer:
    """A large on-chain transfer into or out of a wallet."""

    wallet: str
    token_mint: str
    amount: float
    ts: int
    direction: str  # "in" or "out"
    tx_sig: str = ""


@attrs.frozen
class DexVolume:
    """Traded volume of a market on a DEX over a period ending at ``ts``."""

    market: str
    dex: str
    ts: int
    volume_usd: float
    txn_count: int = 0


@attrs.frozen
class TokenUnlock:
    """A scheduled token unlock."""

    token_mint: str
    unlock_ts: int
    amount: float
    vesting_account: str = ""


@attrs.frozen
class SyncMetadata:
    """How far a provider has synced one data type of a market."""

    provider: str
    market: str
    data_type: str
    last_sync_ts: int
    record_count: int = 0
    status: str = "ok"
    error_msg: str = ""


@attrs.define
class CollectorStatus:
    """Progress of a data collector for one market and data type."""

    market: str
    data_type: str
    state: str = "idle"  # idle | collecting | backfilling | error
    last_updated: int = 0
    row_count: int = 0
    date_range_start: int = 0
    date_range_end: int = 0
    error_message: str = ""
    progress_pct: float = 0.0


@attrs.define
class Trade:
    """A public trade print."""

    ts: int
    price: float
    size: float
    side: Side
    market: str


@attrs.frozen
class OrderLeg:
    """One leg of a cross-venue group of orders."""

    market: str
    side: Side
    size: float
    venue: str
    order_id: str = ""


@attrs.define
class LegGroup:
    """Orders on several venues that must fill together (or be unwound)."""

    group_id: str
    legs: list[OrderLeg]
    created_at: int
    timeout_s: float = 30.0
    status: str = "pending"


@attrs.define
class LegGroupResult:
    """Outcome of a leg group: filled, unwound, partial or failed."""

    group_id: str
    status: str
    filled_legs: list[OrderLeg] = attrs.field(factory=list)
    failed_legs: list[OrderLeg] = attrs.field(factory=list)
    unwind_order_ids: list[str] = attrs.field(factory=list)
