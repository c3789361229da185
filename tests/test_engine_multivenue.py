"""Long on one venue, short on another, a transfer between them, funding on both.

Binance settles funding every 8 hours, Hyperliquid every hour; every number below
is worked out by hand from the bars, the rates and the venues' fees.
"""

import pytest

from flint.backtest.engine import BacktestEngine
from flint.execution.capital import TransferRoute, VenueAllocator
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, FundingRate, Side, Signal
from flint.strategy.base import Strategy
from flint_core.venues import VenueConfig

H = 3600
T0 = 1_700_006_400  # a multiple of 8 h: Binance settles at T0 + 8 h k
BINANCE = VenueConfig(
    name="binance", taker_fee_bps=4.5, maker_fee_bps=2.0, initial_margin=0.02,
    maintenance_margin=0.01, max_leverage=50, impact_coefficient=0.002, base_latency_s=0.2,
    latency_jitter_s=0.1, funding_interval_s=8 * H,
)
HYPERLIQUID = VenueConfig(
    name="hyperliquid", taker_fee_bps=3.5, maker_fee_bps=1.0, initial_margin=0.05,
    maintenance_margin=0.025, max_leverage=20, impact_coefficient=0.005, base_latency_s=1.0,
    latency_jitter_s=0.5, funding_interval_s=H,
)
BN_CLOSE = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 104.0, 103.0, 102.0, 101.0]
HL_CLOSE = [c + 0.5 for c in BN_CLOSE]
HL_RATES = [(-1) ** k * 1e-5 * (k + 1) for k in range(10)]  # settles at T0 + (k + 1) h


def _bars(closes, venue):
    return [Candle(T0 + i * H, c, c + 1, c - 1, c, 1000.0, "SOL", H, venue)
            for i, c in enumerate(closes)]


class Hedge(Strategy):
    name = "hedge"

    def reset(self):
        self.balances = {}

    def on_candle(self, candle, history, ctx):
        i = (candle.ts - T0) // H
        self.balances[i] = (ctx.venue_balances(), ctx.account.equity, ctx.pending_transfers())
        if i == 0:
            ctx.market_order("SOL", Side.LONG, 10, venue="binance")
            ctx.market_order("SOL", Side.SHORT, 10, venue="hyperliquid")
        elif i == 3:
            assert ctx.transfer("binance", "hyperliquid", 1000)
        elif i == 8:
            ctx.close_position("SOL", venue="binance")
            ctx.close_position("SOL", venue="hyperliquid")
        return Signal.HOLD


def test_per_venue_pnl_funding_and_transfer_match_a_hand_computation():
    funding = [
        FundingRate("SOL", T0 + 8 * H * k, 1e-4 * (k + 1), source="binance", interval_s=8 * H)
        for k in range(3)
    ] + [
        FundingRate("SOL", T0 + (k + 1) * H, r, source="hyperliquid", interval_s=H)
        for k, r in enumerate(HL_RATES)
    ]
    strategy = Hedge()
    result = BacktestEngine(
        strategy,
        fill_model=ClosePriceFill(),
        funding_rates=funding,
        capital_allocator=VenueAllocator(
            {"binance": 6000, "hyperliquid": 4000},
            routes={("binance", "hyperliquid"): TransferRoute(time_s=2 * H, cost_usd=2.0)},
        ),
        venues={"binance": BINANCE, "hyperliquid": HYPERLIQUID},
    ).run({"binance:SOL": _bars(BN_CLOSE, "binance"),
           "hyperliquid:SOL": _bars(HL_CLOSE, "hyperliquid")})

    # Binance: long 10 filled at bar 0's close (100), closed at bar 8's close (102).
    bn_fees = 10 * 100 * 4.5e-4 + 10 * 102 * 4.5e-4
    # Its 8-hourly settlements: T0 (bar -1, before the data), T0 + 8 h falls in bar 7
    # (open T0 + 7 h < ts <= close T0 + 8 h), rate 2e-4, long pays at that bar's close.
    bn_funding = 2e-4 * 10 * BN_CLOSE[7]
    bn_pnl = (102 - 100) * 10 - bn_fees - bn_funding - 2.0  # the transfer cost is Binance's
    # Hyperliquid: short 10 at 100.5, bought back at 102.5; hourly settlements T0 + (k+1) h
    # are paid on bar k; bars 1..8 see the short (bar 0 settles before the entry fill).
    hl_fees = 10 * 100.5 * 3.5e-4 + 10 * 102.5 * 3.5e-4
    hl_funding = sum(HL_RATES[k] * -10 * HL_CLOSE[k] for k in range(1, 9))
    hl_pnl = (100.5 - 102.5) * 10 - hl_fees - hl_funding

    assert result.per_venue_pnl == pytest.approx({"binance": bn_pnl, "hyperliquid": hl_pnl},
                                                 rel=1e-12)
    assert result.per_venue_funding_income == pytest.approx(
        {"binance": -bn_funding, "hyperliquid": -hl_funding}, rel=1e-12
    )
    assert result.per_venue_fees == pytest.approx({"binance": bn_fees, "hyperliquid": hl_fees},
                                                  rel=1e-12)
    assert result.per_venue_trades == {"binance": 1, "hyperliquid": 1}
    assert result.funding_paid == pytest.approx(bn_funding + hl_funding, rel=1e-12)
    assert result.total_pnl == pytest.approx(bn_pnl + hl_pnl, rel=1e-12)
    payments = [(ts, venue) for ts, venue, *_ in result.funding_payments]
    assert payments == [(T0 + (k + 1) * H, "hyperliquid") for k in range(1, 7)] + [
        (T0 + 8 * H, "binance")
    ] + [(T0 + (k + 1) * H, "hyperliquid") for k in range(7, 9)]

    # The transfer: sent at bar 3's close (T0 + 4 h), 2 h on the way, credited on bar 5.
    bn_after_entry = 6000 - 10 * 100 * 4.5e-4
    hl_after_entry = 4000 - 10 * 100.5 * 3.5e-4
    hl_funding_to = [sum(HL_RATES[k] * -10 * HL_CLOSE[k] for k in range(1, j + 1))
                     for j in range(10)]
    balances, equity, pending = strategy.balances[4]  # seen on bar 4: money in transit
    assert balances == pytest.approx({
        "binance": bn_after_entry - 1002.0,
        "hyperliquid": hl_after_entry - hl_funding_to[4],
        "default": 0.0,
    }, rel=1e-12)
    assert [(p["amount"], p["arrival_ts"]) for p in pending] == [(1000.0, T0 + 6 * H)]
    unrealized = (BN_CLOSE[4] - 100) * 10 + (100.5 - HL_CLOSE[4]) * 10
    assert equity == pytest.approx(sum(balances.values()) + 1000 + unrealized, rel=1e-12)
    balances, _, pending = strategy.balances[5]
    assert pending == []
    assert balances["hyperliquid"] == pytest.approx(
        hl_after_entry - hl_funding_to[5] + 1000, rel=1e-12
    )
    assert result.transfers == [{
        "from": "binance", "to": "hyperliquid", "amount": 1000.0, "cost": 2.0,
        "sent_ts": T0 + 4 * H, "arrival_ts": T0 + 6 * H, "arrived": True,
    }]
