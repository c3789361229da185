"""flint.risk: guards, trading states, persistence, the kill switch, and the invariants
(Hypothesis) that no accepted order breaks a configured limit and that reduce-only
orders always pass."""

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.config import FlintConfig, load_config
from flint.risk import (
    DailyLossLimit,
    EquityMonitor,
    Holding,
    Mark,
    MaxDrawdownCircuitBreaker,
    MaxLeverage,
    MaxNotionalPerOrder,
    MaxOpenPositions,
    MaxOrdersPerMinute,
    MaxPositionSize,
    OrderIntent,
    PerMarketPositionLimit,
    PriceBand,
    Reason,
    RiskEngine,
    RiskView,
    TradingState,
    default_guards,
    engine_from_config,
)
from flint_core.enums import OrderType, Side
from flint_core.records import AccountState

LONG, SHORT = Side.LONG, Side.SHORT


def view(now: float = 100.0, equity: float = 10_000.0, positions: Any = (),
         orders: Any = (), marks: Any = None) -> RiskView:
    return RiskView(now, equity, tuple(positions), tuple(orders),
                    marks if marks is not None else {"SOL": Mark(100.0, now)})


def buy(size: float, price: float = 0.0, **kw: Any) -> OrderIntent:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderIntent("SOL", LONG, size, kind, price, **kw)


def test_each_guard_denies_with_its_reason():
    cases = [
        (MaxNotionalPerOrder(500), buy(6), Reason.NOTIONAL_EXCEEDS_MAX_PER_ORDER),
        (MaxPositionSize(1000), buy(11), Reason.POSITION_EXCEEDS_MAX),
        (PerMarketPositionLimit({"SOL": 300}), buy(4), Reason.MARKET_POSITION_EXCEEDS_LIMIT),
        (MaxLeverage(2), buy(201), Reason.LEVERAGE_EXCEEDS_MAX),
        (PriceBand(0.05), buy(1, price=106), Reason.PRICE_OUTSIDE_BAND),
    ]
    for guard, intent, reason in cases:
        engine = RiskEngine([guard])
        decision = engine.check(intent, view())
        assert not decision.accepted and decision.reason is reason, (guard, decision)
        smaller = buy(1, price=104 if intent.price else 0.0)
        assert engine.check(smaller, view()).accepted, guard


def test_a_resting_order_counts_towards_the_worst_case_position():
    engine = RiskEngine([MaxPositionSize(1000)])
    resting = [buy(6, price=100)]
    assert engine.check(buy(4), view(orders=resting)).accepted
    assert engine.check(buy(5), view(orders=resting)).reason is Reason.POSITION_EXCEEDS_MAX
    # an order that shrinks an over-limit position passes
    held = [Holding("default", "SOL", 20.0, 90.0)]
    sell = OrderIntent("SOL", SHORT, 5.0)
    assert engine.check(sell, view(positions=held)).accepted


def test_max_open_positions_counts_markets_with_positions_or_entries():
    engine = RiskEngine([MaxOpenPositions(2)])
    held = [Holding("default", "BTC", 1.0, 50.0)]
    entries = [OrderIntent("ETH", SHORT, 1.0, OrderType.LIMIT, 10.0)]
    denied = engine.check(buy(1), view(positions=held, orders=entries))
    assert denied.reason is Reason.MAX_OPEN_POSITIONS
    assert engine.check(OrderIntent("BTC", LONG, 1.0), view(positions=held,
                                                              orders=entries)).accepted


def test_rate_limit_counts_accepted_orders_in_a_sliding_minute():
    engine = RiskEngine([MaxOrdersPerMinute(2)])
    assert engine.check(buy(1), view(now=0)).accepted
    assert engine.check(buy(1), view(now=30)).accepted
    assert engine.check(buy(1), view(now=59)).reason is Reason.RATE_LIMIT_EXCEEDED
    assert engine.check(buy(1, reduce_only=True), view(now=59)).accepted
    assert engine.check(buy(1), view(now=60.5)).accepted


def test_a_missing_or_stale_mark_denies_when_a_guard_prices_the_order():
    engine = RiskEngine([MaxNotionalPerOrder(10_000)], max_mark_age_s=5)
    assert engine.check(buy(1), view(now=100, marks={"SOL": Mark(100, 94)})).reason is (
        Reason.MARK_STALE)
    assert engine.check(buy(1), view(marks={})).reason is Reason.MARK_STALE
    assert engine.check(buy(1), view(now=100, marks={"SOL": Mark(100, 95)})).accepted
    # guards that need no price do not need a mark
    assert RiskEngine([MaxOpenPositions(3)]).check(buy(1), view(marks={})).accepted


