"""Invariants of the backtest engine under random markets and random order scripts.

The money identity is checked against an independent replay of the result's fills,
funding payments and transfers (not against the engine's own ledger).
"""

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.execution.capital import TransferRoute, VenueAllocator
from flint.execution.fill_models import (
    ClosePriceFill,
    FillPipeline,
    NextBarOpenFill,
    SlippageFill,
)
from flint.execution.margin import MarginEngine
from flint.models import (
    CandleSeries,
    FundingRate,
    OrderbookLevel,
    OrderbookSnapshot,
    Side,
    Signal,
    TimeInForce,
)
from flint.strategy.base import Strategy
from flint_core.venues import VenueConfig

RES = 3600
T0 = 1_700_000_000 - 1_700_000_000 % RES
ALT = VenueConfig(
    name="alt", taker_fee_bps=7.0, maker_fee_bps=-1.0, initial_margin=0.2,
    maintenance_margin=0.1, max_leverage=5, impact_coefficient=0.01, base_latency_s=0.5,
    latency_jitter_s=0.2, funding_interval_s=8 * 3600,
)
VENUES = ("default", "alt")
MARKETS = ("SOL", "ETH")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def markets(draw):
    """Two aligned hourly markets with valid OHLC and sometimes zero volume."""
    n = draw(st.integers(3, 40))
    out = {}
    for name, start in zip(MARKETS, (100.0, 2000.0), strict=True):
        moves = np.array(draw(st.lists(st.floats(-0.08, 0.08), min_size=n, max_size=n)))
        closes = start * np.exp(np.cumsum(moves))
        gaps = np.array(draw(st.lists(st.floats(-0.02, 0.02), min_size=n, max_size=n)))
        opens = np.concatenate(([start], closes[:-1])) * (1 + gaps)
        wick = np.array(draw(st.lists(st.floats(0, 0.05), min_size=2 * n, max_size=2 * n)))
        highs = np.maximum(opens, closes) * (1 + wick[:n])
        lows = np.minimum(opens, closes) * (1 - wick[n:] / 2)
        volumes = np.array(draw(st.lists(
            st.one_of(st.just(0.0), st.floats(1.0, 1e5)), min_size=n, max_size=n,
        )))
        out[name] = CandleSeries(
            T0 + RES * np.arange(n), opens, highs, lows, closes, volumes, name, RES, "binance"
        )
    return out


ACTION = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(VENUES), st.sampled_from(MARKETS),
              st.sampled_from([Side.LONG, Side.SHORT]), st.floats(0.01, 50), st.booleans(),
              st.sampled_from(list(TimeInForce))),
    st.tuples(st.just("limit"), st.sampled_from(VENUES), st.sampled_from(MARKETS),
              st.sampled_from([Side.LONG, Side.SHORT]), st.floats(0.01, 50),
              st.floats(-0.05, 0.05), st.booleans()),
    st.tuples(st.sampled_from(["stop", "tp"]), st.sampled_from(VENUES),
              st.sampled_from(MARKETS), st.sampled_from([Side.LONG, Side.SHORT]),
              st.floats(0.01, 50), st.floats(-0.06, 0.06), st.booleans()),
    st.tuples(st.just("close"), st.sampled_from(VENUES), st.sampled_from(MARKETS)),
    st.tuples(st.just("cancel_all")),
    st.tuples(st.just("transfer"), st.sampled_from(VENUES), st.sampled_from(VENUES),
              st.floats(1, 3000)),
    st.tuples(st.just("signal"), st.sampled_from([Signal.BUY, Signal.SELL])),
)


class Scripted(Strategy):
    """Plays a script of actions; remembers which ids were limits and reduce-only."""

    name = "scripted"

    def __init__(self, script):
        self.script = script
        self.reset()

    def reset(self):
        self.bar = -1
        self.limits = {}
        self.reduce_only = set()

    def on_candle(self, candle, history, ctx=None):
        self.bar += 1
        signal = Signal.HOLD
        for action in self.script.get(self.bar, []):
            kind = action[0]
            if kind == "signal":
                signal = action[1]
                continue
            if kind == "cancel_all":
                ctx.cancel_all()
                continue
            if kind == "transfer":
                ctx.transfer(action[1], action[2], action[3])
                continue
            if kind == "close":
                oid = ctx.close_position(action[2], venue=action[1])
                if oid:
                    self.reduce_only.add(oid)
                continue
            venue, market, side, size = action[1:5]
            close = ctx.get_candles(market, 1)[-1].close
            if kind == "market":
                oid = ctx.market_order(market, side, size, reduce_only=action[5], venue=venue,
                                       time_in_force=action[6])
                reduce = action[5]
            elif kind == "limit":
                price = close * (1 + action[5])
                oid = ctx.limit_order(market, side, size, price, reduce_only=action[6],
                                      venue=venue)
                self.limits[oid] = (side, price)
                reduce = action[6]
            else:
                place = ctx.stop_order if kind == "stop" else ctx.take_profit_order
                oid = place(market, side, size, close * (1 + action[5]), venue=venue,
                            reduce_only=action[6])
                reduce = action[6]
            if reduce and oid:
                self.reduce_only.update({oid, f"{oid}-gtc"})
        return signal


