"""One ``ctx`` over several live venues: orders routed by ``venue=``, accounts summed.

:class:`MultiVenueLiveContext` holds one :class:`~flint.execution.live_base.LiveExecutionContext`
per venue (each with its own adapter, journal, reconciliation and risk engine) and
answers the :class:`~flint.execution.context.ExecutionContext` API over all of them:

- an order goes to the context of its ``venue`` (``default`` or ``""``: the primary
  venue); an unknown venue is refused (``""`` and a warning), never guessed;
- ``account`` sums equity, cash, unrealized PnL and margin; ``positions`` and
  ``pending_orders`` are the union; market data comes from the primary venue;
- ``cancel`` / ``cancel_all`` / ``kill`` reach every venue, and one venue's outage
  (an exception from its context) never stops them on the others;
- capital transfers between venues are reported, not executed: live venues move
  funds outside flint (``transfer`` returns False with a warning saying so).

:meth:`MultiVenueLiveContext.submit_leg_group` sends orders that belong together
(a funding arbitrage's two legs): the group and every leg are journaled before the
first leg is sent, the legs go out in parallel, and when a leg fails while others
filled, the filled legs are unwound with reduce-only market orders
(``auto_unwind_failed_legs``, off by default); the result is journaled too.
"""

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs

from flint.execution.context import ExecutionContext
from flint.live.journal import Kind
from flint.models import LegGroup, LegGroupResult, OrderLeg
from flint.risk.engine import TradingState
from flint_core.enums import OrderState, Side, TimeInForce
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import (
    AccountState,
    Candle,
    FundingRate,
    Order,
    OrderbookSnapshot,
    PositionInfo,
)

log = logging.getLogger("flint.live")

