"""The risk guards (the seed's names) and :func:`default_guards`, which wires them from
the configuration.

Exposure guards deny an order only when it grows its market's worst-case exposure
(:class:`~flint.risk.engine.Exposure`): an order that keeps or shrinks it passes even
when a limit is already exceeded (after a price move), so a position can always be
brought back under its limit. Notionals are valued at the market's mark.
"""

import math
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flint.risk.engine import (
    Exposure,
    OrderIntent,
    Reason,
    RiskDecision,
    RiskEngine,
    RiskGuard,
    RiskView,
    deny,
)
from flint_core.enums import OrderType

if TYPE_CHECKING:
    from flint.config import FlintConfig

#: The seed's name for the engine.
RiskManager = RiskEngine

_DAY_S = 86_400
_MINUTE_S = 60.0


def _positive(name: str, value: float) -> float:
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _over(value: float, limit: float) -> bool:
    return value > limit * (1 + 1e-9) + 1e-12


class MaxNotionalPerOrder(RiskGuard):
    """No single order above ``max_notional`` (size times its limit or trigger price,
    or the mark for a market order)."""

    needs_mark = True

    def __init__(self, max_notional: float) -> None:
        self.max_notional = _positive("max_notional", max_notional)

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        notional = intent.size * (intent.price if intent.price > 0 else exposure.price)
        if _over(notional, self.max_notional):
            return deny(Reason.NOTIONAL_EXCEEDS_MAX_PER_ORDER,
                        f"order notional {notional:.2f} > {self.max_notional:g}")
        return None


class MaxPositionSize(RiskGuard):
    """No market's worst-case position above ``max_notional``."""

    needs_mark = True

    def __init__(self, max_notional: float) -> None:
        self.max_notional = _positive("max_notional", max_notional)

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        notional = exposure.after * exposure.price
        if exposure.grows and _over(notional, self.max_notional):
            return deny(Reason.POSITION_EXCEEDS_MAX,
                        f"{intent.market} position could reach {notional:.2f} > "
                        f"{self.max_notional:g}")
        return None


class PerMarketPositionLimit(RiskGuard):
    """Like :class:`MaxPositionSize`, with a limit per market (``{market: notional}``);
    markets not named are not limited."""

    needs_mark = True

    def __init__(self, limits: Mapping[str, float]) -> None:
        self.limits = {str(m): _positive(f"limit of {m}", v) for m, v in limits.items()}

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        limit = self.limits.get(intent.market)
        notional = exposure.after * exposure.price
        if limit is not None and exposure.grows and _over(notional, limit):
            return deny(Reason.MARKET_POSITION_EXCEEDS_LIMIT,
                        f"{intent.market} position could reach {notional:.2f} > {limit:g}")
        return None


class MaxOpenPositions(RiskGuard):
    """At most ``max_positions`` markets with a position or an order that can open one."""

    def __init__(self, max_positions: int = 5) -> None:
        if int(max_positions) < 1:
            raise ValueError(f"max_positions must be >= 1, got {max_positions!r}")
        self.max_positions = int(max_positions)

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        key = (intent.venue, intent.market)
        if exposure.grows and key not in exposure.open_markets and (
            len(exposure.open_markets) >= self.max_positions
        ):
            return deny(Reason.MAX_OPEN_POSITIONS,
                        f"{len(exposure.open_markets)} markets are open "
                        f"(max {self.max_positions})")
        return None


class MaxLeverage(RiskGuard):
    """Worst-case gross notional of all markets at most ``max_leverage`` times equity."""

    needs_mark = True

    def __init__(self, max_leverage: float) -> None:
        self.max_leverage = _positive("max_leverage", max_leverage)

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        if not exposure.grows:
            return None
        if view.equity <= 0:
            return deny(Reason.LEVERAGE_EXCEEDS_MAX, f"equity is {view.equity:.2f}")
        leverage = exposure.gross_after / view.equity
        if _over(leverage, self.max_leverage):
            return deny(Reason.LEVERAGE_EXCEEDS_MAX,
                        f"leverage could reach {leverage:.2f}x > {self.max_leverage:g}x")
        return None


class PriceBand(RiskGuard):
    """A limit price within ``max_distance_pct`` (0.05 = 5 %) of the fresh mark.

    Market orders need a fresh mark too (the engine checks it); a venue adapter sends
    them as protected orders with its own slippage cap.
    """

    needs_mark = True

    def __init__(self, max_distance_pct: float = 0.05) -> None:
        self.max_distance_pct = _positive("max_distance_pct", max_distance_pct)

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        if intent.order_type is not OrderType.LIMIT:
            return None
        distance = abs(intent.price - exposure.price) / exposure.price
        if _over(distance, self.max_distance_pct):
            return deny(Reason.PRICE_OUTSIDE_BAND,
                        f"limit {intent.price:g} is {distance:.2%} from the mark "
                        f"{exposure.price:g} (max {self.max_distance_pct:.2%})")
        return None


