"""The risk engine in a backtest: every order the bar loop is asked to open passes it.

:class:`RiskGate` is the :class:`~flint_core.loop.BacktestCore`'s ``gate``: it
turns an order (v2 orders from the context and v1 signal orders alike) into the
:class:`~flint.risk.OrderIntent` and :class:`~flint.risk.RiskView` that paper and
live trading build, so one :class:`~flint.risk.RiskEngine` gives the same
decisions in all three modes. The backtest's clock is the current bar's close
(when the strategy runs); every market's mark is its latest close, so marks are
never stale. A v1 signal that goes all in is priced as the account's cash at the
close. A denial becomes a ``risk_denied`` warning of the result and the order is
refused ("" as its id); reduce-only orders and cancels always pass.
"""

from typing import Any

from flint.risk.engine import Holding, Mark, OrderIntent, RiskEngine, RiskView
from flint_core.enums import OrderType, Side
from flint_core.loop import BacktestCore
from flint_core.matching import LIMIT, MARKET, SIZE_ALL_IN, STOP, TAKE_PROFIT
from flint_core.views import RunViews

_KINDS = {
    MARKET: OrderType.MARKET, LIMIT: OrderType.LIMIT, STOP: OrderType.STOP_LOSS,
    TAKE_PROFIT: OrderType.TAKE_PROFIT,
}


class RiskGate:
    """Asks ``risk`` about each order of ``core``; installs itself as the core's gate."""

    def __init__(self, risk: RiskEngine, core: BacktestCore, views: RunViews) -> None:
        self.risk = risk
        self._core = core
        self._views = views
        core.gate = self

    def __call__(self, kind: int, market: str, side: int, size: float, price: float,
                 reduce_only: bool, venue: str, sizing: int) -> str:
        core = self._core
        if sizing == SIZE_ALL_IN:
            close = core.feeds[core.feed_index(venue, market)].close
            size = self._views.account().cash / close if close > 0 else 0.0
        intent = OrderIntent(market, Side.LONG if side > 0 else Side.SHORT, size,
                             _KINDS[kind], price, reduce_only, venue)
        decision = self.risk.check(intent, self.view())
        return "" if decision.accepted else f"{decision.reason}: {decision.message}"

    def view(self) -> RiskView:
        """What the engine sees now: the clock, equity, positions, open orders and marks."""
        core = self._core
        now = float(core.close_ts)
        holdings = [
            Holding(slot.venue, slot.market, slot.size, slot.entry_price)
            for by_market in core.slots.values() for slot in by_market.values()
            if slot.size != 0.0
        ]
        orders = [
            OrderIntent(o.market, o.side, o.size - o.filled_size, o.order_type, o.price,
                        o.reduce_only, o.venue)
            for o in self._views.pending_orders()
        ]
        marks = {f.market: Mark(f.close, now) for f in reversed(core.feeds) if f.bar is not None}
        return RiskView(now, self._views.account().equity, holdings, orders, marks)

    def observe(self) -> None:
        """Let the equity guards (drawdown, daily loss) see this bar's equity."""
        self.risk.observe(self._views.account().equity, float(self._core.close_ts))


class Observed:
    """``strategy`` with the gate's :meth:`RiskGate.observe` run before each bar's call."""

    def __init__(self, strategy: Any, gate: RiskGate) -> None:
        self._on_candle = strategy.on_candle
        self._observe = gate.observe

    def on_candle(self, candle: Any, history: Any, *ctx: Any) -> Any:
        self._observe()
        return self._on_candle(candle, history, *ctx)
