"""The execution context of a backtest: orders go to the compiled bar loop.

Orders placed while the strategy runs on a bar are filled after it returns (market
orders, subject to the fill model's latency) or rest until a later bar reaches them
(limit, stop and take-profit orders); see :mod:`flint_core.loop` for the order of
events within a bar. A market order executes from the moment it is placed: it is
listed in ``pending_orders`` until it fills (at this bar's close, once its latency
has passed, or at the next open), but ``cancel`` / ``cancel_all`` only reach resting
orders (the rules of :class:`~flint.execution.context.ExecutionContext`). Reduce-only
orders are sized against the position when they fill. Data getters only reveal what
is known by the current bar's close: candles that have closed, events stamped at or
before it.

State and data come from the core's :class:`~flint_core.views.RunViews`, which keeps
each answer until what it shows changes: asking on every bar costs O(1) a call, and
the lists and dicts it returns are read-only (shared by later calls).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flint.execution.capital import transfer_record
from flint.execution.context import ExecutionContext
from flint.execution.risk_gate import RiskGate
from flint.risk.engine import Reason, RiskEngine, TradingState
from flint_core.entry import OrderEntry, market_name, positive, side_sign
from flint_core.enums import Side, TimeInForce
from flint_core.loop import BacktestCore
from flint_core.markets import DEFAULT_VENUE
from flint_core.matching import GTC, IOC, LIMIT, STOP, TAKE_PROFIT
from flint_core.records import (
    AccountState,
    Candle,
    FundingRate,
    Order,
    OrderbookSnapshot,
    PositionInfo,
)
from flint_core.views import RunViews, context_account


class BacktestContext(ExecutionContext):
    """``ctx`` of a backtest; built by :class:`~flint.backtest.engine.BacktestEngine`.

    With ``risk``, every order the run opens (v2 orders and v1 signals) passes the
    risk engine first (:mod:`flint.execution.risk_gate`).
    """

    def __init__(self, core: BacktestCore, risk: RiskEngine | None = None) -> None:
        self._core = core
        self._views = RunViews(core)
        self._entry = OrderEntry(core)
        self.logs: list[str] = []
        # the compiled methods themselves: no Python frame per call (strategies call
        # position every bar, market_order on every trade)
        self.position = self._views.position
        if type(self).market_order is BacktestContext.market_order:  # not overridden
            self.market_order = self._entry.market_order
        self.risk_gate = RiskGate(risk, core, self._views) if risk is not None else None

    # State

    if TYPE_CHECKING:

        @property
        def account(self) -> AccountState: ...

    else:  # the compiled getter itself (strategies read it every bar)
        account = property(context_account, doc=ExecutionContext.account.__doc__)

    @property
    def positions(self) -> list[PositionInfo]:
        """Open positions on every venue (read-only; the same list until one changes)."""
        return self._views.positions()

    @property
    def pending_orders(self) -> list[Order]:
        """Orders not filled or cancelled yet (copies, in a read-only list kept until an
        order is placed, fills or is cancelled)."""
        return self._views.pending_orders()

    @property
    def current_candle(self) -> Candle | None:
        return self._core.candle

    @property
    def timestamp(self) -> int:
        return self._core.now

    @property
    def markets(self) -> list[str]:
        return self._views.markets

    # Orders

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
        # what the instance's own (compiled) market_order does, for calls through the class
        return self._entry.market_order(market, side, size, reduce_only, tag, venue,
                                        time_in_force=time_in_force)

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
        return self._entry.place(LIMIT, market, side, size, positive("price", price),
                                 reduce_only, tag, venue, GTC)

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
        return self._entry.place(STOP, market, side, size,
                                 positive("trigger_price", trigger_price), reduce_only, tag,
                                 venue, IOC)

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
        return self._entry.place(TAKE_PROFIT, market, side, size,
                                 positive("trigger_price", trigger_price), reduce_only, tag,
                                 venue, IOC)

    def cancel(self, order_id: str) -> bool:
        return self._core.cancel(order_id)

    def cancel_all(self, market: str | None = None) -> int:
        return self._core.cancel_all(market)

    # Kill switch and trading state (as in paper and live trading)

    @property
    def trading_state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED (always ACTIVE without a risk engine)."""
        gate = self.risk_gate
        return gate.risk.state if gate is not None else TradingState.ACTIVE

    def kill(self, message: str) -> None:
        """The kill switch: HALTED (only reduce-only orders pass from now on), every
        resting order cancelled, every position closed with a reduce-only market order."""
        if self.risk_gate is None:
            self.risk_gate = RiskGate(RiskEngine(), self._core, self._views)
        self.risk_gate.risk.trip(TradingState.HALTED, Reason.KILL_SWITCH, message)
        self.cancel_all()
        for held in list(self.positions):
            self.close_position(held.market, held.venue)
        self._core.warn("kill_switch", str(message))

    def resume(self) -> None:
        """Back to ACTIVE after a trip; the equity guards restart from the current equity."""
        if self.risk_gate is not None:
            self.risk_gate.risk.resume(self.account.equity, float(self._core.close_ts))

    def log(self, message: str) -> None:
        """Keep a line ``[ts] message``; lines starting with WARNING become result warnings."""
        text = str(message)
        self.logs.append(f"[{self._core.now}] {text}")
        if text.upper().startswith("WARNING"):
            self._core.warn("strategy", text)

    # Market data

    def get_candles(
        self, market: str, lookback: int = 50, *, venue: str | None = None
    ) -> Sequence[Candle]:
        """Closed bars of ``market`` up to the current bar's close, newest last.

        For the primary market that includes the current bar (also given as ``candle``);
        ``venue`` picks one when the market has candles from several venues.
        """
        return self._views.candles(market, int(lookback), venue)

    def _market_name(self, market: str | None) -> str:
        return market if market is not None else self._views.primary_market

    def get_funding_rate(
        self, market: str | None = None, *, venue: str | None = None
    ) -> float | None:
        """Latest hourly funding rate (``venue`` default: the market's candle venue)."""
        return self._views.funding_rate(market, venue)

    def get_funding_rates(
        self, market: str | None = None, lookback: int = 24, *, venue: str | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``lookback`` latest ``(ts, hourly rate)``, oldest first (read-only)."""
        return self._views.funding_rates(market, int(lookback), venue)

    def get_funding_by_venue(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[tuple[int, float]]]:
        """``{venue: [(ts, hourly rate), ...]}`` (read-only)."""
        return self._views.funding_by_venue(market, int(lookback))

    def get_venue_snapshots(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[FundingRate]]:
        streams = self._views.funding.revealed(self._market_name(market))
        return {s.venue: s.revealed(lookback) for s in streams}

    def get_borrow_rate(self, market: str, venue: str) -> float | None:
        stream = self._views.borrow.pick(market, venue)
        latest = stream.latest() if stream else None
        return float(latest.rate_hourly) if latest is not None else None

    def get_borrow_rates(
        self, market: str, venue: str, lookback: int = 24
    ) -> list[tuple[int, float]]:
        stream = self._views.borrow.pick(market, venue)
        if stream is None:
            return []
        return [(r.ts, r.rate_hourly) for r in stream.revealed(lookback)]

    def get_orderbook(
        self, market: str | None = None, *, venue: str | None = None
    ) -> OrderbookSnapshot | None:
        stream = self._views.books.pick(self._market_name(market), venue)
        latest: OrderbookSnapshot | None = stream.latest() if stream else None
        return latest

    def get_impact_price(
        self, market: str, side: Side, size: float, *, venue: str = DEFAULT_VENUE
    ) -> float | None:
        """Average price the fill model gives a market order of ``size`` on this bar."""
        quote = self._core.quote(market_name(venue), market_name(market), side_sign(side),
                                 positive("size", size))
        return float(quote.price)

    def get_open_interest(
        self, market: str | None = None, *, venue: str | None = None
    ) -> tuple[float, float] | None:
        stream = self._views.open_interest.pick(self._market_name(market), venue)
        latest = stream.latest() if stream else None
        return (float(latest.long_oi), float(latest.short_oi)) if latest is not None else None

    def get_open_interest_history(
        self, market: str | None = None, lookback: int = 24, *, venue: str | None = None
    ) -> list[tuple[int, float, float]]:
        stream = self._views.open_interest.pick(self._market_name(market), venue)
        if stream is None:
            return []
        return [(r.ts, r.long_oi, r.short_oi) for r in stream.revealed(lookback)]

    def get_oracle_price(self, market: str | None = None) -> tuple[float, int] | None:
        """Latest oracle price: of an oracle record or of the latest funding record."""
        name = self._market_name(market)
        best: tuple[float, int] | None = None
        stream = self._views.oracles.pick(name, None)
        if stream is not None:
            rec = stream.latest()
            best = (float(rec.price), int(rec.ts))
        for funding in self._views.funding.revealed(name):
            k = funding.pos - 1
            price, ts = funding.oracle_price[k], funding.ts[k]
            if price > 0 and (best is None or ts > best[1]):
                best = (float(price), int(ts))
        return best

    # Capital

    def venue_balance(self, venue: str) -> float:
        return float(self._views.cash(venue))

    def venue_balances(self) -> dict[str, float]:
        return self._views.balances()

    def transfer(self, from_venue: str, to_venue: str, amount: float) -> bool:
        return self._core.transfer(market_name(from_venue), market_name(to_venue),
                                   positive("amount", amount))

    def pending_transfers(self) -> list[dict[str, Any]]:
        return [transfer_record(t) for t in self._views.pending_transfers()]
