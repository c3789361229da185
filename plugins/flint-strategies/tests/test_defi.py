"""Funding, cross-venue and grid strategies trade where their idea says."""

import numpy as np
import pytest

from flint.models import Side, Signal
from flint.providers.files import FileProvider
from flint.strategy import (
    BasisTradeStrategy,
    FundingArbStrategy,
    FundingHarvestStrategy,
    FundingMeanReversionStrategy,
    GridTraderStrategy,
    MultiVenueFundingStrategy,
    Strategy,
)
from flint.testing import sample_venue_configs


def wiggle(n, price=100.0):
    return [price + ((i % 4) - 1.5) / 3 for i in range(n)]


def trades(result, bar_of):
    return [(f.side, bar_of(f), f.venue) for f in result.fills]


# funding_harvest


def test_funding_harvest_shorts_rich_funding_until_it_fades(bars, funding, backtest, bar_of):
    rates = funding([0.0001] * 10 + [0.0] * 30)  # settlement i is known from bar i on
    result = backtest(FundingHarvestStrategy(), bars(wiggle(40)), rates)
    # 3 rates by bar 2 -> short; the average of the last 8 is 0 from bar 17 -> close
    assert trades(result, bar_of) == [(Side.SHORT, 2, "default"), (Side.LONG, 17, "default")]
    assert result.funding_paid < 0  # the short was paid
    negative = funding([-0.0001] * 10 + [0.0] * 30)
    result = backtest(FundingHarvestStrategy(), bars(wiggle(40)), negative)
    assert trades(result, bar_of)[0] == (Side.LONG, 2, "default")


def test_funding_harvest_rates_are_per_hour_whatever_the_venue_interval(
    bars, funding, backtest, bar_of
):
    # 0.0004 per 8 h is 0.00005 per hour: above the 0.00003 entry
    rates = funding([0.0004] * 5, every=8)
    result = backtest(FundingHarvestStrategy(), bars(wiggle(40)), rates)
    assert trades(result, bar_of) == [(Side.SHORT, 23, "default")]  # third settlement


def test_funding_harvest_protects_the_position_with_a_stop(bars, funding, backtest, bar_of):
    closes = [*wiggle(10), 104.0, 106.0, 106.0]
    result = backtest(FundingHarvestStrategy(stop_loss_pct=0.05), bars(closes),
                      funding([0.0001] * 13))
    # short at bar 2 near 100.2; the stop at 105.2 catches the rise on bar 11, where
    # funding still pays shorts, so it shorts again (with a new stop)
    assert [(s, b) for s, b, _ in trades(result, bar_of)] == [
        (Side.SHORT, 2), (Side.LONG, 11), (Side.SHORT, 11)]
    assert result.fills[1].price == pytest.approx(result.fills[0].price * 1.05)


def test_funding_harvest_warns_once_when_there_is_no_funding(bars, backtest):
    result = backtest(FundingHarvestStrategy(), bars(wiggle(100)))
    warnings = [w for w in result.strategy_warnings if "funding_harvest" in w]
    assert len(warnings) == 1 and "no funding rate of SOL-PERP in 48 bars" in warnings[0]
    assert result.fills == []


# multi_venue_funding


def test_multi_venue_funding_trades_the_consensus_of_the_venues(bars, funding, backtest, bar_of):
    both = funding([0.0001] * 30) + funding([0.00005] * 30, venue="hyperliquid")
    result = backtest(MultiVenueFundingStrategy(), bars(wiggle(30)), both)
    assert trades(result, bar_of) == [(Side.SHORT, 2, "default")]
    split = funding([0.0001] * 30) + funding([-0.0001] * 30, venue="hyperliquid")
    assert backtest(MultiVenueFundingStrategy(), bars(wiggle(30)), split).fills == []


def test_multi_venue_funding_waits_for_enough_venues(bars, funding, backtest, bar_of):
    alone = funding([0.0001] * 60)
    result = backtest(MultiVenueFundingStrategy(), bars(wiggle(60)), alone)
    assert result.fills == []
    assert any("fewer than 2 venues" in w for w in result.strategy_warnings)
    result = backtest(MultiVenueFundingStrategy(min_venues=1), bars(wiggle(60)), alone)
    assert trades(result, bar_of) == [(Side.SHORT, 2, "default")]


