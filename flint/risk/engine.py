"""The risk engine: one accept/deny decision per order, the same in backtest, paper and live.

The engine is pure: it reads only what it is given (an :class:`OrderIntent` and a
:class:`RiskView` holding the clock, equity, positions, resting orders and marks)
and its own state (the trading state and what its guards remember), and does no
I/O. Whoever owns the orders (the backtest loop, a paper broker, a live context)
builds the view, calls :meth:`RiskEngine.check`, and journals the decision; the
same order stream and views give the same decisions everywhere.

Rules, in order, for every order:

1. a ``reduce_only`` order is always accepted, in every trading state, by every
   guard: it can only shrink a position (cancels never reach the engine at all);
2. ``HALTED`` denies every other order; ``REDUCING`` denies every order that would
   grow the worst-case exposure of its market (see :class:`Exposure`);
3. when a guard prices the order, the market's mark must be fresh
   (``max_mark_age_s``), else the order is denied with ``MARK_STALE``;
4. the guards run in order; the first denial wins.

Guards that watch equity (drawdown, daily loss) move the state to ``REDUCING``;
the kill switch (:class:`~flint.risk.monitor.EquityMonitor`) moves it to
``HALTED``. States only escalate until :meth:`RiskEngine.resume`; a state change is
reported to ``listener`` so the owner can journal it and restore it after a restart.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar

import attrs

from flint_core.enums import OrderType, Side

#: Relative slack when comparing notionals, so a limit reached exactly is not a breach.
_EPS = 1e-9


class TradingState(StrEnum):
    """What orders may do: ACTIVE (anything the guards allow), REDUCING (only shrink
    exposure), HALTED (only reduce-only orders and cancels)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class Reason(StrEnum):
    """Why an order was denied or the trading state changed (a closed set)."""

    TRADING_HALTED = "TRADING_HALTED"
    TRADING_REDUCING = "TRADING_REDUCING"
    MARK_STALE = "MARK_STALE"
    NOTIONAL_EXCEEDS_MAX_PER_ORDER = "NOTIONAL_EXCEEDS_MAX_PER_ORDER"
    POSITION_EXCEEDS_MAX = "POSITION_EXCEEDS_MAX"
    MARKET_POSITION_EXCEEDS_LIMIT = "MARKET_POSITION_EXCEEDS_LIMIT"
    MAX_OPEN_POSITIONS = "MAX_OPEN_POSITIONS"
    LEVERAGE_EXCEEDS_MAX = "LEVERAGE_EXCEEDS_MAX"
    PRICE_OUTSIDE_BAND = "PRICE_OUTSIDE_BAND"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    DRAWDOWN_LIMIT = "DRAWDOWN_LIMIT"
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    KILL_SWITCH = "KILL_SWITCH"
    MANUAL = "MANUAL"
    # Refusals of a live context before the engine is asked (same codes, same journal).
    NOT_RECONCILED = "NOT_RECONCILED"
    POSITION_MISMATCH = "POSITION_MISMATCH"
    UNKNOWN_VENUE = "UNKNOWN_VENUE"


@attrs.frozen
class OrderIntent:
    """An order as the engine sees it; ``price`` is the limit or trigger price (0 for
    a market order) and ``size`` the base units still to fill."""

    market: str
    side: Side
    size: float
    order_type: OrderType = OrderType.MARKET
    price: float = 0.0
    reduce_only: bool = False
    venue: str = "default"

    @property
    def signed_size(self) -> float:
        """``size`` with the side's sign (+ buys, - sells)."""
        return self.size if self.side is Side.LONG else -self.size


@attrs.frozen
class Holding:
    """An open position: signed ``size`` (+ long, - short) and its entry price."""

    venue: str
    market: str
    size: float
    entry_price: float


@attrs.frozen
class Mark:
    """A reference price of a market and the unix time (seconds) it was observed."""

    price: float
    ts: float


@attrs.frozen
class RiskView:
    """Everything a decision may depend on, at unix time ``now`` (seconds)."""

    now: float
    equity: float
    positions: Sequence[Holding] = ()
    open_orders: Sequence[OrderIntent] = ()
    marks: Mapping[str, Mark] = attrs.field(factory=dict)