def test_drawdown_trips_reducing_which_denies_growth_but_lets_reductions_through():
    changes: list[tuple[TradingState, Reason, str]] = []
    engine = RiskEngine([MaxDrawdownCircuitBreaker(0.10, 10_000)],
                        listener=lambda *c: changes.append(c))
    held = [Holding("default", "SOL", 10.0, 100.0)]
    denied = engine.check(buy(1), view(equity=8_900, positions=held))
    assert denied.reason is Reason.TRADING_REDUCING
    assert engine.state is TradingState.REDUCING and engine.reason is Reason.DRAWDOWN_LIMIT
    assert [c[:2] for c in changes] == [(TradingState.REDUCING, Reason.DRAWDOWN_LIMIT)]
    # equity recovering does not un-trip: only resume does
    assert not engine.check(buy(1), view(equity=20_000, positions=held)).accepted
    assert engine.check(OrderIntent("SOL", SHORT, 4.0), view(positions=held)).accepted
    engine.resume(20_000, 100)
    assert engine.state is TradingState.ACTIVE
    assert engine.check(buy(1), view(equity=20_000, positions=held)).accepted


def test_daily_loss_limit_uses_the_equity_at_the_start_of_the_utc_day():
    guard = DailyLossLimit(500, initial_capital=10_000)
    assert guard.observe(9_600, 3_600) is None
    assert guard.observe(9_500, 7_200)[0] is Reason.DAILY_LOSS_LIMIT
    assert guard.observe(9_000, 86_400 + 10) is None  # a new day starts at 9_000
    assert guard.observe(8_400, 86_400 + 20)[0] is Reason.DAILY_LOSS_LIMIT


def test_halted_denies_everything_but_reduce_only_and_states_only_escalate():
    engine = RiskEngine()
    assert engine.trip(TradingState.HALTED, Reason.KILL_SWITCH, "test")
    assert not engine.trip(TradingState.REDUCING, Reason.DRAWDOWN_LIMIT)
    assert engine.check(buy(1), view()).reason is Reason.TRADING_HALTED
    sell = OrderIntent("SOL", SHORT, 1.0, reduce_only=True)
    assert engine.check(sell, view()).accepted


def test_a_snapshot_restores_the_state_and_the_guards_memory():
    def build() -> RiskEngine:
        return RiskEngine([MaxOrdersPerMinute(1), MaxDrawdownCircuitBreaker(0.5)])

    engine = build()
    assert engine.check(buy(1), view(now=10, equity=1_000)).accepted
    engine.trip(TradingState.REDUCING, Reason.MANUAL, "by hand")
    restored = build()
    restored.restore(engine.snapshot())
    assert restored.state is TradingState.REDUCING and restored.message == "by hand"
    restored.resume(1_000, 20)
    assert restored.check(buy(1), view(now=20, equity=1_000)).reason is (
        Reason.RATE_LIMIT_EXCEEDED)
    assert restored.guards[1].snapshot() == {"peak": 1_000}


def test_default_guards_follow_the_settings():
    names = {g.name for g in default_guards(FlintConfig())}
    assert names == {"MaxOpenPositions", "MaxLeverage", "PriceBand", "MaxOrdersPerMinute",
                     "MaxDrawdownCircuitBreaker"}
    every = FlintConfig(risk_max_notional_per_order=1, risk_max_position_notional=1,
                        live_per_market_position_limits={"SOL": 1.0}, risk_daily_loss_limit=1)
    assert len(default_guards(every)) == 9
    off = FlintConfig(max_open_trades=0, risk_max_leverage=0, risk_price_band_pct=0,
                      live_max_orders_per_minute=0, max_drawdown_pct=0)
    assert default_guards(off) == []


def test_risk_settings_come_from_flint_yaml(tmp_path):
    (tmp_path / "flint.yaml").write_text(
        "risk:\n  max_notional_per_order: 500\n  max_leverage: 2\n  max_mark_age_s: 9\n")
    engine = engine_from_config(load_config(tmp_path / "flint.yaml", env={}))
    assert engine.max_mark_age_s == 9
    assert engine.check(buy(6), view()).reason is Reason.NOTIONAL_EXCEEDS_MAX_PER_ORDER
    assert next(g for g in engine.guards if g.name == "MaxLeverage").max_leverage == 2


