"""The engine's public API: inputs, v1 signals, ctx data getters, results, limits."""

import json
import math

import numpy as np
import pytest

from flint.analytics.metrics import bar_returns, max_drawdown, sharpe_ratio
from flint.backtest.engine import BacktestEngine, BacktestResult, BacktestTimeoutError
from flint.execution.fill_models import ClosePriceFill, FillPipeline
from flint.models import (
    Candle,
    CandleSeries,
    FundingRate,
    OpenInterest,
    OraclePrice,
    OrderbookLevel,
    OrderbookSnapshot,
    Side,
    Signal,
)
from flint.strategy.base import Strategy
from flint_core.venues import DEFAULT_VENUE

H = 3600
VENUES = {"hyperliquid": DEFAULT_VENUE.merged({"name": "hyperliquid"})}


def bars(closes, market="SOL", venue="binance", res=H):
    return [Candle(i * res, c, c + 1, c - 1, c, 100.0, market, res, venue)
            for i, c in enumerate(closes)]


class Signals(Strategy):
    """Returns ``signals[bar]`` (HOLD otherwise); counts resets."""

    name = "signals"
    resets = 0

    def __init__(self, signals):
        self.signals = signals

    def reset(self):
        Signals.resets += 1
        self.bar = -1

    def on_candle(self, candle, history):
        self.bar += 1
        return self.signals.get(self.bar, Signal.HOLD)


def run_signals(signals, closes, **kw):
    """v1 signals on candles with no venue, where ``fee_rate`` is the fee."""
    kw.setdefault("fill_model", ClosePriceFill())
    return BacktestEngine(Signals(signals), fee_rate=0.001, **kw).run(
        bars(closes, venue="default")
    )


def test_v1_buy_goes_all_in_and_sell_closes():
    result = run_signals({1: Signal.BUY, 2: Signal.BUY, 3: Signal.SELL, 4: Signal.SELL},
                         [100, 100, 110, 121, 100])
    buy, sell = result.fills
    assert buy.price == 100 and buy.size == pytest.approx(10_000 / (100 * 1.001))
    assert buy.size * buy.price + buy.fee == pytest.approx(10_000)  # all the cash
    assert sell.price == 121 and sell.size == buy.size
    assert result.positions[0].pnl == pytest.approx(21 * buy.size)
    assert result.final_equity == pytest.approx(10_000 - buy.fee + 21 * buy.size - sell.fee)
    assert (result.total_trades, result.winning_trades, result.win_rate) == (1, 1, 1.0)


def test_v1_with_allow_short_flips_on_each_signal():
    result = run_signals({1: Signal.SELL, 3: Signal.BUY}, [100, 100, 90, 80, 80],
                         allow_short=True)
    short, cover, long_ = result.fills
    assert (short.side, cover.side, long_.side) == (Side.SHORT, Side.LONG, Side.LONG)
    assert cover.size == short.size
    cash_after_cover = 10_000 - short.fee + 20 * short.size - cover.fee
    assert long_.size == pytest.approx(cash_after_cover / (80 * 1.001))


def test_a_signal_waits_while_the_previous_signals_order_is_in_flight():
    model = FillPipeline(base_latency_s=2.5 * H, latency_jitter_s=0, fallback_bps=0)
    result = run_signals({0: Signal.BUY, 1: Signal.BUY, 2: Signal.BUY}, [100] * 5,
                         fill_model=model)
    assert len(result.fills) == 1 and result.fills[0].ts == 2 * H


def test_a_bad_signal_is_an_error_naming_it():
    with pytest.raises(TypeError, match=r"must return a Signal .* got 'moon'"):
        run_signals({0: "moon"}, [100])


def test_reset_runs_before_every_run():
    before = Signals.resets
    engine = BacktestEngine(Signals({}))
    engine.run(bars([10, 20]))
    engine.run(bars([10, 20]))
    assert Signals.resets == before + 2


def test_max_runtime_stops_a_runaway_run_with_a_clear_error():
    engine = BacktestEngine(Signals({}), max_runtime_s=1e-9)
    with pytest.raises(BacktestTimeoutError, match=r"exceeded max_runtime_s=1e-09 after .* "
                       r"\(1025 of 3000 bars processed\); raise max_runtime_s or pass 0"):
        engine.run(bars([100.0] * 3000))
    assert BacktestEngine(Signals({}), max_runtime_s=0).run(bars([100.0] * 3000)).final_equity


