"""Exits exit: market orders execute on submission; cancel reaches resting orders only.

``close_position`` followed by ``cancel_all`` (the exit of the seed's v2 example and
of the ``flint new --v2`` template) must close the position, whatever the fill
model's latency, and cancel only the protective orders that rest.
"""

import math
import re
import textwrap

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.cli.main import cli
from flint.execution.fill_models import ClosePriceFill, FillPipeline, NextBarOpenFill
from flint.execution.margin import MarginEngine
from flint.models import OrderbookLevel, OrderbookSnapshot, OrderStatus, Side, Signal
from flint.store import FlintStore
from flint.strategy.base import Strategy
from flint.strategy.loader import load_user_strategy
from flint.testing.scripted import candles_from_rows as bars
from flint.testing.scripted import run_script

H = 3600

# The v2 example of the seed's SDK reference (python-sdk.md, "v2 — context style"), verbatim.
SEED_V2_ON_CANDLE = '''\
def on_candle(self, candle, history, ctx=None):
    if ctx is None or len(history) < 20: return Signal.HOLD

    from flint.indicators import rsi, atr
    r, volatility = rsi(history, 14), atr(history, 14)

    if r < 30 and not ctx.positions:
        ctx.market_order(candle.market, Side.LONG, size=1.0)
        ctx.stop_order(candle.market, Side.SHORT, size=1.0,
                       trigger_price=candle.close - 2 * volatility)
    elif r > 70 and ctx.positions:
        ctx.close_position(candle.market)
        ctx.cancel_all()

    return Signal.HOLD
'''

SEED_V2_FILE = f'''\
from flint.models import Side, Signal
from flint.strategy import Strategy


class SeedV2(Strategy):
    @property
    def name(self):
        return "seed-v2"

    def reset(self):
        pass

{textwrap.indent(SEED_V2_ON_CANDLE, "    ")}'''


# Sample store runs


@pytest.fixture(scope="module")
def sample_candles(tmp_path_factory):
    """Hourly SOL-PERP candles of binance from a ``flint data sample`` store (90 days)."""
    path = tmp_path_factory.mktemp("store") / "sample.duckdb"
    done = CliRunner().invoke(cli, ["data", "sample", "--days", "90", "--db", str(path)])
    assert done.exit_code == 0, done.output
    with FlintStore(path, read_only=True) as store:
        return store.query_candles("SOL-PERP", H, venue="binance")


class CloseSpy:
    """A strategy's ``ctx`` that remembers whether ``close_position`` placed an order."""

    def __init__(self, ctx):
        self._ctx = ctx
        self.closed = False

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def close_position(self, market, venue="default"):
        order_id = self._ctx.close_position(market, venue)
        self.closed = self.closed or bool(order_id)
        return order_id


class Watched(Strategy):
    """Runs ``inner``; per bar, the position it saw and whether it closed it."""

    name = "watched"

    def __init__(self, inner):
        self.inner = inner
        self.bars = []

    def reset(self):
        self.inner.reset()
        self.bars = []

    def on_candle(self, candle, history, ctx=None):
        held = ctx.position(candle.market)
        spy = CloseSpy(ctx)
        signal = self.inner.on_candle(candle, history, spy)
        self.bars.append((0.0 if held is None else held.size, spy.closed))
        return signal


def _order_number(order_id):
    return int(re.fullmatch(r"bt-(\d+)", order_id).group(1))


def trade_in_and_out(strategy, candles):
    """Backtest ``strategy``; check every exit flattens the position it was placed for.

    Returns the result and how many times the strategy closed a position itself.
    """
    watched = Watched(strategy)
    result = BacktestEngine(watched).run(candles)
    assert result.total_trades > 0, result.strategy_warnings
    closes = [i for i, (_, closed) in enumerate(watched.bars) if closed]
    for i in closes:
        if i + 1 < len(watched.bars):
            assert watched.bars[i + 1][0] == 0.0, f"closed on bar {i}, still open on the next"
    held, entry = 0.0, -1
    for fill in result.fills:
        signed = fill.size if fill.side == Side.LONG else -fill.size
        number = _order_number(fill.order_id)
        if held == 0.0:
            entry = number
        elif (held > 0) != (signed > 0):  # an exit: all of it, by an order of this position
            assert math.isclose(fill.size, abs(held), rel_tol=1e-9), (fill, held)
            assert number > entry, f"{fill.order_id} was placed before the position it closed"
            signed = -held
        held += signed
    return result, len(closes)