# funding_mean_reversion


def calm_rates(n):
    return [0.00001 + 0.000002 * ((-1) ** i) for i in range(n)]


def test_funding_mean_reversion_fades_a_funding_spike(bars, funding, backtest, bar_of):
    rates = funding([*calm_rates(24), 0.0001, 0.0001, 9e-06, *calm_rates(10)])
    result = backtest(FundingMeanReversionStrategy(), bars(wiggle(37)), rates)
    # the spike (settlement 24) is far above the bands of the 24 before -> short at bar
    # 24, half the equity; the rate is back below the middle at bar 26 -> close
    assert trades(result, bar_of) == [(Side.SHORT, 24, "default"), (Side.LONG, 26, "default")]
    assert result.fills[0].size * result.fills[0].price == pytest.approx(5000.0, rel=0.01)
    dip = funding([*calm_rates(24), -0.0001, *calm_rates(10)])
    result = backtest(FundingMeanReversionStrategy(), bars(wiggle(35)), dip)
    assert trades(result, bar_of)[0] == (Side.LONG, 24, "default")


def test_funding_mean_reversion_gives_up_after_max_hold(bars, funding, backtest, bar_of):
    rates = funding(calm_rates(24) + [0.0001] * 20)
    result = backtest(FundingMeanReversionStrategy(max_hold_hours=5), bars(wiggle(44)), rates)
    assert trades(result, bar_of)[:2] == [(Side.SHORT, 24, "default"),
                                          (Side.LONG, 29, "default")]


# funding_arb


def two_venues(bars, binance, hyperliquid=None):
    return {"binance:SOL-PERP": bars(binance, venue="binance"),
            "hyperliquid:SOL-PERP": bars(binance if hyperliquid is None else hyperliquid,
                                         venue="hyperliquid")}


def test_funding_arb_holds_a_delta_neutral_pair_while_the_spread_lasts(
    bars, funding, backtest, bar_of
):
    rates = funding([0.0] * 40) + funding([0.0001] * 20 + [0.0] * 20, venue="hyperliquid")
    result = backtest(FundingArbStrategy(), two_venues(bars, wiggle(40)), rates)
    # 8 bps per 8 h from bar 0, held for the 1 h minimum -> enter at bar 1: long the
    # low-rate venue, short the high-rate one, same size; spread gone at bar 20 -> exit
    assert sorted(trades(result, bar_of)) == sorted([
        (Side.LONG, 1, "binance"), (Side.SHORT, 1, "hyperliquid"),
        (Side.SHORT, 20, "binance"), (Side.LONG, 20, "hyperliquid"),
    ])
    assert result.fills[0].size == result.fills[1].size
    assert result.fills[0].size * result.fills[0].price == pytest.approx(1000.0)
    assert result.per_venue_funding_income["hyperliquid"] > 0  # the short leg was paid


def test_funding_arb_exits_after_max_hold_and_respects_the_duration(
    bars, funding, backtest, bar_of
):
    rates = funding([0.0] * 40) + funding([0.0001] * 40, venue="hyperliquid")
    result = backtest(FundingArbStrategy(max_hold_hours=5, min_spread_duration=0),
                      two_venues(bars, wiggle(40)), rates)
    bars_traded = [b for _, b, _ in trades(result, bar_of)]
    assert bars_traded[:4] == [0, 0, 5, 5]  # opened at once, closed after 5 h
    narrow = funding([0.0] * 40) + funding([0.00005] * 40, venue="hyperliquid")  # 4 bps/8 h
    assert backtest(FundingArbStrategy(), two_venues(bars, wiggle(40)), narrow).fills == []