@attrs.frozen
class RiskDecision:
    """The engine's answer: accepted, or denied with a :class:`Reason` and a message."""

    accepted: bool
    reason: Reason | None = None
    message: str = ""

    def __str__(self) -> str:
        return "accepted" if self.accepted else f"{self.reason}: {self.message}"


ACCEPTED = RiskDecision(True)


def deny(reason: Reason, message: str) -> RiskDecision:
    """A denial."""
    return RiskDecision(False, reason, message)


@attrs.frozen
class Exposure:
    """Worst-case exposure (base units) of the order's market if every resting order
    that can grow a position filled: before and after adding the order, plus the gross
    notional of all markets priced at their marks (entry price without a mark).

    Reduce-only orders never count: they cannot grow a position.
    """

    price: float
    before: float
    after: float
    gross_before: float
    gross_after: float
    open_markets: frozenset[tuple[str, str]]

    @property
    def grows(self) -> bool:
        """True when the order raises its market's worst-case exposure."""
        return self.after > self.before * (1 + _EPS) + _EPS

    @staticmethod
    def of(intent: OrderIntent, view: RiskView) -> "Exposure":
        """The exposure ``intent`` would add to ``view``."""
        key = (intent.venue, intent.market)
        longs: dict[tuple[str, str], float] = {}
        shorts: dict[tuple[str, str], float] = {}
        prices: dict[str, float] = {}
        for held in view.positions:
            k = (held.venue, held.market)
            longs[k] = longs.get(k, 0.0) + held.size
            shorts[k] = shorts.get(k, 0.0) + held.size
            prices.setdefault(held.market, held.entry_price)
        for order in view.open_orders:
            if order.reduce_only:
                continue
            k = (order.venue, order.market)
            target = longs if order.side is Side.LONG else shorts
            target[k] = target.get(k, 0.0) + order.signed_size
            longs.setdefault(k, 0.0)
            shorts.setdefault(k, 0.0)
            if order.price > 0:
                prices.setdefault(order.market, order.price)
        for market, mark in view.marks.items():
            prices[market] = mark.price
        price = prices.get(intent.market, intent.price)

        def worst(k: tuple[str, str]) -> float:
            return max(longs.get(k, 0.0), -shorts.get(k, 0.0), 0.0)

        keys = set(longs) | set(shorts)
        gross = sum(worst(k) * prices.get(k[1], 0.0) for k in keys)
        before = worst(key)
        open_markets = frozenset(k for k in keys if worst(k) > 0)
        if intent.reduce_only:
            return Exposure(price, before, before, gross, gross, open_markets)
        longs.setdefault(key, 0.0)
        shorts.setdefault(key, 0.0)
        target = longs if intent.side is Side.LONG else shorts
        target[key] += intent.signed_size
        after = worst(key)
        return Exposure(price, before, after, gross, gross + (after - before) * price,
                        open_markets)


class RiskGuard:
    """One rule of the engine. ``evaluate`` denies an order or lets it pass; guards
    that watch equity trip the trading state from ``observe``."""

    #: True when the guard prices the order, so the engine needs a fresh mark first.
    needs_mark: ClassVar[bool] = False

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        """A denial, or None to let the order pass (only non-reduce-only orders come here)."""
        return None

    def observe(self, equity: float, now: float) -> tuple[Reason, str] | None:
        """Watch the account's equity; a (reason, message) trips the state to REDUCING."""
        return None

    def record(self, intent: OrderIntent, now: float) -> None:
        """An order this guard let pass was accepted."""

    def reset(self, equity: float, now: float) -> None:
        """Start afresh from ``equity`` (the user resumed trading)."""

    def snapshot(self) -> dict[str, Any]:
        """What the guard remembers, as JSON-able data (restored after a restart)."""
        return {}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back what :meth:`snapshot` returned."""

    @property
    def name(self) -> str:
        """The guard's class name (how snapshots and messages refer to it)."""
        return type(self).__name__


Listener = Callable[[TradingState, Reason, str], None]


