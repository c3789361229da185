"""Money in a backtest: funding, borrow, margin and liquidation, per-venue accounts."""

import pytest

from flint.backtest.engine import BacktestEngine
from flint.execution.capital import TransferRoute, VenueAllocator
from flint.execution.fill_models import ClosePriceFill
from flint.execution.margin import MarginEngine
from flint.models import BorrowSnapshot, Candle, FundingRate, Side, Signal
from flint.strategy.base import Strategy
from flint_core.venues import VenueConfig

H = 3600
ALT = VenueConfig(
    name="alt", taker_fee_bps=10, maker_fee_bps=0, initial_margin=0.1,
    maintenance_margin=0.05, max_leverage=10, liquidation_penalty=0.02,
    impact_coefficient=0.0, base_latency_s=0, latency_jitter_s=0, funding_interval_s=8 * H,
)


def bars(closes, venue="binance", lows=None):
    lows = lows or [c - 1 for c in closes]
    return [Candle(i * H, c, c + 1, lo, c, 10.0, "SOL", H, venue)
            for i, (c, lo) in enumerate(zip(closes, lows, strict=True))]


class Hold(Strategy):
    """Opens ``size`` (signed) on ``venue`` at bar 0 and keeps it."""

    name = "hold"

    def __init__(self, size, venue="default"):
        self.size, self.venue = size, venue

    def reset(self):
        self.bar = -1
        self.seen = []

    def on_candle(self, candle, history, ctx):
        self.bar += 1
        self.seen.append((ctx.account, ctx.get_funding_rate(), ctx.get_oracle_price()))
        if self.bar == 0:
            side = Side.LONG if self.size > 0 else Side.SHORT
            ctx.market_order("SOL", side, abs(self.size), venue=self.venue)
        return Signal.HOLD


def run(strategy, candles, **kw):
    kw.setdefault("fill_model", ClosePriceFill())
    kw.setdefault("venues", {"alt": ALT})
    return BacktestEngine(strategy, fee_rate=0.0, **kw).run(candles)


def test_a_position_pays_its_own_venues_funding_at_the_oracle_then_mark_then_close():
    funding = [
        FundingRate("SOL", 2 * H, 0.001, oracle_price=50.0, mark_price=60.0, source="alt",
                    interval_s=8 * H),
        FundingRate("SOL", 3 * H, 0.001, mark_price=60.0, source="alt", interval_s=8 * H),
        FundingRate("SOL", 4 * H, -0.002, source="alt", interval_s=8 * H),
        FundingRate("SOL", 2 * H, 0.5, source="binance"),  # another venue: not this position's
    ]
    result = run(Hold(2, "alt"), bars([100, 101, 102, 103, 104]), funding_rates=funding)
    # settlements at 2h/3h/4h fall in bars 1/2/3 (open < ts <= close); closes 101/102/103
    assert [p[-1] for p in result.funding_payments] == pytest.approx(
        [0.001 * 2 * 50, 0.001 * 2 * 60, -0.002 * 2 * 103]
    )
    assert result.funding_paid == pytest.approx(0.1 + 0.12 - 0.412)
    assert result.per_venue_funding_income == {"alt": pytest.approx(-(0.1 + 0.12 - 0.412))}


def test_shorts_receive_a_positive_rate_and_the_rate_is_never_divided():
    funding = [FundingRate("SOL", 2 * H, 0.0008, source="binance", interval_s=8 * H)]
    strategy = Hold(-3)  # the default venue pays the funding of its candles' venue
    result = run(strategy, bars([100, 100, 100]), funding_rates=funding)
    assert result.funding_paid == pytest.approx(-0.0008 * 3 * 100)
    assert strategy.seen[2][1] == pytest.approx(0.0008 / 8)  # ctx shows the hourly rate
    assert strategy.seen[0][1] is None  # not settled yet on bar 0


def test_a_held_position_without_its_venues_funding_is_flagged():
    funding = [FundingRate("SOL", H, 0.001, source="other")]
    result = run(Hold(1, "alt"), bars([100, 100, 100]), funding_rates=funding)
    assert result.funding_paid == 0
    (note,) = [w for w in result.strategy_warnings if w.startswith("no_funding_data")]
    assert "alt/SOL held a position" in note and "other/SOL" in note


def test_funding_gaps_and_candle_gaps_are_coverage_warnings():
    candles = bars([100, 100, 100, 100])
    candles[3] = Candle(10 * H, 100, 101, 99, 100, 1, "SOL", H, "binance")
    funding = [FundingRate("SOL", t * H, 0.0, source="binance") for t in (2, 3, 6)]
    result = run(Hold(1), candles, funding_rates=funding)
    gaps = [w for w in result.strategy_warnings if w.startswith("coverage_gap")]
    assert any("binance:SOL misses 7 bar(s) in 1 gap(s)" in w for w in gaps)
    assert any("starts at ts=7200, after the first bar" in w for w in gaps)
    assert any("ends at ts=21600, before the last bar" in w for w in gaps)
    assert any("1 missing settlement gap(s)" in w for w in gaps)


