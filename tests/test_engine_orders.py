"""Orders in a backtest: fill models, latency, time in force, limits, stops, reduce-only."""

import pytest

from flint.backtest.engine import BacktestEngine
from flint.execution.context import ExecutionContext
from flint.execution.fill_models import (
    ClosePriceFill,
    FillModel,
    FillPipeline,
    FillQuote,
    NextBarOpenFill,
    SlippageFill,
    VenueTerms,
)
from flint.models import (
    OrderbookLevel,
    OrderbookSnapshot,
    OrderStatus,
    Side,
    Signal,
    TimeInForce,
)
from flint.plugins import get_fill_model
from flint.strategy.base import Strategy
from flint.testing.scripted import ScriptedStrategy as Script
from flint.testing.scripted import candles_from_rows as bars
from flint.testing.scripted import run_script

H = 3600


FLAT = bars([(100, 101, 99, 100)] * 6)


def run(actions, candles=FLAT, model=None, **kw):
    return run_script(actions, candles, model, **kw)


def buy(size, **kw):
    return lambda ctx, c: ctx.market_order("SOL", Side.LONG, size, **kw)


def test_close_price_fill_fills_at_the_bar_close_with_the_default_venue_fee():
    candles = bars([(100, 101, 99, 100), (100, 106, 99, 105), (105, 106, 100, 101)])
    _, result = run({1: buy(2)}, candles)
    (fill,) = result.fills
    assert (fill.price, fill.size, fill.ts, fill.is_maker) == (105, 2, H, False)
    assert fill.fee == pytest.approx(2 * 105 * 0.001)
    assert result.final_equity == pytest.approx(10_000 - fill.fee + (101 - 105) * 2)


def test_next_bar_open_fill_uses_the_next_bars_open_and_warns_past_the_end():
    candles = bars([(100, 101, 99, 100), (100, 106, 99, 105), (107, 108, 100, 101)])
    _, result = run({1: buy(1), 2: buy(1)}, candles, NextBarOpenFill())
    (fill,) = result.fills
    assert (fill.price, fill.ts) == (107, 2 * H)
    assert any(w.startswith("unfilled_orders: 1 market order") for w in result.strategy_warnings)


def test_slippage_fill_moves_the_close_against_the_order():
    _, result = run({1: buy(1), 3: lambda ctx, c: ctx.close_position("SOL")},
                    model=SlippageFill(20))
    assert [f.price for f in result.fills] == pytest.approx([100 * 1.002, 100 * 0.998])
    assert [f.impact_bps for f in result.fills] == [20, 20]


def test_pipeline_impact_tiers_book_then_square_root_then_flat():
    candles = bars([(100, 101, 99, 100, 400.0)] * 3 + [(100, 101, 99, 100, 0.0)] * 3)
    asks = (OrderbookLevel(101, 1.0), OrderbookLevel(102, 3.0))
    bids = (OrderbookLevel(99, 5.0),)
    book = OrderbookSnapshot("SOL", 0, bids, asks)  # mid 100, fresh for one bar (1 h)
    model = FillPipeline(impact_coefficient=0.01, fallback_bps=8, latency_enabled=False)
    _, result = run({0: buy(2), 2: buy(4), 4: buy(1)}, candles, model,
                    orderbook_snapshots=[book])
    walked, root, flat = result.fills
    assert walked.price == pytest.approx(100 * (101 * 1 + 102 * 1) / 2 / 100)
    assert root.price == pytest.approx(100 * (1 + 0.01 * (4 / 400) ** 0.5))
    assert root.impact_bps == pytest.approx(10.0)
    assert flat.price == pytest.approx(100 * 1.0008) and flat.impact_bps == 8


