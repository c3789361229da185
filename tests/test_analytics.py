"""Tearsheet, Monte Carlo and correlation checked against plain computations written here."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.analytics.correlation import compute_correlation_matrix
from flint.analytics.monte_carlo import run_monte_carlo
from flint.analytics.tearsheet import compute_metrics, generate_tearsheet
from flint.models import Candle, CandleSeries, Fill, Position, Side

HOUR = 3600
YEAR_OF_HOURS = 365 * 24


def _result(equity, positions=(), fills=(), initial=10_000.0, start_ts=1_700_000_000, **extra):
    return SimpleNamespace(
        equity_curve=list(equity),
        timestamps=[start_ts + HOUR * i for i in range(len(equity))],
        resolution_s=HOUR,
        initial_capital=initial,
        positions=list(positions),
        fills=list(fills),
        **extra,
    )


def _reference(equity, initial):
    """Textbook metrics with explicit loops (independent of flint's vectorised code)."""
    path = [initial, *equity]
    rets = [(path[i] - path[i - 1]) / path[i - 1] for i in range(1, len(path))]
    n = len(rets)
    mean = sum(rets) / n
    var = sum((r - mean) ** 2 for r in rets) / (n - 1)
    sharpe = mean / math.sqrt(var) * math.sqrt(YEAR_OF_HOURS) if var > 0 else 0.0
    down = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / n)
    sortino = mean / down * math.sqrt(YEAR_OF_HOURS) if down > 0 else math.inf
    peak, mdd, run, longest = path[0], 0.0, 0, 0
    for value in path:
        peak = max(peak, value)
        dd = (peak - value) / peak
        mdd = max(mdd, dd)
        run = run + 1 if dd > 0 else 0
        longest = max(longest, run)
    cagr = (path[-1] / initial) ** (YEAR_OF_HOURS / n) - 1
    return sharpe, sortino, mdd, longest * HOUR, cagr


def test_metrics_match_a_loop_reference_on_a_random_walk():
    rng = np.random.default_rng(3)
    equity = 10_000 * np.cumprod(1 + rng.normal(0.0002, 0.01, 2000))
    tear = generate_tearsheet(_result(equity))
    sharpe, sortino, mdd, duration, cagr = _reference(list(equity), 10_000.0)
    assert tear["sharpe_ratio"] == pytest.approx(sharpe, rel=1e-9)
    assert tear["sortino"] == pytest.approx(sortino, rel=1e-9)
    assert tear["max_drawdown"] == pytest.approx(mdd, rel=1e-9)
    assert tear["max_drawdown_duration_s"] == duration
    assert tear["cagr"] == pytest.approx(cagr, rel=1e-9)
    assert tear["calmar_ratio"] == pytest.approx(cagr / mdd, rel=1e-9)
    assert tear["total_pnl"] == pytest.approx(equity[-1] - 10_000)