def test_funding_arb_ignores_stale_venues_and_venues_it_cannot_trade(
    bars, funding, backtest, bar_of
):
    # hyperliquid's last hourly settlement (ts 2 h) is stale after 2 more hours
    stale = funding([0.0] * 40) + funding([0.0001] * 2, venue="hyperliquid")
    result = backtest(FundingArbStrategy(min_spread_duration=4), two_venues(bars, wiggle(40)),
                      stale)
    assert {bar_of(f) for f in result.fills} == {4, 28}  # in at 4 h, out after max hold
    late = backtest(FundingArbStrategy(min_spread_duration=5), two_venues(bars, wiggle(40)),
                    stale)
    assert late.fills == []
    # drift pays the most but no candles price it here: skipped (said once), no trade
    drift = funding([0.0] * 40) + funding([0.0] * 40, venue="hyperliquid") + funding(
        [0.0002] * 40, venue="drift")
    result = backtest(FundingArbStrategy(), two_venues(bars, wiggle(40)), drift)
    assert result.fills == []
    assert [w for w in result.strategy_warnings if "drift" in w] == [
        "strategy: WARNING: funding_arb cannot trade SOL-PERP on drift: market 'SOL-PERP' "
        "has candles from several venues (binance, hyperliquid); venue='drift' is none of "
        "them, so pass one of those; skipping drift"]


class Refusing:
    """The engine's ``ctx``, refusing every order on ``venue`` (as a live venue may)."""

    def __init__(self, ctx, venue):
        self._ctx = ctx
        self._venue = venue

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def market_order(self, market, side, size, reduce_only=False, tag="", venue="default"):
        if venue == self._venue:
            return ""
        return self._ctx.market_order(market, side, size, reduce_only, tag, venue)


class RefusedOn(Strategy):
    """Runs ``inner`` with orders on ``venue`` refused."""

    name = "refused"

    def __init__(self, inner, venue):
        self.inner = inner
        self.venue = venue

    def reset(self):
        self.inner.reset()

    def on_candle(self, candle, history, ctx=None):
        return self.inner.on_candle(candle, history, Refusing(ctx, self.venue))


@pytest.mark.parametrize("kind", ["funding_arb", "basis_trade"])
def test_a_refused_short_leg_unwinds_the_long_leg_already_sent(
    kind, bars, funding, backtest, bar_of
):
    base = np.array(wiggle(10))
    rich = base * 1.004
    rates = funding([0.0] * 10) + funding([0.0001] * 10, venue="hyperliquid")
    inner = (FundingArbStrategy(min_spread_duration=0) if kind == "funding_arb"
             else BasisTradeStrategy())
    result = backtest(RefusedOn(inner, "hyperliquid"), two_venues(bars, base, rich), rates)
    # every bar: the binance long goes out, the hyperliquid short is refused, the long is
    # offset on the same bar; never a position left
    assert result.fills and len(result.fills) % 2 == 0
    for long_leg, offset in zip(result.fills[::2], result.fills[1::2], strict=True):
        assert (long_leg.side, long_leg.venue) == (Side.LONG, "binance")
        assert (offset.side, offset.venue, offset.size) == (
            Side.SHORT, "binance", long_leg.size)
        assert bar_of(long_leg) == bar_of(offset)
    assert result.open_positions == []
    assert any(f"{kind}: the short leg on hyperliquid was refused" in w
               for w in result.strategy_warnings)


# basis_trade


def test_basis_trade_buys_the_cheap_venue_and_sells_the_rich_one(
    bars, funding, backtest, bar_of
):
    base = np.array(wiggle(30))
    rich = base.copy()
    rich[10:16] *= 1.004  # hyperliquid 40 bps above binance on bars 10-15
    rates = funding([0.0] * 30) + funding([0.0] * 30, venue="hyperliquid")
    result = backtest(BasisTradeStrategy(), two_venues(bars, base, rich), rates)
    assert sorted(trades(result, bar_of)) == sorted([
        (Side.LONG, 10, "binance"), (Side.SHORT, 10, "hyperliquid"),
        (Side.SHORT, 16, "binance"), (Side.LONG, 16, "hyperliquid"),
    ])
    # the pair gained the 40 bps of 1000 USD it bet on, less fees
    gross = sum((f.price if f.side == Side.SHORT else -f.price) * f.size for f in result.fills)
    assert gross == pytest.approx(1000 * 0.004, rel=0.05)
    capped = backtest(BasisTradeStrategy(max_hold_hours=2), two_venues(bars, base, rich), rates)
    assert [b for _, b, _ in trades(capped, bar_of)][:4] == [10, 10, 12, 12]


