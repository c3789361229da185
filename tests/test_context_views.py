"""v2 context calls at O(1): each answer is kept until what it shows changes, read-only."""

import copy
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.execution.capital import VenueAllocator
from flint.execution.fill_models import ClosePriceFill
from flint.models import AccountState, Candle, FundingRate, PositionInfo, Side, Signal
from flint.strategy.base import Strategy
from flint_core.margin import exposure

H = 3600


def bars(closes, venue="binance"):
    return [Candle(i * H, c, c + 1, c - 1, c, 100.0, "SOL", H, venue)
            for i, c in enumerate(closes)]


def funding(venue, every, n, interval=H):
    return [FundingRate("SOL", i * every * H + H, 0.0001 * (i % 4 - 1), source=venue,
                        interval_s=interval) for i in range(n)]


class Probe(Strategy):
    """Calls ``probe(ctx, bar_index)`` on every bar and keeps the answers."""

    name = "probe"

    def __init__(self, probe):
        self.probe = probe

    def reset(self):
        self.bar = -1
        self.answers = []

    def on_candle(self, candle, history, ctx):
        self.bar += 1
        self.answers.append(self.probe(ctx, self.bar))
        return Signal.HOLD


def run(probe, closes, **kw):
    strategy = Probe(probe)
    BacktestEngine(strategy, fill_model=ClosePriceFill(), **kw).run(bars(closes))
    return strategy.answers


GETTERS = {
    "account": lambda ctx: ctx.account,
    "positions": lambda ctx: ctx.positions,
    "position": lambda ctx: ctx.position("SOL"),
    "pending_orders": lambda ctx: ctx.pending_orders,
    "funding_rates": lambda ctx: ctx.get_funding_rates(lookback=3),
    "funding_by_venue": lambda ctx: ctx.get_funding_by_venue(lookback=3),
    "candles": lambda ctx: ctx.get_candles("SOL", 4),
    "markets": lambda ctx: ctx.markets,
    "balances": lambda ctx: ctx.venue_balances(),
}


def test_asking_twice_in_a_bar_gives_the_same_answer():
    def probe(ctx, bar):
        if bar == 1:
            ctx.market_order("SOL", Side.LONG, 2)
        if bar == 2:
            ctx.limit_order("SOL", Side.LONG, 1, 50)
        first = {name: get(ctx) for name, get in GETTERS.items()}
        return {name: get(ctx) is first[name] for name, get in GETTERS.items()}

    answers = run(probe, [100, 101, 102, 103, 102, 101], funding_rates=funding("binance", 2, 3))
    assert all(all(same.values()) for same in answers), answers


def test_answers_are_kept_across_bars_while_nothing_they_show_changes():
    def probe(ctx, bar):
        if bar == 2:
            ctx.limit_order("SOL", Side.LONG, 1, 50)  # rests for the rest of the run
        if bar == 4:
            ctx.market_order("SOL", Side.LONG, 1)
        return {name: get(ctx) for name, get in GETTERS.items()}

    answers = run(probe, [100, 101, 102, 103, 104, 105, 106, 107],
                  funding_rates=funding("binance", 3, 3))
    flat = answers[:5]  # no position until bar 4's fill at its close
    assert all(a["account"] is flat[0]["account"] for a in flat)
    assert all(a["positions"] is flat[0]["positions"] == [] for a in flat)
    # a resting order is the same answer while marks move the open position
    assert answers[3]["pending_orders"] is answers[2]["pending_orders"]
    assert [o.order_type for o in answers[4]["pending_orders"]] == ["limit", "market"]
    assert all(a["pending_orders"] is answers[5]["pending_orders"] for a in answers[5:])
    assert answers[5]["pending_orders"] == answers[2]["pending_orders"]
    held = answers[5:]
    assert len({id(a["account"]) for a in held}) == len(held)  # equity moves every bar
    assert [a["position"].unrealized_pnl for a in held] == [1.0, 2.0, 3.0]
    # funding settles at 1 h, 4 h and 7 h: revealed by bars 0, 3 and 6, new answers then only
    rates = [a["funding_rates"] for a in answers]
    assert [i for i in range(1, len(rates)) if rates[i] is not rates[i - 1]] == [3, 6]
    assert rates[3] == [(H, -0.0001), (4 * H, 0.0)]
    assert all(a["markets"] is answers[0]["markets"] == ["SOL"] for a in answers)