def test_the_seed_v2_example_opens_and_closes_positions_on_the_sample_store(sample_candles):
    strategy = load_user_strategy(SEED_V2_FILE, filename="seed_v2.py")
    result, closes = trade_in_and_out(strategy, sample_candles)
    assert closes > 0 and result.total_trades >= closes
    assert not [w for w in result.strategy_warnings if w.startswith("unfilled_orders")]


@pytest.mark.parametrize(
    ("flags", "params"),
    [([], {}), (["--v2"], {}), (["--v2"], {"overbought": 60.0})],
    ids=["v1", "v2", "v2-overbought-exits"],
)
def test_flint_new_templates_trade_in_and_out_on_the_sample_store(
    flags, params, sample_candles, tmp_path
):
    done = CliRunner().invoke(cli, ["new", "starter", *flags, "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    path = tmp_path / "starter.py"
    strategy = load_user_strategy(path.read_text(), params, filename=str(path))
    result, closes = trade_in_and_out(strategy, sample_candles)
    assert result.total_trades >= 10
    if params:  # exits on the overbought signal too, not only at the stop or the target
        assert closes >= 2


# Scripted runs


FLAT = bars([(100, 101, 99, 100)] * 8)


def run(actions, candles=FLAT, model=None, **kw):
    return run_script(actions, candles, model, **kw)


def signed_sizes(result):
    """The position after each fill (one market)."""
    held, out = 0.0, []
    for fill in result.fills:
        held += fill.size if fill.side == Side.LONG else -fill.size
        out.append(0.0 if abs(held) < 1e-9 else held)
    return out


def warnings(result):
    """Warnings about orders (not about the run's length or its missing funding)."""
    return [w for w in result.strategy_warnings
            if not w.startswith(("low_trade_count", "no_funding_data"))]


def statuses(ctx):
    return {o.order_id: o.status for o in ctx.pending_orders}


MODELS = {
    "close": ClosePriceFill,
    "latency": lambda: FillPipeline(base_latency_s=1.5 * H, latency_jitter_s=0, fallback_bps=0),
    "next_open": NextBarOpenFill,
}


@pytest.mark.parametrize("model", MODELS)
def test_a_market_order_executes_whatever_cancel_and_cancel_all_say(model):
    def place(ctx, c):
        order = ctx.market_order("SOL", Side.LONG, 2)
        ctx.limit_order("SOL", Side.LONG, 1, 50)
        return order, ctx.cancel(order), ctx.cancel_all(), statuses(ctx)

    strategy, result = run({1: place, 2: lambda ctx, c: ctx.cancel("bt-0")}, model=MODELS[model]())
    order, cancelled, count, left = strategy.out[1]
    assert (order, cancelled, count) == ("bt-0", False, 1)  # the limit was cancelled
    assert left == {"bt-0": OrderStatus.PENDING}  # executing: listed, not cancellable
    assert strategy.out[2] is False
    assert [(f.order_id, f.size) for f in result.fills] == [("bt-0", 2)]
    assert result.open_positions[0].size == 2


@pytest.mark.parametrize("model", MODELS)
def test_close_position_then_cancel_all_closes_and_cancels_the_protection(model):
    def enter(ctx, c):
        ctx.market_order("SOL", Side.LONG, 2)
        ctx.stop_order("SOL", Side.SHORT, 2, 95)
        ctx.take_profit_order("SOL", Side.SHORT, 2, 105)

    def leave(ctx, c):
        return ctx.close_position("SOL"), ctx.cancel_all()

    candles = bars([(100, 101, 99, 100)] * 5 + [(100, 110, 90, 100)] * 3)
    strategy, result = run({0: enter, 3: leave, 7: lambda ctx, c: ctx.positions},
                           candles, MODELS[model]())
    assert strategy.out[3] == ("bt-3", 2)  # the close stands; the stop and target go
    assert [(f.order_id, f.side) for f in result.fills] == [
        ("bt-0", Side.LONG), ("bt-3", Side.SHORT)]
    assert strategy.out[7] == [] and result.open_positions == []
    assert result.total_trades == 1


def test_cancel_of_a_filled_order_is_a_no_op_and_never_unfills():
    def enter(ctx, c):
        order = ctx.market_order("SOL", Side.LONG, 3)  # fills at this bar's close
        return order, ctx.cancel(order)

    def after(ctx, c):
        ids = ("bt-0", "bt-1", "bt-2", "nope")
        return [ctx.cancel(i) for i in ids], ctx.cancel_all(), ctx.position("SOL").size

    candles = bars([(100, 101, 99, 100)] * 2 + [(100, 101, 96, 100)] + [(100, 101, 99, 100)] * 3)
    strategy, result = run({
        0: enter,
        1: lambda ctx, c: (ctx.limit_order("SOL", Side.LONG, 1, 97),  # fills on bar 2
                           ctx.stop_order("SOL", Side.SHORT, 1, 96.5)),  # triggers on bar 2
        3: after,
    }, candles)
    assert strategy.out[0] == ("bt-0", False)
    assert strategy.out[3] == ([False, False, False, False], 0, 3)
    assert [(f.order_id, f.side, f.size) for f in result.fills] == [
        ("bt-0", Side.LONG, 3), ("bt-2", Side.SHORT, 1), ("bt-1", Side.LONG, 1)]
    assert result.open_positions[0].size == 3


def test_close_position_while_a_close_is_in_flight_neither_double_closes_nor_flips():
    model = FillPipeline(base_latency_s=1.5 * H, latency_jitter_s=0, fallback_bps=0)

    def leave(ctx, c):
        return ctx.close_position("SOL"), ctx.cancel_all(), statuses(ctx)

    strategy, result = run({
        0: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 2),  # fills on bar 1
        2: leave,  # in flight until bar 3's close
        3: leave,  # the position still shows: a second close goes out
        4: leave,  # flat: nothing to close
        5: lambda ctx, c: (ctx.positions, ctx.pending_orders),
    }, model=model)
    assert strategy.out[2] == ("bt-1", 0, {"bt-1": OrderStatus.PENDING})
    assert strategy.out[3] == ("bt-2", 0, {"bt-1": OrderStatus.PENDING,
                                           "bt-2": OrderStatus.PENDING})
    assert strategy.out[4] == (None, 0, {"bt-2": OrderStatus.PENDING})
    assert strategy.out[5] == ([], [])
    assert [(f.order_id, f.side, f.size) for f in result.fills] == [
        ("bt-0", Side.LONG, 2), ("bt-1", Side.SHORT, 2)]  # bt-2 found nothing to reduce
    assert result.open_positions == [] and warnings(result) == []


def test_close_of_a_flat_position_places_nothing():
    model = FillPipeline(base_latency_s=1.5 * H, latency_jitter_s=0, fallback_bps=0)

    def close(ctx, c):
        return ctx.close_position("SOL"), ctx.cancel_all(), statuses(ctx)

    strategy, result = run({
        0: close,  # nothing held, nothing on its way
        1: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 2),  # arrives on bar 2
        2: close,  # flat until the entry arrives: nothing to close, the entry goes on
        3: lambda ctx, c: ctx.position("SOL").size,
    }, model=model)
    assert strategy.out[0] == (None, 0, {})
    assert strategy.out[2] == (None, 0, {"bt-0": OrderStatus.PENDING})
    assert strategy.out[3] == 2
    assert [f.order_id for f in result.fills] == ["bt-0"] and warnings(result) == []