@pytest.mark.parametrize(
    ("tif", "filled", "status", "rests"),
    [
        (TimeInForce.IOC, 4.0, OrderStatus.PARTIALLY_FILLED, False),
        (TimeInForce.FOK, 0.0, OrderStatus.CANCELLED, False),
        (TimeInForce.GTC, 4.0, OrderStatus.PARTIALLY_FILLED, True),
    ],
)
def test_a_thin_book_fills_by_time_in_force(tif, filled, status, rests):
    book = OrderbookSnapshot("SOL", 0, (OrderbookLevel(99, 1),),
                             (OrderbookLevel(101, 1.0), OrderbookLevel(102, 3.0)))
    candles = bars([(100, 101, 99, 100), (103, 104, 102.5, 103), (100, 101, 95, 96)])
    model = FillPipeline(latency_enabled=False)
    strategy, result = run(
        {0: buy(10, time_in_force=tif), 1: lambda ctx, c: ctx.pending_orders}, candles, model,
        orderbook_snapshots=[book],
    )
    got = sum(f.size for f in result.fills if f.order_id == "bt-0")
    assert got == pytest.approx(filled)
    pending = strategy.out[1]
    if rests:  # the remainder rests as a limit at the walk's price, bar 2 reaches it
        (rest,) = pending
        vwap = (101 + 3 * 102) / 4
        assert (rest.order_id, rest.size, rest.price) == ("bt-0-gtc", 6, pytest.approx(vwap))
        (later,) = [f for f in result.fills if f.order_id == "bt-0-gtc"]
        assert (later.price, later.size, later.is_maker) == (pytest.approx(vwap), 6, True)
    else:
        assert pending == []


def test_latency_longer_than_a_bar_fills_on_a_later_bar_never_dropped():
    candles = bars([(100 + i, 101 + i, 99 + i, 100 + i) for i in range(6)], res=60)
    model = FillPipeline(base_latency_s=150, latency_jitter_s=0, fallback_bps=0)
    strategy, result = run({1: buy(1), 2: lambda ctx, c: ctx.pending_orders}, candles, model)
    (fill,) = result.fills
    # placed on bar 1 (stamped at its open, 60 s): due at 210 s, i.e. at bar 3's close (240 s)
    assert (fill.ts, fill.price, fill.latency_ms) == (180, 103, 150_000)
    assert [o.order_id for o in strategy.out[2]] == ["bt-0"]


def test_latency_jitter_is_seeded():
    candles = bars([(100, 101, 99, 100)] * 30, res=1)

    def latencies(seed):
        actions = {i: buy(1) for i in range(0, 20, 2)}
        model = FillPipeline(base_latency_s=3, latency_jitter_s=2, latency_seed=seed)
        return [f.latency_ms for f in run(actions, candles, model)[1].fills]

    assert latencies(1) == latencies(1) != latencies(2)
    assert all(1000 <= x <= 5000 for x in latencies(1))


def test_resting_limits_fill_at_their_price_as_maker_or_at_a_gapped_open_as_taker():
    candles = bars([(100, 101, 99, 100), (100, 101, 97, 99), (96, 97, 95, 96)])
    limit = lambda price: lambda ctx, c: ctx.limit_order("SOL", Side.LONG, 1, price)  # noqa: E731
    _, result = run({0: limit(98), 1: limit(97.5)}, candles)
    first, second = result.fills
    assert (first.price, first.ts, first.is_maker) == (98, H, True)
    assert first.fee == pytest.approx(98 * 0.001)  # fee_rate is the default venue's maker too
    assert (second.price, second.ts, second.is_maker) == (96, 2 * H, False)


def test_a_limit_that_is_never_reached_stays_open_and_can_be_cancelled():
    def place(ctx, c):
        return ctx.limit_order("SOL", Side.SHORT, 1, 150)

    strategy, result = run({
        0: place, 1: place, 2: lambda ctx, c: [o.order_id for o in ctx.pending_orders],
        3: lambda ctx, c: (ctx.cancel("bt-0"), ctx.cancel("bt-0"), ctx.cancel_all()),
        4: lambda ctx, c: ctx.pending_orders,
    })
    assert result.fills == []
    assert strategy.out[2] == ["bt-0", "bt-1"]
    assert strategy.out[3] == (True, False, 1)
    assert strategy.out[4] == []