def test_trade_statistics_and_costs():
    positions = [
        Position(100.0, 1.0, 0, 110.0, 7200, 10.0, True, "SOL-PERP", "drift"),
        Position(100.0, -2.0, 7200, 104.0, 10800, -8.0, True, "SOL-PERP", "hyperliquid"),
        Position(100.0, 1.0, 10800, 100.0, 14400, 0.0, True, "SOL-PERP", "drift"),
        Position(100.0, 1.0, 14400, 130.0, 18000, 30.0, True, "BTC-PERP", "drift"),
    ]
    fills = [Fill("SOL-PERP", Side.LONG, 100.0, 1.0, 0.05, 0), Fill("SOL-PERP", Side.SHORT, 110.0,
                                                                       1.0, 0.055, 7200)]
    tear = generate_tearsheet(_result([10_000, 10_010, 10_002, 10_002, 10_032], positions, fills,
                                      per_venue_pnl={"drift": 40.0, "hyperliquid": -8.0}))
    assert tear["total_trades"] == 4 and tear["winning_trades"] == 2
    assert tear["losing_trades"] == 2  # break-even counts as a loss
    assert tear["win_rate"] == 0.5
    assert tear["profit_factor"] == pytest.approx(40 / 8)
    assert tear["avg_win"] == 20 and tear["avg_loss"] == -4
    assert tear["payoff_ratio"] == 5 and tear["expectancy"] == pytest.approx(0.5 * 20 - 0.5 * 4)
    assert (tear["best_trade"], tear["worst_trade"]) == (30, -8)
    assert tear["total_fees"] == pytest.approx(0.105)
    assert tear["avg_holding_period_s"] == pytest.approx(3600 * 5 / 4)
    mean_equity = np.mean([10_000, 10_010, 10_002, 10_002, 10_032])
    assert tear["turnover_annualized"] == pytest.approx(210 / mean_equity * YEAR_OF_HOURS / 5)
    assert tear.per_venue == {"drift": {"pnl": 40.0}, "hyperliquid": {"pnl": -8.0}}
    assert [t["side"] for t in tear.trades] == ["long", "short", "long", "long"]


def test_no_trades_and_flat_equity():
    tear = generate_tearsheet(_result([10_000.0] * 50))
    m = tear.metrics
    assert (m["total_trades"], m["win_rate"], m["profit_factor"]) == (0, 0, 0)
    assert (m["sharpe_ratio"], m["sortino"], m["max_drawdown"], m["cagr"]) == (0, 0, 0, 0)
    assert m["calmar_ratio"] == 0 and m["turnover_annualized"] == 0


def test_one_winning_trade_has_infinite_profit_factor_reported_as_null():
    win = Position(100.0, 1.0, 0, 105.0, 3600, 5.0, True)
    tear = generate_tearsheet(_result([10_000, 10_005], [win]))
    assert tear["profit_factor"] == math.inf and tear["win_rate"] == 1
    assert tear.to_dict()["metrics"]["profit_factor"] is None


def test_all_losses():
    losers = [Position(100.0, 1.0, 0, 90.0, 3600, -10.0, True) for _ in range(3)]
    tear = generate_tearsheet(_result([9_990, 9_980, 9_970], losers))
    assert tear["win_rate"] == 0 and tear["profit_factor"] == 0
    assert tear["expectancy"] == -10 and tear["payoff_ratio"] == 0
    assert tear["sharpe_ratio"] < 0 and tear["max_drawdown"] == pytest.approx(0.003)


def test_monthly_returns_chain_month_end_equity():
    start = 1_704_067_200  # 2024-01-01 00:00 UTC
    day = 86_400
    result = SimpleNamespace(
        equity_curve=[10_100, 10_200, 9_690],
        timestamps=[start + 10 * day, start + 30 * day, start + 40 * day],
        resolution_s=day, initial_capital=10_000.0,
    )
    months = generate_tearsheet(result).monthly_returns
    assert months[2024][1] == pytest.approx(0.02)
    assert months[2024][2] == pytest.approx(9_690 / 10_200 - 1)


def test_resolution_is_required_when_it_cannot_be_inferred():
    with pytest.raises(ValueError, match="resolution"):
        generate_tearsheet(SimpleNamespace(equity_curve=[1.0]))


def test_monte_carlo_resamples_with_replacement_so_pnl_varies():
    rng = np.random.default_rng(1)
    equity = 10_000 * np.cumprod(1 + rng.normal(0.0005, 0.01, 500))
    mc = run_monte_carlo(equity, iterations=300, seed=7)
    assert mc.method == "block_bootstrap"
    assert mc.final_pnl[5] < mc.final_pnl[50] < mc.final_pnl[95]
    assert 0 <= mc.prob_profit <= 1 and mc.max_drawdown[5] <= mc.max_drawdown[95]
    assert run_monte_carlo(equity, iterations=300, seed=7) == mc  # deterministic under a seed
    assert len(mc.equity_bands[50]) == equity.size + 1


