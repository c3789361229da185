"""The engine against an independent numpy reference on real data.

Binance SOLUSDT 1h with its funding (8-hourly, 4h/2h during November 2022) and
Hyperliquid SOL 1h with its hourly funding. The reference below shares no code with
the engine: it re-derives signals, trades, fees, funding and the equity curve.
"""

import math

import numpy as np
import pytest

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import CandleSeries, FundingRate, Side, Signal
from flint.strategy.base import Strategy
from flint_core.venues import VenueConfig

HOUR = 3600
FEE = 0.0005
VENUES = {
    "binance": VenueConfig(
        name="binance", taker_fee_bps=4.5, maker_fee_bps=2.0, initial_margin=0.02,
        maintenance_margin=0.01, max_leverage=50, impact_coefficient=0.002,
        base_latency_s=0.2, latency_jitter_s=0.1, funding_interval_s=8 * HOUR,
    ),
    "hyperliquid": VenueConfig(
        name="hyperliquid", taker_fee_bps=3.5, maker_fee_bps=1.0, initial_margin=0.05,
        maintenance_margin=0.025, max_leverage=20, impact_coefficient=0.005,
        base_latency_s=1.0, latency_jitter_s=0.5, funding_interval_s=HOUR,
    ),
}
FILES = {"binance": ("binance", "SOLUSDT"), "hyperliquid": ("hyperliquid", "SOL")}


def _load(folder, venue, start=None, stop=None):
    prefix, market = FILES[venue]
    bars = np.loadtxt(folder / f"{prefix}-{market}-3600.csv", delimiter=",", skiprows=1)
    if start is not None:
        bars = bars[(bars[:, 0] >= start) & (bars[:, 0] < stop)]
    series = CandleSeries(bars[:, 0].astype(np.int64), *bars[:, 1:].T, market, HOUR, venue)
    raw = np.loadtxt(folder / f"{prefix}-{market}-funding.csv", delimiter=",", skiprows=1)
    ts = raw[:, 0].astype(np.int64)
    intervals = np.diff(ts, prepend=ts[0] - VENUES[venue].funding_interval_s)
    funding = [
        FundingRate(market, int(t), float(r), source=venue, interval_s=int(i))
        for t, r, i in zip(ts, raw[:, 1], intervals, strict=True)
    ]
    return bars, series, funding, ts, raw[:, 1]


def _settlement_bars(bar_ts, funding_ts):
    """Bar on which each settlement is paid: the one with open < ts <= close (-1: none)."""
    j = np.searchsorted(bar_ts + HOUR, funding_ts, side="left")
    inside = (j < bar_ts.size) & (funding_ts > bar_ts[np.minimum(j, bar_ts.size - 1)])
    return np.where(inside, j, -1)


class SmaCross(Strategy):
    """SMA 20/50 crossover on closes including the current bar (exact sums)."""

    name = "sma-20-50"

    def __init__(self):
        self.prev = None

    def reset(self):
        self.prev = None

    def on_candle(self, candle, history):
        if len(history) < 49:
            return Signal.HOLD
        closes = history.closes
        fast = math.fsum([*closes[-19:].tolist(), candle.close]) / 20
        slow = math.fsum([*closes[-49:].tolist(), candle.close]) / 50
        diff, prev = fast - slow, self.prev
        self.prev = diff
        if prev is None:
            return Signal.HOLD
        if prev <= 0 < diff:
            return Signal.BUY
        if prev >= 0 > diff:
            return Signal.SELL
        return Signal.HOLD


def _sma_reference(close, bar_ts, funding_ts, funding_rate, capital, fee):
    n = close.size
    diff = np.full(n, np.nan)
    for i in range(49, n):
        fast = math.fsum(close[i - 19 : i + 1].tolist()) / 20
        slow = math.fsum(close[i - 49 : i + 1].tolist()) / 50
        diff[i] = fast - slow
    prev, cur = diff[:-1], diff[1:]
    buy = np.zeros(n, bool)
    sell = np.zeros(n, bool)
    buy[1:] = (prev <= 0) & (cur > 0)
    sell[1:] = (prev >= 0) & (cur < 0)
    pay_bar = _settlement_bars(bar_ts, funding_ts)
    rate_at = {}
    for j, r in zip(pay_bar, funding_rate, strict=True):
        if j >= 0:
            rate_at.setdefault(int(j), []).append(float(r))
    cash, size, entry = capital, 0.0, 0.0
    trades, fees, funding = [], 0.0, 0.0
    curve = np.empty(n)
    for i in range(n):
        for r in rate_at.get(i, []):  # settlements before this bar's fills
            amount = r * size * close[i]
            cash -= amount
            funding += amount
        if buy[i] and size == 0.0:
            size = cash / (close[i] * (1 + fee))
            entry, entry_ts = close[i], bar_ts[i]
            cash -= size * close[i] * fee
            fees += size * close[i] * fee
        elif sell[i] and size > 0.0:
            pnl = (close[i] - entry) * size
            cash += pnl - size * close[i] * fee
            fees += size * close[i] * fee
            trades.append((entry_ts, entry, bar_ts[i], close[i], size, pnl))
            size = 0.0
        curve[i] = cash + size * (close[i] - entry)
    return trades, fees, funding, curve