class _Account:
    """A context that only has equity and a kill switch (what the monitor needs)."""

    def __init__(self) -> None:
        self.equity = 10_000.0
        self.killed: list[str] = []

    @property
    def account(self) -> AccountState:
        return AccountState(self.equity, self.equity)

    def kill(self, message: str) -> None:
        self.killed.append(message)


def test_equity_monitor_warns_once_then_kills_once():
    ctx, alerts = _Account(), []
    monitor = EquityMonitor(ctx, 0.15, 0.05, notification_manager=lambda *a: alerts.append(a))
    assert not monitor.check()
    ctx.equity = 9_400
    monitor.check()
    ctx.equity = 9_300
    monitor.check()
    assert [a[0] for a in alerts] == ["drawdown_warning"]
    ctx.equity = 8_500
    assert monitor.check() and monitor.check()
    assert len(ctx.killed) == 1 and [a[0] for a in alerts][-1] == "kill_switch"
    monitor.reset()
    assert not monitor.tripped and monitor.peak_equity == 8_500


# Hypothesis: random order streams against random limits.

MARKETS = ("SOL", "BTC", "ETH")


@st.composite
def limits(draw: Any) -> dict[str, Any]:
    maybe = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    return {
        "per_order": maybe(st.floats(50, 5_000)),
        "position": maybe(st.floats(100, 20_000)),
        "per_market": maybe(st.dictionaries(st.sampled_from(MARKETS), st.floats(100, 10_000),
                                            max_size=2)),
        "open": maybe(st.integers(1, 3)),
        "leverage": maybe(st.floats(0.2, 5)),
        "band": maybe(st.floats(0.005, 0.2)),
        "rate": maybe(st.integers(1, 6)),
        "drawdown": maybe(st.floats(0.05, 0.5)),
    }


def build_engine(lim: dict[str, Any]) -> RiskEngine:
    guards = []
    if lim["per_order"]:
        guards.append(MaxNotionalPerOrder(lim["per_order"]))
    if lim["position"]:
        guards.append(MaxPositionSize(lim["position"]))
    if lim["per_market"]:
        guards.append(PerMarketPositionLimit(lim["per_market"]))
    if lim["open"]:
        guards.append(MaxOpenPositions(lim["open"]))
    if lim["leverage"]:
        guards.append(MaxLeverage(lim["leverage"]))
    if lim["band"]:
        guards.append(PriceBand(lim["band"]))
    if lim["rate"]:
        guards.append(MaxOrdersPerMinute(lim["rate"]))
    if lim["drawdown"]:
        guards.append(MaxDrawdownCircuitBreaker(lim["drawdown"]))
    return RiskEngine(guards, max_mark_age_s=5.0)