@st.composite
def scenarios(draw):
    data = draw(markets())
    n = len(data["SOL"])
    script = draw(st.dictionaries(st.integers(0, n - 1), st.lists(ACTION, max_size=3),
                                  max_size=n))
    model = draw(st.sampled_from(["close", "next_open", "slippage", "pipeline", "slow"]))
    funding = []
    for venue, market in draw(st.lists(
        st.tuples(st.sampled_from(["binance", "alt"]), st.sampled_from(MARKETS)),
        max_size=3, unique=True,
    )):
        for k in draw(st.lists(st.integers(0, 3 * n), max_size=n, unique=True)):
            oracle = draw(st.sampled_from([0.0, 0.0, 123.0]))
            funding.append(FundingRate(
                market, T0 + k * RES // 3, draw(st.integers(-30, 30)) * 1e-4, oracle,
                draw(st.sampled_from([0.0, 99.0])), source=venue,
            ))
    books = []
    if draw(st.booleans()):
        for i in draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)):
            levels = tuple(OrderbookLevel(100 * (1 + k / 100), draw(st.floats(0.1, 5)))
                           for k in range(1, 4))
            bids = tuple(OrderbookLevel(200 - lv.price, lv.size) for lv in levels)
            books.append(OrderbookSnapshot("SOL", T0 + i * RES, bids, levels))
    return {
        "data": data, "script": script, "model": model, "funding": funding, "books": books,
        "margin": draw(st.booleans()), "allocator": draw(st.booleans()),
        "short": draw(st.booleans()),
    }


def _model(name):
    return {
        "close": ClosePriceFill(),
        "next_open": NextBarOpenFill(),
        "slippage": SlippageFill(7.0),
        "pipeline": FillPipeline(latency_seed=3),
        "slow": FillPipeline(base_latency_s=2.5 * RES, latency_jitter_s=RES, latency_seed=5),
    }[name]


def _run(s):
    strategy = Scripted(s["script"])
    engine = BacktestEngine(
        strategy,
        initial_capital=10_000,
        fee_rate=0.0006,
        fill_model=_model(s["model"]),
        funding_rates=s["funding"],
        orderbook_snapshots=s["books"],
        margin_engine=MarginEngine() if s["margin"] else None,
        capital_allocator=VenueAllocator(
            {"default": 6_000, "alt": 4_000}, default=TransferRoute(5400, 2.5)
        ) if s["allocator"] else None,
        venues={"alt": ALT},
        allow_short=s["short"],
    )
    return strategy, engine.run(s["data"])


def _bar_of(ts, n):
    """Index of the bar whose (open, close] holds ``ts`` (events), clipped to the data."""
    return min(max(int(np.ceil((ts - T0) / RES)) - 1, 0), n - 1)


@SETTINGS
@given(scenarios())
def test_equity_is_initial_plus_pnl_minus_costs_at_every_bar(s):
    _, result = _run(s)
    data = s["data"]
    n = len(data["SOL"])
    closes = {m: data[m].closes for m in MARKETS}
    cash_flow = np.zeros(n)  # -q*p - fee of fills, funding, transfer costs per bar
    qty = defaultdict(lambda: np.zeros(n))  # signed size added per (venue, market) and bar
    for fill in result.fills:
        i = (fill.ts - T0) // RES
        signed = fill.size if fill.side == Side.LONG else -fill.size
        cash_flow[i] -= signed * fill.price + fill.fee
        qty[(fill.venue, fill.market)][i] += signed
    for ts, _venue, _market, _rate, _price, amount in result.funding_payments:
        cash_flow[_bar_of(ts, n)] -= amount
    for transfer in result.transfers:
        cash_flow[_bar_of(transfer["sent_ts"], n)] -= transfer["cost"]
    expected = result.initial_capital + np.cumsum(cash_flow)
    for (_venue, market), added in qty.items():
        expected += np.cumsum(added) * closes[market]
    scale = result.initial_capital + sum(f.size * f.price for f in result.fills)
    np.testing.assert_allclose(result.equity_curve, expected, rtol=0, atol=1e-9 * scale)
    assert result.total_pnl == pytest.approx(
        sum(result.per_venue_pnl.values()), rel=1e-9, abs=1e-9 * scale
    )
    fees = sum(f.fee for f in result.fills)
    funding = sum(p[-1] for p in result.funding_payments)
    assert result.total_fees == pytest.approx(fees, abs=1e-9 * scale)
    assert result.funding_paid == pytest.approx(funding, abs=1e-9 * scale)