@pytest.mark.parametrize(
    ("candles", "error", "match"),
    [
        ([bars([1, 2])[1], bars([1, 2])[0]], ValueError, r"bar 1 \(ts=0\) does not come after"),
        (bars([1, float("nan")]), ValueError, r"bar 1 \(ts=3600\) has open=nan"),
        ([1, 2], TypeError, "item 0 is int, expected a Candle"),
        ("SOL", TypeError, "expected a list of Candle, a CandleSeries or a dict"),
        (bars([1]) + bars([1], market="ETH"), ValueError, "holds one market, venue"),
        ({"okx:SOL": bars([1])}, ValueError, "from venue 'binance' but the key says 'okx'"),
        ({"binance:SOL": bars([10]), "SOL": bars([20])}, ValueError, "is given twice"),
        ({":SOL": bars([1])}, ValueError, "must be 'market' or 'venue:market'"),
    ],
)
def test_bad_candles_are_refused_with_a_clear_error(candles, error, match):
    with pytest.raises(error, match=match):
        BacktestEngine(Signals({})).run(candles)


def test_no_candles_give_an_empty_result_that_says_so():
    result = BacktestEngine(Signals({})).run([])
    assert result.equity_curve == [] and result.total_pnl == 0
    assert result.strategy_warnings == ["no_data: no candles to backtest"]


def test_funding_records_are_checked():
    with pytest.raises(TypeError, match=r"funding_rates\[0\] is dict, expected FundingRate"):
        BacktestEngine(Signals({}), funding_rates=[{"rate": 1}]).run(bars([10]))


def test_funding_by_venue_as_the_store_returns_it_runs_like_the_flat_list():
    rates = [FundingRate("SOL", i * 8 * H, 0.001 * (i % 3), source="binance", interval_s=8 * H)
             for i in range(4)]
    candles = bars([10 + i % 5 for i in range(40)])
    signals = {0: Signal.BUY}
    flat = BacktestEngine(Signals(signals), fill_model=ClosePriceFill(),
                          funding_rates=rates).run(candles)
    by_venue = BacktestEngine(Signals(signals), fill_model=ClosePriceFill(),
                              funding_rates={"binance": rates}).run(candles)
    assert by_venue.funding_paid == flat.funding_paid != 0
    assert by_venue.equity_curve == flat.equity_curve
    with pytest.raises(ValueError, match=r"funding_rates\['hyperliquid'\]\[0\] is funding of"):
        BacktestEngine(Signals({}), funding_rates={"hyperliquid": rates}).run(candles)


def test_a_candle_series_input_allocates_no_candle_list():
    series = CandleSeries.from_candles(bars([100, 101, 102]))
    result = run_signals({0: Signal.BUY}, [100])
    assert result.fills
    seen = []

    class Peek(Strategy):
        name = "peek"

        def reset(self):
            pass

        def on_candle(self, candle, history, ctx):
            seen.append((candle, type(history).__name__, len(history)))
            return Signal.HOLD

    BacktestEngine(Peek(), history_size=2).run(series)
    assert [s[0] for s in seen] == list(series)
    assert [s[1:] for s in seen] == [("CandleSeries", 0), ("CandleSeries", 1),
                                    ("CandleSeries", 2)]


class Probe(Strategy):
    """Calls ``probe(ctx, candle)`` on every bar and keeps the answers."""

    name = "probe"

    def __init__(self, probe):
        self.probe = probe

    def reset(self):
        self.answers = []

    def on_candle(self, candle, history, ctx):
        self.answers.append(self.probe(ctx, candle))
        return Signal.HOLD


def test_several_markets_and_venues_in_one_run():
    data = {
        "binance:SOL": bars([100, 101, 102, 103]),
        "hyperliquid:SOL": bars([100.5, 101.5], venue="hyperliquid"),
        "ETH": bars([2000, 2010, 2020, 2030, 2040], market="ETH"),
    }

    def probe(ctx, candle):
        if candle.ts == H:
            ctx.market_order("ETH", Side.LONG, 1)
            ctx.market_order("SOL", Side.SHORT, 2, venue="hyperliquid")
            with pytest.raises(ValueError, match=r"several venues \(binance, hyperliquid\)"):
                ctx.market_order("SOL", Side.LONG, 1, venue="okx")
        return (candle.market, ctx.markets, ctx.get_candles("SOL", 10).closes.tolist(),
                ctx.get_candles("SOL", 10, venue="hyperliquid").closes.tolist())

    strategy = Probe(probe)
    result = BacktestEngine(strategy, fill_model=ClosePriceFill(), venues=VENUES).run(data)
    assert [a[0] for a in strategy.answers] == ["ETH"] * 5  # the longest series drives
    assert strategy.answers[0][1] == ["ETH", "SOL"]
    assert strategy.answers[2][2] == [100, 101, 102]  # closed by bar 2's close
    assert strategy.answers[4][3] == [100.5, 101.5]
    eth, sol = result.fills
    assert (eth.market, eth.price, eth.venue) == ("ETH", 2010, "default")
    assert (sol.market, sol.price, sol.venue) == ("SOL", 101.5, "hyperliquid")