_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class MultiVenueLiveContext(ExecutionContext):
    """Routes to ``contexts`` (``{venue: live context}``) by ``venue=`` (see the module doc).

    ``primary_venue`` (default: the first) takes orders naming no venue and gives the
    market data; ``leg_timeout_s`` bounds how long :meth:`submit_leg_group` waits for a
    leg to fill.
    """

    def __init__(
        self,
        contexts: Mapping[str, Any],
        primary_venue: str = "",
        *,
        leg_timeout_s: float = 30.0,
        auto_unwind_failed_legs: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not contexts:
            raise ValueError("MultiVenueLiveContext needs at least one venue's context")
        self.contexts: dict[str, Any] = dict(contexts)
        self.primary_venue = primary_venue or next(iter(self.contexts))
        if self.primary_venue not in self.contexts:
            raise ValueError(f"primary venue '{self.primary_venue}' is not one of "
                             f"{', '.join(self.contexts)}")
        self.leg_timeout_s = float(leg_timeout_s)
        self.auto_unwind_failed_legs = auto_unwind_failed_legs
        self.clock = clock
        self.strategy_warnings: list[str] = []
        self.logs: list[str] = []

    @property
    def primary(self) -> Any:
        return self.contexts[self.primary_venue]

    def _routed(self, venue: str | None) -> Any:
        """The context of ``venue`` (``default``, ``""`` or None: the primary), or None."""
        return self.contexts.get(venue if venue not in (None, DEFAULT_VENUE, "") else
                                 self.primary_venue)

    def _context(self, venue: str) -> Any:
        """The context of ``venue`` (None, with a warning, for a venue not routed)."""
        found = self._routed(venue)
        if found is None:
            self._warn(f"WARNING no live context for venue '{venue}' (routed: "
                       f"{', '.join(self.contexts)}); order refused")
        return found

    def _each(self, action: str, call: Callable[[Any], Any]) -> dict[str, Any]:
        """``call(ctx)`` on every venue; a venue that raises is warned about and skipped."""
        out = {}
        for venue, ctx in self.contexts.items():
            try:
                out[venue] = call(ctx)
            except Exception as exc:  # one venue's outage must not stop the others
                self._warn(f"WARNING {action} on {venue} failed: {type(exc).__name__}: {exc}")
        return out

    # Lifecycle

    def start(self) -> None:
        """Start (reconcile) every venue's context; a venue that cannot start stops the
        ones already started and raises."""
        started = []
        try:
            for ctx in self.contexts.values():
                ctx.start()
                started.append(ctx)
        except BaseException:
            for ctx in started:
                ctx.stop()
            raise

    def stop(self) -> None:
        self._each("stop", lambda ctx: ctx.stop())

    def __enter__(self) -> "MultiVenueLiveContext":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # State

    @property
    def account(self) -> AccountState:
        states = [ctx.account for ctx in self.contexts.values()]
        equity = sum(s.equity for s in states)
        notional = sum(s.leverage * s.equity for s in states)
        return AccountState(
            equity, sum(s.cash for s in states), sum(s.unrealized_pnl for s in states),
            sum(s.margin_used for s in states), sum(s.free_margin for s in states),
            notional / equity if equity > 0 else 0.0,
        )

    def venue_account(self, venue: str) -> AccountState:
        """The account of one venue."""
        return self.contexts[venue].account

    @property
    def positions(self) -> list[PositionInfo]:
        return [p for ctx in self.contexts.values() for p in ctx.positions]

    def position(self, market: str, venue: str = DEFAULT_VENUE) -> PositionInfo | None:
        ctx = self._routed(venue)
        return ctx.position(market) if ctx is not None else None

    @property
    def pending_orders(self) -> list[Order]:
        return [o for ctx in self.contexts.values() for o in ctx.pending_orders]

    @property
    def current_candle(self) -> Candle | None:
        return self.primary.current_candle

    @property
    def timestamp(self) -> int:
        return int(self.primary.timestamp)

    @property
    def markets(self) -> list[str]:
        seen: dict[str, None] = {}
        for ctx in self.contexts.values():
            seen.update(dict.fromkeys(ctx.markets))
        return list(seen)

    @property
    def trading_state(self) -> TradingState:
        """The most restrictive state of any venue."""
        return max((ctx.trading_state for ctx in self.contexts.values()), key=_RANK.__getitem__)

    def total_exposure(self, market: str) -> float:
        """Net signed size of ``market`` over every venue (+ long, - short)."""
        return sum(p.size * p.side.sign for p in self.positions if p.market == market)

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
        ctx = self._context(venue)
        return "" if ctx is None else str(
            ctx.market_order(market, side, size, reduce_only, tag, time_in_force=time_in_force))

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
        ctx = self._context(venue)
        return "" if ctx is None else str(
            ctx.limit_order(market, side, size, price, reduce_only, tag))

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
        ctx = self._context(venue)
        return "" if ctx is None else str(
            ctx.stop_order(market, side, size, trigger_price, tag, reduce_only=reduce_only))

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
        ctx = self._context(venue)
        return "" if ctx is None else str(ctx.take_profit_order(
            market, side, size, trigger_price, tag, reduce_only=reduce_only))

    def close_position(self, market: str, venue: str = DEFAULT_VENUE) -> str | None:
        ctx = self._context(venue)
        return None if ctx is None else ctx.close_position(market)

    def order_venue(self, order_id: str) -> str | None:
        """The venue whose context holds ``order_id``."""
        for venue, ctx in self.contexts.items():
            if ctx.order(order_id) is not None:
                return venue
        return None

    def cancel(self, order_id: str) -> bool:
        """Cancel ``order_id`` on whichever venue holds it."""
        venue = self.order_venue(order_id)
        if venue is None:
            return False
        try:
            return bool(self.contexts[venue].cancel(order_id))
        except Exception as exc:
            self._warn(f"WARNING cancel of {order_id} on {venue} failed: {exc}")
            return False

    def cancel_all(self, market: str | None = None) -> int:
        """Cancel resting orders on every venue (those that answer); how many."""
        return sum(self._each("cancel_all", lambda ctx: ctx.cancel_all(market)).values())

    def kill(self, message: str) -> None:
        """Every venue's kill switch (HALTED, cancel all, flatten), each on its own."""
        self._each("kill", lambda ctx: ctx.kill(message))

    def resume(self) -> None:
        self._each("resume", lambda ctx: ctx.resume())

    # Leg groups

    def submit_leg_group(
        self, legs: Sequence[OrderLeg], timeout_s: float | None = None
    ) -> LegGroupResult:
        """Send ``legs`` as market orders together (see the module doc)."""
        wait = self.leg_timeout_s if timeout_s is None else float(timeout_s)
        group = LegGroup(uuid.uuid4().hex[:12], list(legs), int(self.clock()), wait)
        unknown = [leg.venue for leg in legs if leg.venue not in self.contexts]
        if unknown:
            raise ValueError(f"leg group: no live context for venue(s) {', '.join(unknown)}")
        self._journal_group(group, "pending")
        with ThreadPoolExecutor(max_workers=max(1, len(legs))) as pool:
            ids = list(pool.map(self._send_leg, legs))
        sent = [attrs.evolve(leg, order_id=oid) for leg, oid in zip(legs, ids, strict=True)]
        self._journal_group(group, "sent", legs=sent)
        filled, failed = self._await_legs(sent, self.clock() + wait)
        result = LegGroupResult(group.group_id, "filled", filled, failed)
        if failed:
            result.status = "failed" if not filled else "partial"
            if filled and self.auto_unwind_failed_legs:
                result.unwind_order_ids = [self._unwind(leg) for leg in filled]
                result.status = "unwound"
        group.status = result.status
        self._journal_group(group, result.status, legs=sent, filled=filled, failed=failed,
                            unwind_order_ids=result.unwind_order_ids)
        if result.status != "filled":
            self._warn(f"WARNING leg group {group.group_id} {result.status}: "
                       f"{len(failed)} of {len(legs)} legs failed")
        return result

    def _send_leg(self, leg: OrderLeg) -> str:
        return self.market_order(leg.market, leg.side, leg.size, tag="leg", venue=leg.venue)

    def _await_legs(
        self, legs: list[OrderLeg], deadline: float
    ) -> tuple[list[OrderLeg], list[OrderLeg]]:
        """Legs filled (with their filled size) and legs that failed, once every leg is
        terminal or the deadline passes (a leg still open then is cancelled)."""
        filled: list[OrderLeg] = []
        failed: list[OrderLeg] = []
        waiting = [leg for leg in legs if leg.order_id]
        failed += [leg for leg in legs if not leg.order_id]
        while waiting:
            still = []
            for leg in waiting:
                order = self.contexts[leg.venue].order(leg.order_id)
                if order is not None and order.state is OrderState.FILLED:
                    filled.append(leg)
                elif order is None or order.terminal:
                    done = order.filled_size if order is not None else 0.0
                    if done > 0:
                        filled.append(attrs.evolve(leg, size=done))
                    failed.append(leg)
                else:
                    still.append(leg)
            waiting = still
            if waiting and self.clock() >= deadline:
                for leg in waiting:
                    ctx = self.contexts[leg.venue]
                    ctx.cancel(leg.order_id)
                    order = ctx.order(leg.order_id)
                    if order is not None and order.filled_size > 0:
                        filled.append(attrs.evolve(leg, size=order.filled_size))
                    failed.append(leg)
                break
            if waiting:
                time.sleep(0.02)
        return filled, failed

    def _unwind(self, leg: OrderLeg) -> str:
        back = Side.SHORT if leg.side is Side.LONG else Side.LONG
        return str(self.contexts[leg.venue].market_order(
            leg.market, back, leg.size, reduce_only=True, tag="unwind"))

    def _journal_group(self, group: LegGroup, status: str, **detail: Any) -> None:
        legs = detail.pop("legs", group.legs)
        record = {
            "group_id": group.group_id, "status": status, "created_at": group.created_at,
            "timeout_s": group.timeout_s, "legs": [_leg_fields(leg) for leg in legs],
            **{k: ([_leg_fields(x) for x in v] if k in ("filled", "failed") else v)
               for k, v in detail.items()},
        }
        self.primary.tracker.record(Kind.LEG_GROUP, None, **record)

    # Capital

    def venue_balance(self, venue: str) -> float:
        ctx = self.contexts.get(venue)
        return float(ctx.account.cash) if ctx is not None else 0.0

    def venue_balances(self) -> dict[str, float]:
        return {venue: float(ctx.account.cash) for venue, ctx in self.contexts.items()}

    def transfer(self, from_venue: str, to_venue: str, amount: float) -> bool:
        """Not executed live: reported as a warning (move the funds at the venues)."""
        self._warn(f"WARNING transfer of {amount:g} from {from_venue} to {to_venue} is not "
                   f"executed in live trading: move the funds at the venues yourself")
        return False

    # Market data (the primary venue's)

    def get_candles(
        self, market: str, lookback: int = 50, *, venue: str | None = None
    ) -> Sequence[Candle]:
        ctx = self._routed(venue)
        return (ctx if ctx is not None else self.primary).get_candles(market, lookback)

    def get_funding_rate(self, market: str | None = None) -> float | None:
        return self.primary.get_funding_rate(market)

    def get_funding_rates(
        self, market: str | None = None, lookback: int = 24
    ) -> list[tuple[int, float]]:
        return list(self.primary.get_funding_rates(market, lookback))

    def get_funding_by_venue(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[tuple[int, float]]]:
        return dict(self.primary.get_funding_by_venue(market, lookback))

    def get_venue_snapshots(
        self, market: str | None = None, lookback: int = 24
    ) -> dict[str, list[FundingRate]]:
        return dict(self.primary.get_venue_snapshots(market, lookback))

    def get_orderbook(self, market: str | None = None) -> OrderbookSnapshot | None:
        return self.primary.get_orderbook(market)

    # Logs

    def _warn(self, text: str) -> None:
        log.warning(text)
        self.strategy_warnings.append(text)

    def log(self, message: str) -> None:
        self.logs.append(f"[{int(self.clock())}] {message}")
        if str(message).upper().startswith("WARNING"):
            self.strategy_warnings.append(str(message))


def _leg_fields(leg: OrderLeg) -> dict[str, Any]:
    return {"market": leg.market, "side": leg.side.value, "size": leg.size,
            "venue": leg.venue, "order_id": leg.order_id}
