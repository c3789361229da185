"""The risk engine in a backtest: the gate every order passes, the kill switch, the states."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, Side, Signal
from flint.risk import (
    MaxDrawdownCircuitBreaker,
    MaxNotionalPerOrder,
    MaxOpenPositions,
    MaxPositionSize,
    RiskEngine,
    TradingState,
)
from flint.strategy.base import Strategy

H = 3600


def bars(closes, market="SOL"):
    return [Candle(i * H, c, c * 1.001, c * 0.999, c, 100.0, market, H, "binance")
            for i, c in enumerate(closes)]


def run(strategy, candles, risk, **options):
    engine = BacktestEngine(strategy, initial_capital=10_000.0, fill_model=ClosePriceFill(),
                            risk=risk, **options)
    return engine.run(candles)


class Script(Strategy):
    """Runs ``steps[bar](ctx, candle)`` and keeps what each returned."""

    name = "script"

    def __init__(self, steps):
        self.steps = steps
        self.seen = {}

    def reset(self):
        self.seen = {}
        self.bar = -1

    def on_candle(self, candle, history, ctx):
        self.bar += 1
        step = self.steps.get(self.bar)
        if step is not None:
            self.seen[self.bar] = step(ctx, candle)
        return Signal.HOLD


def test_an_order_above_the_notional_limit_is_refused_with_its_reason():
    strategy = Script({
        0: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 30.0),   # 3000 > 2000
        1: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 10.0),   # 1000
    })
    result = run(strategy, bars([100.0] * 4), RiskEngine([MaxNotionalPerOrder(2_000)]))
    assert strategy.seen[0] == "" and strategy.seen[1] != ""
    assert [f.size for f in result.fills] == [10.0]
    [warning] = [w for w in result.strategy_warnings if w.startswith("risk_denied")]
    assert "NOTIONAL_EXCEEDS_MAX_PER_ORDER" in warning and "3000.00 > 2000" in warning


def test_v1_signals_pass_the_same_gate_priced_at_all_the_cash():
    class Buy(Strategy):
        name = "buy"

        def reset(self):
            pass

        def on_candle(self, candle, history, ctx=None):
            return Signal.BUY

    candles = bars([100.0, 101.0, 102.0])
    refused = run(Buy(), candles, RiskEngine([MaxNotionalPerOrder(5_000)]))
    assert refused.fills == [] and any("NOTIONAL" in w for w in refused.strategy_warnings)
    allowed = run(Buy(), candles, RiskEngine([MaxNotionalPerOrder(20_000)]))
    assert len(allowed.fills) == 1


def test_the_kill_switch_halts_cancels_and_flattens_and_closes_still_pass():
    strategy = Script({
        0: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 5.0),
        1: lambda ctx, c: ctx.limit_order("SOL", Side.LONG, 1.0, 50.0),
        2: lambda ctx, c: (ctx.kill("test"), ctx.trading_state, len(ctx.pending_orders)),
        3: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 1.0),
        4: lambda ctx, c: (ctx.resume(), ctx.market_order("SOL", Side.LONG, 1.0)),
    })
    result = run(strategy, bars([100.0] * 6), None)
    _, state, pending = strategy.seen[2]
    assert state is TradingState.HALTED
    assert pending == 1  # the reduce-only close on its way; the limit order is cancelled
    assert strategy.seen[3] == ""  # halted: a new entry is refused
    assert strategy.seen[4][1] != ""  # resumed
    sides = [(f.side, f.size) for f in result.fills]
    assert sides == [(Side.LONG, 5.0), (Side.SHORT, 5.0), (Side.LONG, 1.0)]
    assert any(w.startswith("kill_switch: test") for w in result.strategy_warnings)


def test_a_drawdown_trips_reducing_each_bar_and_only_reductions_pass():
    closes = [100.0, 100.0, 80.0, 80.0, 80.0]
    strategy = Script({
        0: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 50.0),
        3: lambda ctx, c: (ctx.trading_state, ctx.market_order("SOL", Side.LONG, 1.0),
                           ctx.close_position("SOL")),
    })
    result = run(strategy, bars(closes), RiskEngine([MaxDrawdownCircuitBreaker(0.05)]))
    state, entry, close = strategy.seen[3]
    assert state is TradingState.REDUCING and entry == "" and close
    assert result.fills[-1].side is Side.SHORT and result.fills[-1].size == 50.0


def test_each_run_starts_from_the_risk_engines_given_state():
    risk = RiskEngine([MaxDrawdownCircuitBreaker(0.05)])
    strategy = Script({0: lambda ctx, c: ctx.market_order("SOL", Side.LONG, 50.0),
                       3: lambda ctx, c: ctx.trading_state})
    engine = BacktestEngine(strategy, initial_capital=10_000.0, fill_model=ClosePriceFill(),
                            risk=risk)
    first = engine.run(bars([100.0, 100.0, 80.0, 80.0]))
    second = engine.run(bars([100.0, 100.0, 80.0, 80.0]))
    assert strategy.seen[3] is TradingState.REDUCING
    assert first.fills == second.fills


orders = st.lists(
    st.tuples(st.integers(0, 9), st.sampled_from(["SOL", "ETH", "BTC"]),
              st.sampled_from([Side.LONG, Side.SHORT]), st.floats(0.1, 40.0),
              st.booleans()),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(orders, st.floats(500.0, 5_000.0), st.floats(1_000.0, 8_000.0), st.integers(1, 2))
def test_no_accepted_order_breaks_a_limit_and_reductions_always_pass(
    stream, max_order, max_position, max_markets
):
    """Random order streams: every accepted entry keeps each limit at the moment it is
    sent; every reduce-only order is accepted."""
    closes = {"SOL": 100.0, "ETH": 50.0, "BTC": 200.0}
    candles = {f"binance:{m}": bars([c] * 10, m) for m, c in closes.items()}
    risk = RiskEngine([MaxNotionalPerOrder(max_order), MaxPositionSize(max_position),
                       MaxOpenPositions(max_markets)])
    breaches = []

    class Random(Strategy):
        name = "random"

        def reset(self):
            self.bar = -1

        def on_candle(self, candle, history, ctx):
            self.bar += 1
            for bar, market, side, size, reduce in stream:
                if bar != self.bar:
                    continue
                before = {p.market: p.size * p.side.sign for p in ctx.positions}
                pending = [o for o in ctx.pending_orders if not o.reduce_only]
                oid = ctx.market_order(market, side, size, reduce_only=reduce,
                                       venue="binance")
                if reduce:
                    if oid == "":
                        breaches.append(("reduce-only refused", market))
                    continue
                if oid == "":
                    continue
                notional = size * closes[market]
                worst = abs(before.get(market, 0.0) + size * side.sign) * closes[market]
                held = set(before) | {o.market for o in pending}
                if notional > max_order * (1 + 1e-9):
                    breaches.append(("notional", market, notional))
                if worst > max_position * (1 + 1e-9) + sum(
                        o.size * closes[o.market] for o in pending if o.market == market):
                    breaches.append(("position", market, worst))
                if market not in held and len(held) >= max_markets:
                    breaches.append(("markets", market, held))
            return Signal.HOLD

    result = BacktestEngine(Random(), initial_capital=100_000.0,
                            fill_model=ClosePriceFill(), risk=risk).run(candles)
    assert breaches == []
    assert all(math.isfinite(v) for v in result.equity_curve)


STRATEGY_FILE = '''\
from flint.models import Side, Signal
from flint.strategy import Strategy


class Entries(Strategy):
    name = "entries"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx):
        if ctx.pending_orders:
            return Signal.HOLD
        if ctx.positions:
            ctx.close_position(candle.market)
        else:
            ctx.market_order(candle.market, Side.LONG, 5.0)
        return Signal.HOLD
'''


def test_flint_backtest_risk_applies_the_guards_of_flint_yaml(tmp_path, monkeypatch):
    """`--risk` checks orders with flint.yaml's guards, for built-ins and sandboxed files."""
    import re

    from click.testing import CliRunner

    from flint.cli.main import cli

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    sample = runner.invoke(cli, ["data", "sample", "--db", "s.duckdb", "--days", "10"])
    assert sample.exit_code == 0, sample.output
    (tmp_path / "flint.yaml").write_text("risk_max_notional_per_order: 100\n")
    (tmp_path / "entries.py").write_text(STRATEGY_FILE)
    from importlib.util import find_spec

    strategies = ["entries.py"] + (["ma_crossover"] if find_spec("flint_strategies") else [])
    for strategy in strategies:
        args = ["backtest", strategy, "--db", "s.duckdb", "--venue", "binance", "--no-journal"]
        free = runner.invoke(cli, args, catch_exceptions=False)
        guarded = runner.invoke(cli, [*args, "--risk"], catch_exceptions=False)
        assert free.exit_code == guarded.exit_code == 0, guarded.output
        trades = [int(re.search(r"trades\W+(\d+)", out).group(1))
                  for out in (free.output, guarded.output)]
        assert trades[0] > 0 and trades[1] == 0, (strategy, trades)
        assert "risk_denied: NOTIONAL_EXCEEDS_MAX_PER_ORDER" in guarded.output