def test_trade_bootstrap_brackets_the_mean_and_counts_ruin():
    pnls = [100.0, -50.0, 30.0, -20.0, 80.0]
    mc = run_monte_carlo([10_000.0], iterations=2000, trade_pnls=pnls, seed=3)
    assert mc.method == "trade_bootstrap"
    assert mc.mean_final_pnl == pytest.approx(sum(pnls), rel=0.1)
    assert mc.final_pnl[5] < sum(pnls) < mc.final_pnl[95]
    ruin = run_monte_carlo([100.0], iterations=200, trade_pnls=[-60.0, -60.0], seed=1)
    assert ruin.prob_ruin == 1.0 and ruin.prob_profit == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=2, max_size=200), st.integers(0, 2**16))
def test_bootstrap_paths_never_exceed_the_best_compounding(returns, seed):
    equity = 100 * np.cumprod(1 + np.asarray(returns))
    mc = run_monte_carlo(equity, iterations=20, initial_capital=100.0, seed=seed)
    best = 100 * (1 + max(*returns, 0)) ** len(returns) - 100
    assert mc.final_pnl[95] <= best + 1e-6


def _series(market, ts, closes):
    return CandleSeries.from_candles(
        [Candle(int(t), c, c, c, c, 1.0, market, HOUR) for t, c in zip(ts, closes, strict=True)]
    )


def test_correlation_aligns_by_timestamp():
    rng = np.random.default_rng(5)
    base = 100 * np.cumprod(1 + rng.normal(0, 0.01, 300))
    noise = 50 * np.cumprod(1 + rng.normal(0, 0.01, 300))
    ts = np.arange(300) * HOUR
    keep = np.ones(300, bool)
    keep[[10, 50, 51]] = False  # ETH misses three bars
    corr = compute_correlation_matrix({
        "SOL": _series("SOL", ts, base),
        "SOL2": [
            Candle(int(t), c * 2, c * 2, c * 2, c * 2, 1, "SOL2")
            for t, c in zip(ts, base, strict=True)
        ],
        "ETH": _series("ETH", ts[keep], noise[keep]),
    })
    common = ts[keep]
    r_sol = np.diff(base[keep]) / base[keep][:-1]
    r_eth = np.diff(noise[keep]) / noise[keep][:-1]
    assert corr["SOL"]["SOL2"] == pytest.approx(1.0)
    assert corr["SOL"]["ETH"] == pytest.approx(np.corrcoef(r_sol, r_eth)[0, 1], rel=1e-12)
    assert corr["ETH"]["SOL"] == pytest.approx(corr["SOL"]["ETH"], rel=1e-12)
    assert len(common) == 297


def test_rolling_sharpe_matches_a_loop_over_30_day_windows():
    rng = np.random.default_rng(8)
    equity = 10_000 * np.cumprod(1 + rng.normal(0.0001, 0.008, 24 * 45))
    tear = generate_tearsheet(_result(equity))
    path = [10_000.0, *equity]
    rets = [(path[i] - path[i - 1]) / path[i - 1] for i in range(1, len(path))]
    window = 30 * 24
    expected = []
    for end in range(window, len(rets) + 1):
        chunk = rets[end - window:end]
        mean = sum(chunk) / window
        std = math.sqrt(sum((r - mean) ** 2 for r in chunk) / (window - 1))
        expected.append(mean / std * math.sqrt(YEAR_OF_HOURS))
    assert len(tear.rolling_sharpe) == len(expected) == len(equity) - window + 1
    assert [v for _, v in tear.rolling_sharpe] == pytest.approx(expected, rel=1e-9)
    assert tear.rolling_sharpe[0][0] == 1_700_000_000 + HOUR * (window - 1)
    assert tear.rolling_sharpe[-1][0] == tear.equity_curve[-1][0]