def test_basis_trade_can_be_told_its_venues(bars, backtest, bar_of):
    base = np.array(wiggle(30))
    rich = base * 1.004
    strategy = BasisTradeStrategy(venues=("binance", "hyperliquid"))
    result = backtest(strategy, two_venues(bars, base, rich))  # no funding data at all
    assert trades(result, bar_of)[:2] == [(Side.LONG, 0, "binance"),
                                          (Side.SHORT, 0, "hyperliquid")]
    with pytest.raises(ValueError, match="at least two venues"):
        BasisTradeStrategy(venues=["binance"])


# grid_trader


def test_grid_trader_buys_dips_and_sells_the_rebounds(bars, backtest):
    closes = [100, 99, 97.5, 98, 99.6, 101, 100, 98, 96, 97, 99, 100.5] * 4
    result = backtest(GridTraderStrategy(grid_spacing_pct=2.0), bars(closes))
    buys = [f for f in result.fills if f.side == Side.LONG]
    sells = [f for f in result.fills if f.side == Side.SHORT]
    assert buys and sells and all(f.is_maker for f in result.fills)
    assert result.total_trades >= 2 and result.winning_trades == result.total_trades
    assert min(f.price for f in sells) > min(f.price for f in buys)


def test_grid_trader_lays_its_ladder_around_the_price(bars):
    class Recorder:
        def __init__(self):
            self.limits = []
            self.cancels = 0

        @property
        def account(self):
            return type("A", (), {"cash": 10_000.0})()

        def position(self, market, venue="default"):
            return None

        def cancel_all(self, market=None):
            self.cancels += 1
            return 0

        def limit_order(self, market, side, size, price, reduce_only=False, tag="",
                        venue="default"):
            self.limits.append((side, round(price, 6), round(size, 6)))
            return "id"

    ctx = Recorder()
    strategy = GridTraderStrategy(grid_spacing_pct=2.0, grid_levels=3)
    candles = bars([100.0, 101.0, 104.5])
    for i in range(3):
        assert strategy.on_candle(candles[i], candles[:i], ctx) is Signal.HOLD
    # laid at 100, kept at 101 (within 2 spacings), laid again at 104.5
    assert ctx.cancels == 2
    assert ctx.limits[:3] == [(Side.LONG, 98.0, 10.0), (Side.LONG, 96.0, 10.0),
                              (Side.LONG, 94.0, 10.0)]
    assert [p for _, p, _ in ctx.limits[3:]] == [102.41, 100.32, 98.23]


# real data: the defaults fire on real Binance and Hyperliquid SOL perps


def test_cross_venue_defaults_trade_on_real_binance_and_hyperliquid_data(flint_test_data):
    from flint.backtest.engine import BacktestEngine
    from flint.execution.fill_models import ClosePriceFill

    start, end = 1_725_451_200, 1_753_488_000  # 2024-09-04 12:00 .. 2025-07-26 00:00 UTC
    candles, rates = {}, []
    for venue, symbol in (("binance", "SOLUSDT"), ("hyperliquid", "SOL")):
        files = FileProvider(flint_test_data / f"{venue}-{symbol}-3600.csv")
        candles[f"{venue}:SOL-PERP"] = files.fetch_candles("SOL-PERP", 3600, start, end)
        rates += FileProvider(flint_test_data / f"{venue}-{symbol}-funding.csv").fetch_funding(
            "SOL-PERP", start, end + 3600)
    for strategy in (FundingArbStrategy(), BasisTradeStrategy()):
        engine = BacktestEngine(strategy, fill_model=ClosePriceFill(), funding_rates=rates,
                                venues=sample_venue_configs(), max_runtime_s=0)
        result = engine.run(candles)
        venues = {f.venue for f in result.fills}
        assert venues == {"binance", "hyperliquid"}, strategy.name
        assert len(result.fills) >= 4 and len(result.fills) % 2 == 0