def test_reduce_only_after_a_partial_fill_never_flips_or_grows():
    # a thin book on bars 0 and 1: 1 + 3 units on the ask, 1 + 1 on the bid
    bids = (OrderbookLevel(99, 1.0), OrderbookLevel(98, 1.0))
    asks = (OrderbookLevel(101, 1.0), OrderbookLevel(102, 3.0))
    books = [OrderbookSnapshot("SOL", ts, bids, asks) for ts in (0, H)]
    model = FillPipeline(latency_enabled=False)

    def enter(ctx, c):  # asks 10, the book holds 4: the position is 4
        ctx.market_order("SOL", Side.LONG, 10)
        return ctx.stop_order("SOL", Side.SHORT, 10, 90)  # sized for the 10 asked

    def trim(ctx, c):  # sells 2 of 4 from the book; the other 2 rest reduce-only at 98.5
        return ctx.market_order("SOL", Side.SHORT, 10, reduce_only=True,
                                time_in_force="GTC")

    candles = bars([(100, 101, 99, 100), (100, 101, 99, 100),
                    (88, 89, 85, 86),  # gaps through the stop: it sells the 2 left
                    (86, 110, 86, 105),  # reaches the remainder's 98.5: nothing to reduce
                    (105, 106, 104, 105)])
    strategy, result = run({0: enter, 1: trim, 2: lambda ctx, c: statuses(ctx),
                            4: lambda ctx, c: ctx.pending_orders},
                           candles, model, orderbook_snapshots=books)
    assert strategy.out[1] == "bt-2"
    assert strategy.out[2] == {"bt-2-gtc": OrderStatus.PENDING}
    assert [(f.order_id, f.size) for f in result.fills] == [("bt-0", 4), ("bt-2", 2), ("bt-1", 2)]
    assert signed_sizes(result) == [4.0, 2.0, 0.0]
    assert strategy.out[4] == [] and result.open_positions == []