def test_stops_and_take_profits_trigger_on_the_range_and_gaps_fill_at_the_open():
    candles = bars([(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 94, 95),
                    (90, 91, 88, 89), (89, 112, 88, 111)])

    def protect(ctx, c):
        ctx.market_order("SOL", Side.LONG, 2)
        return ctx.stop_order("SOL", Side.SHORT, 1, 96), ctx.stop_order("SOL", Side.SHORT, 1, 92)

    _, result = run({0: protect, 3: lambda ctx, c: ctx.take_profit_order(
        "SOL", Side.LONG, 5, 100, reduce_only=False)}, candles)
    _, stop_a, stop_b, tp = result.fills
    assert (stop_a.price, stop_a.ts) == (96, 2 * H)  # low 94 crossed 96
    assert (stop_b.price, stop_b.ts) == (90, 3 * H)  # gapped open 90, through 92
    assert (tp.price, tp.side, tp.size) == (89, Side.LONG, 5)  # buy TP: low reached 100 at open
    assert result.open_positions[0].size == 5


def test_reduce_only_orders_clip_to_the_position_and_never_open():
    _, result = run({
        0: buy(1, reduce_only=True),
        1: buy(3),
        2: lambda ctx, c: ctx.market_order("SOL", Side.SHORT, 10, reduce_only=True),
        3: lambda ctx, c: ctx.stop_order("SOL", Side.SHORT, 1, 150),
    }, bars([(100, 101, 99, 100)] * 3 + [(100, 200, 99, 100)] * 2))
    assert [(f.side, f.size) for f in result.fills] == [(Side.LONG, 3), (Side.SHORT, 3)]
    assert result.fills[1].is_partial  # asked 10, the position held 3
    assert result.open_positions == []


def test_order_arguments_are_checked():
    def bad(ctx, c):
        with pytest.raises(ValueError, match="size must be a finite number > 0"):
            ctx.market_order("SOL", Side.LONG, 0)
        with pytest.raises(ValueError, match=r"side must be Side\.LONG or Side\.SHORT"):
            ctx.market_order("SOL", "up", 1)
        with pytest.raises(ValueError, match="price must be a finite number > 0"):
            ctx.limit_order("SOL", Side.LONG, 1, float("nan"))
        with pytest.raises(ValueError, match="no candles for market 'BTC'; markets with data: SOL"):
            ctx.market_order("BTC", Side.LONG, 1)
        with pytest.raises(KeyError, match="unknown venue config 'nowhere'"):
            ctx.market_order("SOL", Side.LONG, 1, venue="nowhere")
        return True

    assert run({0: bad})[0].out[0] is True


class HalfFill(FillModel):
    """A plugin-style model: 1% worse than the base, half the size."""

    def quote(self, side, size, base_price, bar, book, terms):
        return FillQuote(base_price * (1 + side * 0.01), size / 2, 100.0)


def test_a_pure_python_fill_model_subclass_runs_in_the_engine():
    _, result = run({0: buy(4)}, model=HalfFill())
    (fill,) = result.fills
    assert (fill.price, fill.size, fill.impact_bps, fill.is_partial) == (101, 2, 100, True)


def test_fill_models_are_registered_plugins_and_fill_model_instances():
    assert isinstance(get_fill_model("close"), ClosePriceFill)
    quote = get_fill_model("slippage", slippage_bps=3).quote(
        1, 1.0, 100.0, FLAT[0], None, VenueTerms("x", 0.0, 0.0))
    assert isinstance(quote, FillQuote) and quote.price == pytest.approx(100.03)
    pipeline = get_fill_model("pipeline", latency_seed=4, fallback_bps=2)
    assert isinstance(pipeline, FillPipeline) and isinstance(pipeline, FillModel)
    assert isinstance(get_fill_model("next_bar_open"), NextBarOpenFill)
    with pytest.raises(ValueError, match="fallback_bps must be >= 0"):
        FillPipeline(fallback_bps=-1)
    with pytest.raises(TypeError, match="fill_model must be a fill model"):
        BacktestEngine(Script({}), fill_model=object())


def test_ctx_is_an_execution_context_and_signal_only_strategies_get_two_arguments():
    seen = []

    class V2(Strategy):
        name = "v2"

        def reset(self):
            pass

        def on_candle(self, candle, history, ctx=None):
            seen.append(isinstance(ctx, ExecutionContext))
            return Signal.HOLD

    class V1(Strategy):
        name = "v1"

        def reset(self):
            pass

        def on_candle(self, candle, history):
            seen.append(len(history))
            return Signal.HOLD

    BacktestEngine(V2()).run(FLAT[:2])
    BacktestEngine(V1()).run(FLAT[:2])
    assert seen == [True, True, 0, 1]