class RiskEngine:
    """Runs the guards on every order and keeps the trading state.

    ``listener(state, reason, message)`` is called on every state change (journal it);
    ``max_mark_age_s`` is how old a mark may be for a guard that prices an order.
    """

    def __init__(
        self,
        guards: Iterable[RiskGuard] = (),
        *,
        max_mark_age_s: float = 5.0,
        listener: Listener | None = None,
    ) -> None:
        self.guards: list[RiskGuard] = list(guards)
        self.max_mark_age_s = float(max_mark_age_s)
        self.listener = listener
        self.state = TradingState.ACTIVE
        self.reason: Reason | None = None
        self.message = ""

    def add_guard(self, guard: RiskGuard) -> None:
        """Append a guard (it runs after the others)."""
        self.guards.append(guard)

    # Decisions

    def check(self, intent: OrderIntent, view: RiskView) -> RiskDecision:
        """Accept or deny ``intent`` given ``view``; an accepted order is remembered
        (rate limits) so call this once per order actually about to be sent."""
        if intent.reduce_only:
            return ACCEPTED
        self.observe(view.equity, view.now)
        if self.state is TradingState.HALTED:
            return deny(Reason.TRADING_HALTED,
                        f"trading is halted ({self.reason}: {self.message}); only "
                        f"reduce-only orders and cancels pass until resumed")
        exposure = Exposure.of(intent, view)
        if self.state is TradingState.REDUCING and exposure.grows:
            return deny(Reason.TRADING_REDUCING,
                        f"trading is reducing-only ({self.reason}: {self.message}); this "
                        f"order would grow the {intent.market} exposure")
        if any(g.needs_mark for g in self.guards):
            stale = self._stale_mark(intent.market, view)
            if stale is not None:
                return stale
        for guard in self.guards:
            decision = guard.evaluate(intent, view, exposure)
            if decision is not None and not decision.accepted:
                return decision
        for guard in self.guards:
            guard.record(intent, view.now)
        return ACCEPTED

    def _stale_mark(self, market: str, view: RiskView) -> RiskDecision | None:
        mark = view.marks.get(market)
        if mark is None or not (mark.price > 0 and math.isfinite(mark.price)):
            return deny(Reason.MARK_STALE, f"no mark price for {market}")
        age = view.now - mark.ts
        if age > self.max_mark_age_s:
            return deny(Reason.MARK_STALE,
                        f"the {market} mark is {age:.1f} s old (max {self.max_mark_age_s:g} s)")
        return None

    def observe(self, equity: float, now: float) -> None:
        """Let the equity guards watch ``equity``; a breach trips the state to REDUCING."""
        for guard in self.guards:
            tripped = guard.observe(equity, now)
            if tripped is not None:
                self.trip(TradingState.REDUCING, *tripped)

    # State

    def trip(self, state: TradingState, reason: Reason, message: str = "") -> bool:
        """Escalate to ``state`` (never de-escalate); True if the state changed."""
        if _RANK[state] <= _RANK[self.state]:
            return False
        self._set(state, reason, message)
        return True

    def resume(self, equity: float, now: float) -> None:
        """Back to ACTIVE (the user's call); equity guards start afresh from ``equity``."""
        for guard in self.guards:
            guard.reset(equity, now)
        if self.state is not TradingState.ACTIVE:
            self._set(TradingState.ACTIVE, Reason.MANUAL, "resumed by the user")

    def _set(self, state: TradingState, reason: Reason, message: str) -> None:
        self.state, self.reason, self.message = state, reason, message
        if self.listener is not None:
            self.listener(state, reason, message)

    # Persistence

    def snapshot(self) -> dict[str, Any]:
        """The trading state and every guard's memory, as JSON-able data."""
        return {
            "state": self.state.value,
            "reason": self.reason.value if self.reason else None,
            "message": self.message,
            "guards": {g.name: g.snapshot() for g in self.guards},
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot` (without calling the listener)."""
        self.state = TradingState(data.get("state", TradingState.ACTIVE))
        reason = data.get("reason")
        self.reason = Reason(reason) if reason else None
        self.message = str(data.get("message", ""))
        saved = data.get("guards", {})
        for guard in self.guards:
            if guard.name in saved:
                guard.restore(saved[guard.name])
