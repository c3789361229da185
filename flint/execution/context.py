"""The order and market-data API a strategy uses, the same in backtest, paper and live.

Concrete contexts implement the abstract members; the data getters default to
"nothing known" so a context only overrides what its venue provides.

Sizes are in base units. ``side`` is :class:`~flint.models.Side` (LONG buys, SHORT
sells). Funding getters return rates per hour (``FundingRate.hourly_rate``), so venues
with different funding intervals compare directly; :meth:`get_venue_snapshots` keeps
the raw records.
"""

import abc
from collections.abc import Sequence
from typing import Any

from flint_core.enums import Side, TimeInForce
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import (
    AccountState,
    Candle,
    FundingRate,
    Order,
    OrderbookSnapshot,
    PositionInfo,
)

# Members bound once: on Python 3.11 ``Side.LONG`` costs a slow EnumType.__getattr__ hook.
_LONG = Side.LONG
_SHORT = Side.SHORT


class ExecutionContext(abc.ABC):
    """What a v2 strategy sees as ``ctx``: account state, orders, market data, capital.

    Order rules, the same on every context (as on a venue):

    - a market order (and so :meth:`close_position`) executes on submission: from then
      on it is executing, not resting, also while latency keeps it in flight, and no
      cancel can stop it;
    - :meth:`cancel` and :meth:`cancel_all` cancel *resting* orders only: limits, stops,
      take-profits and the resting remainder of a partly filled GTC order; a filled,
      cancelled or executing order is left as it is (``cancel`` returns False);
    - ``reduce_only`` is applied when the order executes: it trades at most the
      position's size at that moment, against it, so it never opens, grows or flips a
      position (and does nothing once the position is gone);
    - so ``close_position`` then ``cancel_all`` is a complete exit: the position closes
      and its protective orders are cancelled.
    """

    # State

    @property
    @abc.abstractmethod
    def account(self) -> AccountState:
        """Equity, cash, unrealised PnL, margin used, free margin and leverage."""

    @property
    @abc.abstractmethod
    def positions(self) -> list[PositionInfo]:
        """Open positions on every venue (read-only: never change the list)."""

    @property
    @abc.abstractmethod
    def pending_orders(self) -> list[Order]:
        """Orders not filled or cancelled yet: resting orders and market orders still
        executing (copies; changing one changes no order)."""

    @property
    @abc.abstractmethod
    def current_candle(self) -> Candle | None:
        """The bar being processed."""

    @property
    @abc.abstractmethod
    def timestamp(self) -> int:
        """Unix seconds: the current bar's open time in a backtest, the clock when live."""

    @property
    @abc.abstractmethod
    def markets(self) -> list[str]:
        """Markets with data available."""

    # Orders (each returns the order id; "" when the order was refused)

    @abc.abstractmethod
    def market_order(
        self,
        market: str,
        side: Side,
        size: float,
        reduce_only: bool = False,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        time_in_force: TimeInForce = TimeInForce.IOC,
    ) -> str:
        """Buy or sell ``size`` now; it cannot be cancelled once placed.

        ``reduce_only`` orders never open, grow or flip a position."""

    @abc.abstractmethod
    def limit_order(
        self,
        market: str,
        side: Side,
        size: float,
        price: float,
        reduce_only: bool = False,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
    ) -> str:
        """Rest an order that fills at ``price`` or better once the market reaches it."""

    @abc.abstractmethod
    def stop_order(
        self,
        market: str,
        side: Side,
        size: float,
        trigger_price: float,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        reduce_only: bool = True,
    ) -> str:
        """Stop-loss: ``side`` is the closing side (SHORT protects a long); trades once the
        price moves through ``trigger_price`` against the position."""

    @abc.abstractmethod
    def take_profit_order(
        self,
        market: str,
        side: Side,
        size: float,
        trigger_price: float,
        tag: str = "",
        venue: str = DEFAULT_VENUE,
        *,
        reduce_only: bool = True,
    ) -> str:
        """Take-profit: ``side`` is the closing side; trades once the price reaches
        ``trigger_price`` in the position's favour."""

    @abc.abstractmethod
    def cancel(self, order_id: str) -> bool:
        """Cancel a resting order; False (and nothing changes) for a market order, a
        filled or cancelled order or an unknown id."""

    @abc.abstractmethod
    def cancel_all(self, market: str | None = None) -> int:
        """Cancel every resting order (of ``market``); how many were cancelled.

        Market orders, ``close_position``'s included, execute whatever ``cancel_all``
        does, so it may come before or after them."""

    # Convenience

    def close_position(self, market: str, venue: str = DEFAULT_VENUE) -> str | None:
        """Close the (market, venue) position with a reduce-only market order for its size.

        Returns the order id, or None (no order) when the position is flat (an entry
        still on its way is no position yet). The order
        executes like any market order; a second close sent while the first is on its
        way finds less or nothing to reduce, so a position is never closed twice or
        flipped."""
        held = self.position(market, venue)
        if held is None:
            return None
        closing = _SHORT if held.side == _LONG else _LONG
        return self.market_order(market, closing, held.size, reduce_only=True, tag="close",
                                 venue=venue)

    def position(self, market: str, venue: str = DEFAULT_VENUE) -> PositionInfo | None:
        """The open position of ``market`` on ``venue``, or None."""
        for held in self.positions:
            if held.market == market and held.venue == venue:
                return held
        return None

    def venue_positions(self, venue: str) -> list[PositionInfo]:
        """Open positions on ``venue``."""
        return [p for p in self.positions if p.venue == venue]

    def log(self, message: str) -> None:  # noqa: B027 (optional hook)
        """A strategy log line (contexts keep or print it)."""

    # Market data

    def get_candles(
        self, market: str, lookback: int = 50, *, venue: str | None = None
    ) -> Sequence[Candle]:
        """Up to ``lookback`` closed bars of ``market``, newest last (``venue`` picks one
        when the market has candles from several venues)."""
        return []

    def get_funding_rate(self, market: str | None = None) -> float | None:
        """Latest funding rate per hour of ``market`` (default: the current candle's)."""
        return None

    def get_funding_rates(
        self, market: str | None = None, lookback: int = 24
    ) -> list[tuple[int, float]]:
        """Up to ``lookback`` latest ``(ts, hourly rate)``, oldest first."""
        return []

    def get_funding_by_venue(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[tuple[int, float]]]:
        """``{venue: [(ts, hourly rate), ...]}`` for every venue with funding of ``market``."""
        return {}

    def get_venue_snapshots(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[FundingRate]]:
        """``{venue: [FundingRate, ...]}``: raw records with mark and oracle prices."""
        return {}

    def get_borrow_rate(self, market: str, venue: str) -> float | None:
        """Latest hourly borrow rate of ``market`` on ``venue``."""
        return None

    def get_borrow_rates(
        self, market: str, venue: str, lookback: int = 24
    ) -> list[tuple[int, float]]:
        """Up to ``lookback`` latest ``(ts, hourly borrow rate)``, oldest first."""
        return []

    def get_orderbook(self, market: str | None = None) -> OrderbookSnapshot | None:
        """Latest order book snapshot of ``market``."""
        return None

    def get_impact_price(self, market: str, side: Side, size: float) -> float | None:
        """Expected average price of a market order of ``size`` right now."""
        return None

    def get_open_interest(self, market: str | None = None) -> tuple[float, float] | None:
        """Latest ``(long_oi, short_oi)`` of ``market``."""
        return None

    def get_open_interest_history(
        self, market: str | None = None, lookback: int = 24
    ) -> list[tuple[int, float, float]]:
        """Up to ``lookback`` latest ``(ts, long_oi, short_oi)``, oldest first."""
        return []

    def get_oracle_price(self, market: str | None = None) -> tuple[float, int] | None:
        """Latest ``(oracle price, ts)`` of ``market``."""
        return None

    # Capital across venues

    def venue_balance(self, venue: str) -> float:
        """Cash of ``venue``'s account (without per-venue accounts: all cash)."""
        return self.account.cash

    def venue_balances(self) -> dict[str, float]:
        """``{account: cash}``; one ``"default"`` account without per-venue accounts."""
        return {DEFAULT_VENUE: self.account.cash}

    def transfer(self, from_venue: str, to_venue: str, amount: float) -> bool:
        """Send cash between venue accounts; it arrives after the route's delay.

        False when there are no per-venue accounts or the source holds too little.
        """
        return False

    def pending_transfers(self) -> list[dict[str, Any]]:
        """Transfers sent and not arrived yet."""
        return []