def test_ctx_reveals_events_as_they_settle():
    funding = [
        FundingRate("SOL", 2 * H, 0.0008, oracle_price=99.0, mark_price=99.5,
                    source="binance", interval_s=8 * H),
        FundingRate("SOL", 2 * H, 0.0001, source="hyperliquid"),
        FundingRate("SOL", 3 * H, 0.0002, source="hyperliquid"),
    ]
    book = OrderbookSnapshot("SOL", 2 * H, (OrderbookLevel(99, 1),), (OrderbookLevel(101, 1),))
    oi = [OpenInterest("SOL", 2 * H, 10, 7, "binance")]
    oracle = [OraclePrice("SOL", 3 * H, 98.0)]

    def probe(ctx, candle):
        return (
            ctx.get_funding_rate(), ctx.get_funding_rate(venue="hyperliquid"),
            ctx.get_funding_rates(lookback=5, venue="hyperliquid"),
            sorted(ctx.get_funding_by_venue()), ctx.get_venue_snapshots().get("binance"),
            ctx.get_orderbook(), ctx.get_open_interest(), ctx.get_open_interest_history(),
            ctx.get_oracle_price(), ctx.get_impact_price("SOL", Side.LONG, 1),
        )

    strategy = Probe(probe)
    BacktestEngine(strategy, fill_model=ClosePriceFill(), funding_rates=funding,
                   orderbook_snapshots=[book], open_interest=oi, oracle_prices=oracle).run(
        bars([100, 100, 100, 100])
    )
    first, second, third = strategy.answers[:3]
    assert first[0] is None and first[5] is None and first[8] is None
    assert second[0] == pytest.approx(0.0008 / 8)  # hourly, the candles' venue first
    assert second[1] == pytest.approx(0.0001)
    assert second[3] == ["binance", "hyperliquid"]
    assert second[4] == [funding[0]]
    assert second[5] == book and second[6] == (10.0, 7.0)
    assert second[7] == [(2 * H, 10.0, 7.0)]
    assert second[8] == (99.0, 2 * H)  # the funding record's oracle price
    assert third[2] == [(2 * H, 0.0001), (3 * H, 0.0002)]
    assert third[8] == (98.0, 3 * H)  # the newer oracle record
    assert second[9] == 100  # ClosePriceFill: the close


def test_result_metrics_and_dict():
    result = run_signals({0: Signal.BUY, 2: Signal.SELL, 3: Signal.BUY, 4: Signal.SELL},
                         [100, 120, 90, 90, 99, 99])
    curve = np.array([result.initial_capital, *result.equity_curve])
    peaks = np.maximum.accumulate(curve)
    assert result.max_drawdown == pytest.approx(((peaks - curve) / peaks).max())
    returns = curve[1:] / curve[:-1] - 1
    assert result.sharpe_ratio == pytest.approx(
        returns.mean() / returns.std(ddof=1) * math.sqrt(365 * 24)
    )
    assert (result.total_trades, result.winning_trades, result.losing_trades) == (2, 1, 1)
    as_dict = result.to_dict()
    json.dumps(as_dict)
    assert as_dict["fills"][0]["side"] == "long"
    assert as_dict["positions"][0]["pnl"] == result.positions[0].pnl
    assert set(as_dict) >= {
        "total_pnl", "win_rate", "max_drawdown", "sharpe_ratio", "total_trades",
        "winning_trades", "losing_trades", "positions", "equity_curve", "fills", "total_fees",
        "funding_paid", "strategy_warnings", "per_venue_pnl", "per_venue_trades",
        "per_venue_funding_income", "total_tx_costs", "jupiter_borrow_paid", "borrow_payments",
        "margin_stats",
    }
    assert any(w.startswith("low_trade_count: 2 closed trade(s)") for w in
               result.strategy_warnings)
    assert any(w.startswith("high_turnover") for w in result.strategy_warnings)


def test_metric_helpers_handle_edge_cases():
    assert max_drawdown(np.array([])) == 0.0
    ppy = 365 * 86400 / H
    assert sharpe_ratio(bar_returns(np.array([1.0, 1.0, 1.0])), ppy) == 0.0
    # returns stop once equity is gone: [1, -1, 2] gives [-2, 0], a losing Sharpe
    assert bar_returns(np.array([1.0, -1.0, 2.0])).tolist() == [-2.0, 0.0]
    assert sharpe_ratio(bar_returns(np.array([1.0, -1.0, 2.0])), ppy) < 0
    assert BacktestResult().to_dict()["timestamps"] == []


def test_strategy_log_lines_are_kept_and_warnings_surface():
    def probe(ctx, candle):
        ctx.log("hello")
        ctx.log("WARNING: odd bar")

    strategy = Probe(probe)
    result = BacktestEngine(strategy).run(bars([10.0]))
    assert result.logs[:2] == ["[0] hello", "[0] WARNING: odd bar"]
    assert "strategy: WARNING: odd bar" in result.strategy_warnings