def test_borrow_snapshots_charge_both_sides_for_the_time_between_them():
    borrow = [BorrowSnapshot("SOL", t * H, rate, source="alt")
              for t, rate in ((1, 0.001), (3, 0.002), (4, 0.004))]
    strategy = Hold(-2, "alt")
    result = run(strategy, bars([100, 110, 120, 130, 140]), borrow_snapshots=borrow)
    # [1h, 3h) at 0.1%/h on 2 x close(bar 2) = 120, then [3h, 4h) at 0.2%/h x 130
    assert [p[-1] for p in result.borrow_payments] == pytest.approx(
        [0.001 * 2 * 2 * 120, 0.002 * 1 * 2 * 130]
    )
    assert result.jupiter_borrow_paid == pytest.approx(0.48 + 0.52)
    fee = 2 * 100 * ALT.taker_fee_rate
    assert result.final_equity == pytest.approx(10_000 - fee + (100 - 140) * 2 - 1.0)


def test_margin_refuses_orders_beyond_initial_margin_and_max_leverage():
    strategy = Hold(1200, "alt")  # 120k notional on 10k equity at 10x max
    result = run(strategy, bars([100, 100]), margin_engine=MarginEngine())
    assert result.fills == []
    (note,) = [w for w in result.strategy_warnings if w.startswith("margin_rejected")]
    assert "needs 12000.00 initial margin on alt/SOL" in note
    assert result.margin_stats["rejections"] == 1


def test_liquidation_at_the_liquidation_price_with_a_penalty():
    size = 900  # 90k notional on 10k: liquidated near 100 * (90000 - 10000) / (900 * 95)
    level = MarginEngine.liquidation_price(100, size, 10_000 - size * 100 * 0.001, 0.05)
    assert level == pytest.approx((100 * size - (10_000 - 90.0)) / (size * 0.95))
    candles = bars([100, 99, 95, 97], lows=[99, 98, 93, 96])
    strategy = Hold(size, "alt")
    result = run(strategy, candles, margin_engine=MarginEngine())
    entry, liquidation = result.fills
    assert liquidation.order_id == "liq-1" and liquidation.ts == 2 * H
    assert liquidation.price == pytest.approx(level)
    assert liquidation.fee == pytest.approx(0.02 * size * level)
    assert result.open_positions == []
    expected = 10_000 - entry.fee + (level - 100) * size - liquidation.fee
    assert result.final_equity == pytest.approx(expected)
    assert result.margin_stats["liquidations"] == 1
    assert result.margin_stats["max_leverage"] > 9
    assert any(w.startswith("liquidation: alt/SOL 900 liquidated") for w in
               result.strategy_warnings)


def test_margin_engine_overrides_a_venues_margin_fields():
    tight = ALT.merged({"initial_margin": 0.5, "maintenance_margin": 0.3, "max_leverage": 2})
    result = run(Hold(300, "alt"), bars([100, 100]),
                 margin_engine=MarginEngine({"alt": tight}))
    assert result.fills == [] and result.margin_stats["rejections"] == 1
    with pytest.raises(TypeError, match="must be a VenueConfig"):
        MarginEngine({"alt": {"initial_margin": 0.5}})


class Mover(Strategy):
    name = "mover"

    def __init__(self, amount):
        self.amount = amount

    def reset(self):
        self.answers = []

    def on_candle(self, candle, history, ctx):
        self.answers.append((ctx.transfer("alt", "binance", self.amount), ctx.venue_balances(),
                             ctx.venue_balance("elsewhere")))
        return Signal.HOLD


def test_transfers_need_the_money_and_arrive_after_the_delay():
    allocator = VenueAllocator({"alt": 3000, "binance": 5000}, default=TransferRoute(H, 5))
    strategy = Mover(1000)
    result = BacktestEngine(strategy, capital_allocator=allocator).run(bars([100] * 4))
    ok = [a[0] for a in strategy.answers]
    assert ok == [True, True, False, False]  # 3000 - 2 * 1005 = 990 left: too little
    # balances read after the bar's transfer; one sent at a bar's close lands a bar later
    assert strategy.answers[0][1] == {"alt": 1995.0, "binance": 5000.0, "default": 2000.0}
    assert strategy.answers[1][1] == {"alt": 990.0, "binance": 6000.0, "default": 2000.0}
    assert strategy.answers[2][1]["binance"] == 7000.0
    assert strategy.answers[0][2] == 2000.0  # a venue without an account uses "default"
    assert result.transfer_costs == 10 and result.final_equity == pytest.approx(9990)
    assert result.per_venue_pnl == {"alt": -10.0}


def test_allocator_balances_must_fit_the_capital_and_be_valid():
    with pytest.raises(ValueError, match="add up to 20000, more than initial_capital=10000"):
        BacktestEngine(Mover(1), capital_allocator=VenueAllocator({"a": 20_000})).run(
            bars([100])
        )
    with pytest.raises(ValueError, match="balance of 'a' must be a finite number >= 0"):
        VenueAllocator({"a": -1})
    with pytest.raises(ValueError, match="time_s must be a finite number >= 0"):
        TransferRoute(time_s=-5)


def test_without_an_allocator_transfers_are_refused_and_all_cash_is_shared():
    strategy = Mover(10)
    BacktestEngine(strategy).run(bars([100]))
    assert strategy.answers == [(False, {"default": 10_000.0}, 10_000.0)]