def test_answers_cannot_be_changed_by_the_strategy():
    def probe(ctx, bar):
        if bar == 0:
            ctx.market_order("SOL", Side.LONG, 1)
            ctx.limit_order("SOL", Side.LONG, 1, 50)
            return None
        refused = []
        for change, args in (
            (ctx.positions.append, (None,)),
            (ctx.pending_orders.clear, ()),
            (ctx.markets.sort, ()),
            (ctx.get_funding_rates(lookback=3).pop, ()),
            (ctx.get_funding_by_venue(lookback=3).update, ({"x": []},)),
            (ctx.venue_balances().__setitem__, ("default", 0.0)),
        ):
            with pytest.raises(TypeError, match="copy it first"):
                change(*args)
            refused.append(True)
        with pytest.raises(dataclasses.FrozenInstanceError):
            ctx.account.cash = 0.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            ctx.position("SOL").size = 0.0
        assert [*ctx.positions, None] == [ctx.position("SOL"), None]  # copies are free
        return refused

    answers = run(probe, [100, 101, 102], funding_rates=funding("binance", 1, 3))
    assert answers[1:] == [[True] * 6] * 2


# The cached answers always equal answers built afresh from the core's state


def fresh(ctx):
    """The answers as the context built them before it kept them."""
    core = ctx._core
    ledger = core.ledger
    unrealized = sum((s.mark - s.entry_price) * s.size for s in ledger.open)
    equity = ledger.cash + unrealized
    notional, used = exposure(ledger)
    positions = [
        PositionInfo(s.market, Side.LONG if s.size > 0 else Side.SHORT, abs(s.size),
                     s.entry_price, s.unrealized(), s.entry_ts, s.venue)
        for s in ledger.open
    ]
    revealed = [s for s in core.funding if s.market == "SOL" and s.pos > 0]
    picked = sorted(revealed, key=lambda s: (s.venue != "binance", s.venue))

    def last3(stream):
        return [(r.ts, r.hourly_rate) for r in stream.revealed(3)]

    return {
        "account": AccountState(equity, ledger.cash, unrealized, used, equity - used,
                                notional / equity if equity > 0 else 0.0),
        "positions": positions,
        "position": next((p for p in positions if p.venue == "default"), None),
        "pending_orders": [copy.copy(t.order) for t in core.queue.open_tickets()],
        "funding_rates": last3(picked[0]) if picked else [],
        "funding_by_venue": {s.venue: last3(s) for s in revealed},
        "candles": core.feeds[0].closed_window(4),
        "markets": ["SOL"],
        "balances": {a.name: a.cash for a in ledger.accounts} if core.accounts
        else {"default": ledger.cash},
    }


ACTIONS = st.sampled_from(["none", "buy", "sell", "limit", "stop", "cancel", "close",
                           "transfer", "ask twice"])


@settings(max_examples=40, deadline=None)
@given(
    closes=st.lists(st.floats(50.0, 150.0), min_size=3, max_size=25),
    actions=st.lists(ACTIONS, min_size=25, max_size=25),
    sizes=st.lists(st.floats(0.1, 5.0), min_size=25, max_size=25),
    every=st.integers(1, 4),
    allocate=st.booleans(),
)
def test_cached_answers_equal_fresh_ones(closes, actions, sizes, every, allocate):
    def probe(ctx, bar):
        action, size = actions[bar], sizes[bar]
        price = closes[bar]
        if action == "buy":
            ctx.market_order("SOL", Side.LONG, size)
        elif action == "sell":
            ctx.market_order("SOL", Side.SHORT, size, reduce_only=bar % 2 == 0)
        elif action == "limit":
            ctx.limit_order("SOL", Side.LONG, size, price * 0.99)
        elif action == "stop":
            ctx.stop_order("SOL", Side.SHORT, size, price * 0.98)
        elif action == "cancel":
            ctx.cancel_all()
        elif action == "close":
            ctx.close_position("SOL")
        elif action == "transfer":
            ctx.transfer("default", "binance", size)
        elif action == "ask twice":
            for get in GETTERS.values():
                get(ctx)
        answers = {name: get(ctx) for name, get in GETTERS.items()}
        expected = fresh(ctx)
        return [name for name in GETTERS if answers[name] != expected[name]]

    allocator = VenueAllocator({"binance": 4_000.0}) if allocate else None
    answers = run(probe, closes, capital_allocator=allocator,
                  funding_rates=funding("binance", every, 8) + funding("hyperliquid", 1, 20))
    assert answers == [[]] * len(closes)