class MaxOrdersPerMinute(RiskGuard):
    """At most ``max_orders`` accepted orders (not reduce-only) in any 60 s window."""

    def __init__(self, max_orders: int = 30) -> None:
        if int(max_orders) < 1:
            raise ValueError(f"max_orders must be >= 1, got {max_orders!r}")
        self.max_orders = int(max_orders)
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - _MINUTE_S:
            self._times.popleft()

    def evaluate(
        self, intent: OrderIntent, view: RiskView, exposure: Exposure
    ) -> RiskDecision | None:
        self._expire(view.now)
        if len(self._times) >= self.max_orders:
            return deny(Reason.RATE_LIMIT_EXCEEDED,
                        f"{len(self._times)} orders in the last minute (max {self.max_orders})")
        return None

    def record(self, intent: OrderIntent, now: float) -> None:
        self._times.append(now)

    def snapshot(self) -> dict[str, Any]:
        return {"times": list(self._times)}

    def restore(self, data: Mapping[str, Any]) -> None:
        self._times = deque(float(t) for t in data.get("times", ()))


class MaxDrawdownCircuitBreaker(RiskGuard):
    """Trips to REDUCING when equity falls ``max_drawdown_pct`` from its peak (the peak
    starts at ``initial_capital`` when given, else at the first equity seen)."""

    def __init__(self, max_drawdown_pct: float, initial_capital: float | None = None) -> None:
        self.max_drawdown_pct = _positive("max_drawdown_pct", max_drawdown_pct)
        self.peak = float(initial_capital) if initial_capital else 0.0

    def observe(self, equity: float, now: float) -> tuple[Reason, str] | None:
        self.peak = max(self.peak, equity)
        if self.peak <= 0:
            return None
        drawdown = (self.peak - equity) / self.peak
        if drawdown >= self.max_drawdown_pct:
            return (Reason.DRAWDOWN_LIMIT,
                    f"drawdown {drawdown:.2%} from the peak {self.peak:.2f} "
                    f"(max {self.max_drawdown_pct:.2%})")
        return None

    def reset(self, equity: float, now: float) -> None:
        self.peak = equity

    def snapshot(self) -> dict[str, Any]:
        return {"peak": self.peak}

    def restore(self, data: Mapping[str, Any]) -> None:
        self.peak = float(data.get("peak", self.peak))


class DailyLossLimit(RiskGuard):
    """Trips to REDUCING when equity is ``max_daily_loss`` (quote currency) below the
    equity at the start of the UTC day (``initial_capital`` on the first day, when given)."""

    def __init__(self, max_daily_loss: float, initial_capital: float | None = None) -> None:
        self.max_daily_loss = _positive("max_daily_loss", max_daily_loss)
        self.day = -1
        self.day_start = float(initial_capital) if initial_capital else None

    def observe(self, equity: float, now: float) -> tuple[Reason, str] | None:
        day = int(now // _DAY_S)
        if day != self.day:
            if self.day != -1 or self.day_start is None:
                self.day_start = equity
            self.day = day
        assert self.day_start is not None
        loss = self.day_start - equity
        if loss >= self.max_daily_loss:
            return (Reason.DAILY_LOSS_LIMIT,
                    f"lost {loss:.2f} today (max {self.max_daily_loss:g})")
        return None

    def reset(self, equity: float, now: float) -> None:
        self.day, self.day_start = int(now // _DAY_S), equity

    def snapshot(self) -> dict[str, Any]:
        return {"day": self.day, "day_start": self.day_start}

    def restore(self, data: Mapping[str, Any]) -> None:
        self.day = int(data.get("day", self.day))
        start = data.get("day_start", self.day_start)
        self.day_start = None if start is None else float(start)


def default_guards(config: "FlintConfig", initial_capital: float | None = None) -> list[RiskGuard]:
    """The guards the settings ask for (a setting of 0 turns its guard off).

    ``max_open_trades``, ``max_drawdown_pct``, ``live_max_orders_per_minute``,
    ``live_per_market_position_limits`` and the ``risk_*`` settings; see
    ``docs/live-trading.md`` for each.
    """
    guards: list[RiskGuard] = []
    if config.risk_max_notional_per_order > 0:
        guards.append(MaxNotionalPerOrder(config.risk_max_notional_per_order))
    if config.risk_max_position_notional > 0:
        guards.append(MaxPositionSize(config.risk_max_position_notional))
    if config.live_per_market_position_limits:
        guards.append(PerMarketPositionLimit(config.live_per_market_position_limits))
    if config.max_open_trades > 0:
        guards.append(MaxOpenPositions(config.max_open_trades))
    if config.risk_max_leverage > 0:
        guards.append(MaxLeverage(config.risk_max_leverage))
    if config.risk_price_band_pct > 0:
        guards.append(PriceBand(config.risk_price_band_pct))
    if config.live_max_orders_per_minute > 0:
        guards.append(MaxOrdersPerMinute(config.live_max_orders_per_minute))
    if config.max_drawdown_pct > 0:
        guards.append(MaxDrawdownCircuitBreaker(config.max_drawdown_pct, initial_capital))
    if config.risk_daily_loss_limit > 0:
        guards.append(DailyLossLimit(config.risk_daily_loss_limit, initial_capital))
    return guards


def engine_from_config(
    config: "FlintConfig", initial_capital: float | None = None
) -> RiskEngine:
    """A :class:`RiskEngine` with :func:`default_guards` and ``risk_max_mark_age_s``."""
    return RiskEngine(default_guards(config, initial_capital),
                      max_mark_age_s=config.risk_max_mark_age_s)