@SETTINGS
@given(scenarios())
def test_reduce_only_never_opens_or_flips_and_limits_never_fill_worse(s):
    strategy, result = _run(s)
    held = defaultdict(float)
    for fill in result.fills:
        key = (fill.venue, fill.market)
        signed = fill.size if fill.side == Side.LONG else -fill.size
        before = held[key]
        if fill.order_id in strategy.reduce_only:
            assert before != 0.0 and (before > 0) != (signed > 0), (fill, before)
            assert abs(signed) <= abs(before) * (1 + 1e-12), (fill, before)
        if fill.order_id in strategy.limits:
            side, price = strategy.limits[fill.order_id]
            if side == Side.LONG:
                assert fill.price <= price * (1 + 1e-15), (fill, price)
            else:
                assert fill.price >= price * (1 - 1e-15), (fill, price)
        after = before + signed
        held[key] = 0.0 if abs(after) <= 1e-12 * max(abs(before), abs(signed)) else after


def _comparable(result):
    out = result.to_dict()
    out.pop("logs")  # holds the wall-clock run time
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_same_inputs_and_seed_give_identical_results(s):
    first = _comparable(_run(s)[1])
    assert _comparable(_run(s)[1]) == first
    strategy = Scripted(s["script"])
    engine = BacktestEngine(
        strategy, fill_model=FillPipeline(latency_seed=11, base_latency_s=2 * RES,
                                          latency_jitter_s=RES),
        venues={"alt": ALT}, funding_rates=s["funding"],
    )
    once = _comparable(engine.run(s["data"]))
    assert _comparable(engine.run(s["data"])) == once  # the same engine run twice


class Observer(Strategy):
    """Records everything it can see; trades a little so positions and funding show."""

    name = "observer"

    def __init__(self, history_size):
        self.history_size = history_size
        self.seen = []

    def reset(self):
        self.seen = []

    def on_candle(self, candle, history, ctx=None):
        assert len(history) <= self.history_size
        assert all(bar.ts < candle.ts for bar in history)
        assert history.timestamps.size == 0 or history.timestamps[-1] < candle.ts
        assert ctx.timestamp == candle.ts and ctx.current_candle == candle
        other = ctx.get_candles("ETH", 10)
        assert other.timestamps.size == 0 or other.timestamps[-1] <= candle.ts
        view = (
            candle, history.closes.tolist(), history.timestamps.tolist(),
            other.closes.tolist(), ctx.get_funding_rates("SOL", 50),
            sorted(ctx.get_funding_by_venue("ETH", 50).items()),
            ctx.account, ctx.positions, ctx.get_orderbook("SOL"),
            [(o.order_id, o.status, o.filled_size) for o in ctx.pending_orders],
        )
        self.seen.append(repr(view))
        if len(self.seen) % 3 == 1:
            ctx.market_order("SOL", Side.LONG if len(self.seen) % 2 else Side.SHORT, 1.0)
            ctx.limit_order("ETH", Side.LONG, 0.5, candle.close)
        return Signal.HOLD


@SETTINGS
@given(scenarios(), st.data())
def test_nothing_after_the_current_bar_is_observable(s, data):
    n = len(s["data"]["SOL"])
    k = data.draw(st.integers(0, n - 1), label="last shared bar")
    close_k = T0 + k * RES + RES
    changed = {}
    for market, series in s["data"].items():
        cols = [series.timestamps, series.opens.copy(), series.highs.copy(),
                series.lows.copy(), series.closes.copy(), series.volumes.copy()]
        for col in cols[1:5]:
            col[k + 1:] *= 1.37
        cols[2][k + 1:] *= 1.01
        cols[5][k + 1:] += 7
        changed[market] = CandleSeries(*cols, market, RES, "binance")
    later = [f for f in s["funding"] if f.ts > close_k]
    moved = [FundingRate(f.market, f.ts, f.rate + 0.001, f.oracle_price, f.mark_price,
                         source=f.source) for f in later]
    early = [f for f in s["funding"] if f.ts <= close_k]
    books = [b for b in s["books"] if b.ts <= close_k]
    runs = []
    for candles, funding in ((s["data"], s["funding"]), (changed, early + moved)):
        observer = Observer(history_size=7)
        BacktestEngine(observer, fill_model=_model(s["model"]), funding_rates=funding,
                       orderbook_snapshots=books, history_size=7).run(candles)
        runs.append(observer.seen)
    assert runs[0][: k + 1] == runs[1][: k + 1]