def test_rolling_sharpe_edge_cases():
    assert generate_tearsheet(_result([10_000.0] * 10)).rolling_sharpe == []  # shorter run
    flat = generate_tearsheet(_result([10_000.0] * (24 * 31)))
    assert {v for _, v in flat.rolling_sharpe} == {0.0}  # no volatility: 0, not inf or nan


def test_costs_add_up_and_are_reported_per_venue():
    tear = generate_tearsheet(_result(
        [10_000, 9_990, 9_985], total_fees=4.0, funding_paid=2.5, total_tx_costs=0.5,
        jupiter_borrow_paid=1.0, transfer_costs=2.0,
        per_venue_fees={"drift": 3.0, "hyperliquid": 1.0},
        per_venue_funding_income={"drift": -2.5}, per_venue_trades={"drift": 2},
    ))
    assert tear["total_costs"] == pytest.approx(4.0 + 2.5 + 0.5 + 1.0 + 2.0)
    assert tear["transfer_costs"] == 2.0 and tear["borrow_paid"] == 1.0
    assert tear.per_venue == {"drift": {"fees": 3.0, "funding_income": -2.5, "trades": 2.0},
                              "hyperliquid": {"fees": 1.0}}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=120),
       st.integers(1_600_000_000, 1_700_000_000), st.sampled_from([3600, 86_400, 7 * 86_400]))
def test_monthly_returns_compound_to_the_total_and_metrics_agree(returns, start, step):
    equity = 1_000 * np.cumprod(1 + np.asarray(returns))
    result = SimpleNamespace(equity_curve=equity.tolist(),
                             timestamps=[start + step * i for i in range(len(returns))],
                             resolution_s=step, initial_capital=1_000.0)
    tear = generate_tearsheet(result)
    growth = np.prod([1 + r for months in tear.monthly_returns.values() for r in months.values()])
    assert growth == pytest.approx(equity[-1] / 1_000, rel=1e-9)
    mc_free = {k: v for k, v in tear.metrics.items() if not k.startswith("mc_")}
    assert compute_metrics(result) == mc_free
    assert generate_tearsheet(result, monte_carlo_iterations=0).metrics == mc_free


def test_the_tearsheet_carries_monte_carlo_confidence_intervals():
    pnls = [120.0, -80.0, 60.0, -40.0, 150.0, -90.0, 30.0]
    equity = list(10_000 + np.cumsum(pnls))
    positions = [Position(market="SOL-PERP", size=1.0, entry_price=100.0, entry_ts=i,
                          exit_price=100.0 + p, exit_ts=i + 1, pnl=p, closed=True)
                 for i, p in enumerate(pnls)]
    tear = generate_tearsheet(_result(equity, positions), monte_carlo_iterations=400, seed=7)
    mc = tear.monte_carlo
    assert mc is not None and mc.method == "trade_bootstrap" and mc.iterations == 400
    assert tear["mc_pnl_p5"] == mc.final_pnl[5] < sum(pnls) < mc.final_pnl[95] == tear["mc_pnl_p95"]
    assert 0 <= tear["mc_max_drawdown_p5"] <= tear["mc_max_drawdown_p95"] < 1
    assert 0 < tear["mc_prob_profit"] < 1
    again = generate_tearsheet(_result(equity, positions), monte_carlo_iterations=400, seed=7)
    assert again.metrics == tear.metrics  # seeded
    few = generate_tearsheet(_result(equity, positions[:2]), monte_carlo_iterations=50)
    assert few.monte_carlo.method == "block_bootstrap"
    assert generate_tearsheet(_result(equity), monte_carlo_iterations=0).monte_carlo is None


def test_a_short_gain_compounds_to_an_infinite_cagr_not_an_error():
    tear = generate_tearsheet(_result([11_250.0]))
    assert tear["cagr"] == math.inf and tear["calmar_ratio"] == math.inf
    assert tear.to_dict()["metrics"]["cagr"] is None