def test_liquidation_cancels_resting_orders_and_lets_executing_ones_arrive():
    # v1 signals, shorting allowed, orders 1.5 bars in flight: the BUY of bar 2 (close
    # the short, open a long) is on its way when bar 3 liquidates the short
    class Signals(Strategy):
        name = "signals"

        def reset(self):
            self.bar = -1

        def on_candle(self, candle, history):
            self.bar += 1
            return {0: Signal.SELL, 2: Signal.BUY, 5: Signal.SELL}.get(self.bar, Signal.HOLD)

    candles = bars([(100, 101, 99, 100)] * 3 + [(100, 200, 99, 195)] + [(195, 196, 194, 195)] * 5)
    model = FillPipeline(base_latency_s=1.5 * H, latency_jitter_s=0, fallback_bps=0)
    result = BacktestEngine(Signals(), fill_model=model, margin_engine=MarginEngine(),
                            allow_short=True).run(candles)
    # the liquidation, then the BUY's long, then the SELL of bar 5 (close, open short)
    assert [(f.order_id, f.side, f.ts // H) for f in result.fills] == [
        ("bt-0", Side.SHORT, 1), ("liq-1", Side.LONG, 3), ("bt-2", Side.LONG, 3),
        ("bt-3", Side.SHORT, 6), ("bt-4", Side.SHORT, 6)]


# Invariants


@st.composite
def exits(draw):
    """A market, a latency, an entry with a stop and a target, then exits from bar b on."""
    n = draw(st.integers(4, 30))
    closes = [100.0]
    for _ in range(n - 1):
        closes.append(closes[-1] * (1 + draw(st.floats(-0.05, 0.05))))
    rows = []
    for i, close in enumerate(closes):
        open_ = closes[i - 1] if i else close
        wick = draw(st.floats(0, 0.04))
        rows.append((open_, max(open_, close) * (1 + wick), min(open_, close) * (1 - wick),
                     close))
    latency = draw(st.sampled_from([None, 0.0, 0.4 * H, H, 1.5 * H, 3.2 * H]))
    jitter = draw(st.floats(0, 0.5 * H)) if latency else 0.0
    entry = draw(st.integers(0, n - 2))
    leave = draw(st.integers(entry, n - 1))
    stop = draw(st.floats(0.8, 0.999))
    target = draw(st.floats(1.001, 1.2))
    return rows, latency, jitter, entry, leave, stop, target


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exits())
def test_after_close_position_and_cancel_all_the_position_is_flat_once_the_close_fills(case):
    rows, latency, jitter, entry, leave, stop, target = case
    if latency is None:
        model = NextBarOpenFill()
        delay = H
    else:
        model = FillPipeline(base_latency_s=latency, latency_jitter_s=jitter, fallback_bps=0)
        delay = latency + jitter
    # data long enough for the entry and the close to arrive
    tail = math.ceil(delay / H) + 1
    candles = bars(rows + [rows[-1][3:] * 4] * (2 * tail))
    closes = {}

    class Exit(Strategy):
        name = "exit"

        def reset(self):
            self.bar = -1

        def on_candle(self, candle, history, ctx):
            self.bar += 1
            if self.bar == entry:
                ctx.market_order("SOL", Side.LONG, 1.0)
                ctx.stop_order("SOL", Side.SHORT, 1.0, candle.close * stop)
                ctx.take_profit_order("SOL", Side.SHORT, 1.0, candle.close * target)
            elif self.bar >= leave and ctx.position("SOL") is not None:
                order = ctx.close_position("SOL")
                resting = sum(o.order_type != "market" for o in ctx.pending_orders)
                assert ctx.cancel_all() == resting
                closes[order] = self.bar
            return Signal.HOLD

    result = BacktestEngine(Exit(), fill_model=model).run(candles)
    assert all(size >= 0.0 for size in signed_sizes(result))  # never flipped short
    assert len(result.fills) <= 2  # the entry, then one exit
    if closes:
        assert result.open_positions == []
        (exit_fill,) = result.fills[1:]
        if exit_fill.order_id in closes:  # not the stop or the target, which may come first
            placed = closes[exit_fill.order_id]
            assert exit_fill.ts <= (placed + 1 + tail) * H