step = st.one_of(
    st.tuples(st.just("order"), st.sampled_from(MARKETS), st.sampled_from([LONG, SHORT]),
              st.sampled_from([OrderType.MARKET, OrderType.LIMIT]),
              st.floats(0.01, 60), st.floats(0.7, 1.3), st.booleans()),
    st.tuples(st.just("mark"), st.sampled_from(MARKETS), st.floats(5, 500)),
    st.tuples(st.just("wait"), st.floats(0.1, 40)),
    st.tuples(st.just("fill"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("equity"), st.floats(1_000, 30_000)),
    st.tuples(st.just("trip"), st.sampled_from([TradingState.REDUCING, TradingState.HALTED])),
    st.tuples(st.just("resume")),
)


def _worst(market: str, positions: dict[str, float], orders: list[OrderIntent],
           extra: OrderIntent | None = None) -> float:
    pending = [o for o in orders if not o.reduce_only and o.market == market]
    if extra is not None:
        pending.append(extra)
    pos = positions.get(market, 0.0)
    longest = pos + sum(o.size for o in pending if o.side is LONG)
    shortest = pos - sum(o.size for o in pending if o.side is SHORT)
    return max(longest, -shortest, 0.0)


def _near_le(a: float, b: float) -> bool:
    return a <= b * (1 + 1e-7) + 1e-7


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lim=limits(), steps=st.lists(step, max_size=60))
def test_no_accepted_order_breaks_a_limit_and_reduce_only_always_passes(lim, steps):
    engine = build_engine(lim)
    prices = {"SOL": 100.0, "BTC": 300.0, "ETH": 30.0}
    mark_ts = dict.fromkeys(prices, 0.0)
    now, equity = 0.0, 10_000.0
    positions: dict[str, float] = {}
    entries: dict[str, float] = {}
    orders: list[OrderIntent] = []
    accepted_times: list[float] = []
    prices_needed = any(g.needs_mark for g in engine.guards)

    for s in steps:
        kind = s[0]
        if kind == "mark":
            prices[s[1]], mark_ts[s[1]] = s[2], now
        elif kind == "wait":
            now += s[1]
        elif kind == "equity":
            equity = s[1]
        elif kind == "trip":
            engine.trip(s[1], Reason.MANUAL)
        elif kind == "resume":
            engine.resume(equity, now)
        elif kind in ("fill", "cancel") and orders:
            order = orders.pop(s[1] % len(orders))
            if kind == "fill":
                _fill(order, positions, entries)
        elif kind == "order":
            _, market, side, otype, size, factor, reduce_only = s
            price = round(prices[market] * factor, 6) if otype is OrderType.LIMIT else 0.0
            intent = OrderIntent(market, side, size, otype, price, reduce_only)
            held = [Holding("default", m, q, entries[m]) for m, q in positions.items() if q]
            marks = {m: Mark(p, mark_ts[m]) for m, p in prices.items()}
            state_before = engine.state
            decision = engine.check(intent, RiskView(now, equity, held, list(orders), marks))
            if reduce_only:
                assert decision.accepted, decision
            if decision.accepted and not reduce_only:
                _assert_within_limits(lim, engine, intent, state_before, now, equity, prices,
                                      mark_ts, positions, orders, accepted_times, prices_needed)
                accepted_times.append(now)
            if decision.accepted:
                if otype is OrderType.MARKET:
                    _fill(intent, positions, entries)
                else:
                    orders.append(intent)


def _fill(order: OrderIntent, positions: dict[str, float], entries: dict[str, float]) -> None:
    pos = positions.get(order.market, 0.0)
    delta = order.signed_size
    if order.reduce_only:  # trades at most the position, against it
        if pos == 0 or (pos > 0) == (delta > 0):
            return
        delta = math.copysign(min(abs(delta), abs(pos)), delta)
    positions[order.market] = pos + delta
    entries[order.market] = order.price or entries.get(order.market, 1.0)


def _assert_within_limits(lim, engine, intent, state_before, now, equity, prices, mark_ts,
                          positions, orders, accepted_times, prices_needed):
    market = intent.market
    before = _worst(market, positions, orders)
    after = _worst(market, positions, orders, intent)
    grows = after > before * (1 + 1e-9) + 1e-9
    assert state_before is not TradingState.HALTED
    if engine.state is not TradingState.ACTIVE:
        assert not grows
    if prices_needed:
        assert now - mark_ts[market] <= 5.0
    mark = prices[market]
    if lim["per_order"]:
        assert _near_le(intent.size * (intent.price or mark), lim["per_order"])
    if lim["band"] and intent.order_type is OrderType.LIMIT:
        assert _near_le(abs(intent.price - mark) / mark, lim["band"])
    if lim["rate"]:
        assert sum(1 for t in accepted_times if t > now - 60) < lim["rate"]
    if not grows:
        return
    if lim["position"]:
        assert _near_le(after * mark, lim["position"])
    if lim["per_market"] and market in lim["per_market"]:
        assert _near_le(after * mark, lim["per_market"][market])
    if lim["open"]:
        others = {m for m in prices if m != market and _worst(m, positions, orders) > 0}
        assert before > 0 or len(others) < lim["open"]
    if lim["leverage"]:
        gross = sum(_worst(m, positions, orders, intent if m == market else None) * prices[m]
                    for m in prices)
        assert equity > 0 and _near_le(gross / equity, lim["leverage"])


def test_invalid_limits_are_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="max_notional"):
        MaxNotionalPerOrder(0)
    with pytest.raises(ValueError, match="max_orders"):
        MaxOrdersPerMinute(0)
    with pytest.raises(ValueError, match="warning_pct"):
        EquityMonitor(_Account(), kill_switch_pct=0.1, warning_pct=0.2)