@pytest.mark.parametrize("venue", ["binance", "hyperliquid"])
def test_sma_crossover_matches_the_numpy_reference(flint_test_data, venue):
    """v1 signals on a venue's candles pay that venue's taker fee, not ``fee_rate`` (the
    fee of candles with no venue, here unlike either venue's)."""
    bars, series, funding, f_ts, f_rate = _load(flint_test_data, venue)
    result = BacktestEngine(
        SmaCross(), initial_capital=10_000, fee_rate=FEE, fill_model=ClosePriceFill(),
        funding_rates=funding, max_runtime_s=0, venues=VENUES,
    ).run(series)
    taker = VENUES[venue].taker_fee_bps / 1e4
    trades, fees, paid, curve = _sma_reference(
        bars[:, 4], bars[:, 0].astype(np.int64), f_ts, f_rate, 10_000, taker
    )
    assert len(trades) > 50
    assert result.total_trades == len(trades)
    got = [(p.entry_ts, p.entry_price, p.exit_ts, p.exit_price, p.size, p.pnl)
           for p in result.positions]
    np.testing.assert_allclose(np.array(got, float), np.array(trades, float), rtol=1e-9)
    assert result.total_fees == pytest.approx(fees, rel=1e-9)
    assert result.funding_paid == pytest.approx(paid, rel=1e-9)
    assert paid != 0.0
    np.testing.assert_allclose(result.equity_curve, curve, rtol=1e-9)
    assert result.final_equity == pytest.approx(curve[-1], rel=1e-9)
    assert result.total_pnl == pytest.approx(curve[-1] - 10_000, rel=1e-9)
    assert not [w for w in result.strategy_warnings if w.startswith("no_funding_data")]


class CarryShort(Strategy):
    """Short ``notional`` worth on the first bar (on ``venue``) and hold it: a funding carry."""

    name = "carry"

    def __init__(self, venue, notional):
        self.venue, self.notional = venue, notional

    def reset(self):
        self.done = False

    def on_candle(self, candle, history, ctx):
        if not self.done:
            ctx.market_order(candle.market, Side.SHORT, self.notional / candle.close,
                             venue=self.venue)
            self.done = True
        return Signal.HOLD


@pytest.mark.parametrize(
    ("venue", "start", "stop"),
    [
        ("binance", 1654041600, 1685577600),  # 2022-06-01 .. 2023-06-01, FTX 4h/2h funding
        ("hyperliquid", None, None),  # every hourly bar
    ],
)
def test_funding_carry_matches_the_numpy_reference(flint_test_data, venue, start, stop):
    bars, series, funding, f_ts, f_rate = _load(flint_test_data, venue, start, stop)
    result = BacktestEngine(
        CarryShort(venue, 10_000), fill_model=ClosePriceFill(), funding_rates=funding,
        venues=VENUES, max_runtime_s=0,
    ).run(series)
    close, bar_ts = bars[:, 4], bars[:, 0].astype(np.int64)
    qty = 10_000 / close[0]
    fee = qty * close[0] * VENUES[venue].taker_fee_bps / 1e4
    pay_bar = _settlement_bars(bar_ts, f_ts)
    # settlements on bar 0 come before the entry fill, so they find no position
    paid_at = pay_bar > 0
    payments = f_rate[paid_at] * -qty * close[pay_bar[paid_at]]
    per_bar = np.bincount(pay_bar[paid_at], weights=payments, minlength=close.size)
    curve = 10_000 - fee - np.cumsum(per_bar) + (close[0] - close) * qty
    assert paid_at.sum() > 300
    assert [f.size for f in result.fills] == pytest.approx([qty], rel=1e-12)
    assert result.total_fees == pytest.approx(fee, rel=1e-9)
    assert len(result.funding_payments) == paid_at.sum()
    np.testing.assert_allclose([p[-1] for p in result.funding_payments], payments, rtol=1e-9)
    assert result.funding_paid == pytest.approx(payments.sum(), rel=1e-9)
    assert result.per_venue_funding_income[venue] == pytest.approx(-payments.sum(), rel=1e-9)
    np.testing.assert_allclose(result.equity_curve, curve, rtol=1e-9)
    assert result.final_equity == pytest.approx(curve[-1], rel=1e-9)
    assert result.per_venue_pnl == pytest.approx({venue: curve[-1] - 10_000}, rel=1e-9)
    if venue == "binance":  # the window holds the 4h and 2h intervals of November 2022
        assert {r.interval_s for r in funding if start <= r.ts < stop} == {
            8 * HOUR, 4 * HOUR, 2 * HOUR,
        }
