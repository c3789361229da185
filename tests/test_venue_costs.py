"""A run on one venue's candles trades on that venue: its fees, latency and funding.

Orders that name no venue (and v1 signals) are on the ``default`` venue, which stands
for the venue of the candles; ``fee_rate`` prices only candles with no venue. Checked
through the Python API (with given configs, and with the plugins' presets when they
are installed) and through ``flint backtest``.
"""

from types import SimpleNamespace

import pytest

from flint.backtest.engine import BacktestEngine
from flint.cli.main import main
from flint.execution.fill_models import ClosePriceFill, FillPipeline
from flint.models import Side, Signal
from flint.plugins import get_host
from flint.store import FlintStore
from flint.strategy.base import Strategy
from flint.strategy.loader import load_user_strategy
from flint.testing import sample_bars, sample_funding
from flint_core.venues import DEFAULT_VENUE

SAMPLE_VENUES = ("binance", "hyperliquid")
#: Costs unlike any preset and unlike ``fee_rate``, so a fee shows where it came from.
GIVEN = {
    "binance": DEFAULT_VENUE.merged({
        "name": "binance", "taker_fee_bps": 6.0, "maker_fee_bps": 1.5,
        "base_latency_s": 0.2, "latency_jitter_s": 0.1, "funding_interval_s": 8 * 3600,
    }),
    "hyperliquid": DEFAULT_VENUE.merged({
        "name": "hyperliquid", "taker_fee_bps": 4.0, "maker_fee_bps": -1.0,
        "base_latency_s": 2.0, "latency_jitter_s": 0.5,
    }),
}
REGISTERED = get_host().registry("venue_configs")
needs_presets = pytest.mark.skipif(
    not all(v in REGISTERED for v in SAMPLE_VENUES),
    reason="flint-binance and flint-hyperliquid are not installed",
)

MAKER_TAKER = '''
from flint.models import Side, Signal
from flint.strategy.base import Strategy


class MakerTaker(Strategy):
    """Every 12 bars: rest a limit buy under the close when flat, else close at market."""

    @property
    def name(self):
        return "maker-taker"

    def reset(self):
        self.bar = -1

    def on_candle(self, candle, history, ctx=None):
        self.bar += 1
        if self.bar % 12 == 0:
            if ctx.position(candle.market) is None:
                ctx.cancel_all(candle.market)
                ctx.limit_order(candle.market, Side.LONG, 2.0, candle.close * 0.995)
            else:
                ctx.close_position(candle.market)
        return Signal.HOLD
'''


def maker_taker():
    """The strategy of ``MAKER_TAKER``: v2, maker and taker fills, no venue named."""
    return load_user_strategy(MAKER_TAKER)


class BuyEveryOther(Strategy):
    """v1: BUY on even days, SELL on odd ones."""

    name = "buy-every-other"

    def reset(self):
        pass

    def on_candle(self, candle, history):
        return Signal.BUY if (candle.ts // 86_400) % 2 == 0 else Signal.SELL


def rates(config):
    return config.taker_fee_bps / 1e4, config.maker_fee_bps / 1e4


def assert_fees_follow(fills, total_fees, taker, maker, *, makers=True):
    """Each fill paid its notional times the taker or maker rate, by how it filled."""
    assert len(fills) > 4
    assert any(not f.is_maker for f in fills)
    assert any(f.is_maker for f in fills) is makers
    for f in fills:
        assert f.fee == pytest.approx(f.price * f.size * (maker if f.is_maker else taker),
                                      rel=1e-12, abs=1e-12)
    expected = sum(f.price * f.size * (maker if f.is_maker else taker) for f in fills)
    assert total_fees == pytest.approx(expected, rel=1e-12)


# The Python API


@pytest.mark.parametrize("venue", SAMPLE_VENUES)
def test_orders_naming_no_venue_pay_the_fees_of_the_candles_venue(venue):
    result = BacktestEngine(
        maker_taker(), fee_rate=0.002, fill_model=ClosePriceFill(), venues=GIVEN,
        max_runtime_s=0,
    ).run(sample_bars("SOL-PERP", venue, 30))
    assert_fees_follow(result.fills, result.total_fees, *rates(GIVEN[venue]))
    assert not [w for w in result.strategy_warnings if w.startswith("fee_")]


@pytest.mark.parametrize("venue", SAMPLE_VENUES)
def test_v1_signals_pay_the_candles_venue_taker_fee_latency_and_funding(venue):
    config = GIVEN[venue]
    result = BacktestEngine(
        BuyEveryOther(), fill_model=FillPipeline(latency_seed=7), venues=GIVEN,
        max_runtime_s=0, funding_rates=sample_funding("SOL-PERP", days=30),
    ).run(sample_bars("SOL-PERP", venue, 30))
    assert_fees_follow(result.fills, result.total_fees, *rates(config), makers=False)
    low = 1000 * (config.base_latency_s - config.latency_jitter_s)
    high = 1000 * (config.base_latency_s + config.latency_jitter_s)
    assert all(low <= f.latency_ms <= high for f in result.fills)
    settlements = {(r.ts, r.rate) for r in sample_funding("SOL-PERP", [venue], days=30)}
    paid = {(ts, rate) for ts, _, _, rate, _, _ in result.funding_payments}
    assert paid and paid <= settlements


def test_fee_rate_prices_candles_with_no_venue():
    bars = sample_bars("SOL-PERP", "binance", 30)
    venueless = bars.__class__(
        bars.timestamps, bars.opens, bars.highs, bars.lows, bars.closes, bars.volumes,
        bars.market, bars.resolution_s,
    )
    assert venueless.venue == "default"
    result = BacktestEngine(
        maker_taker(), fee_rate=0.002, fill_model=ClosePriceFill(), venues=GIVEN,
        max_runtime_s=0,
    ).run(venueless)
    assert_fees_follow(result.fills, result.total_fees, 0.002, 0.002)


def test_candles_of_a_venue_no_plugin_describes_trade_at_fee_rate_and_say_so():
    bars = sample_bars("SOL-PERP", "binance", 30)
    dex = bars.__class__(
        bars.timestamps, bars.opens, bars.highs, bars.lows, bars.closes, bars.volumes,
        bars.market, bars.resolution_s, "nodex",
    )
    result = BacktestEngine(
        maker_taker(), fee_rate=0.002, fill_model=ClosePriceFill(), max_runtime_s=0,
    ).run(dex)
    assert_fees_follow(result.fills, result.total_fees, 0.002, 0.002)
    [note] = [w for w in result.strategy_warnings if w.startswith("venue_unknown")]
    assert "'nodex'" in note and "fee_rate 0.002 for maker and taker" in note


def test_an_order_naming_an_unknown_venue_without_candles_is_still_an_error():
    class Elsewhere(Strategy):
        name = "elsewhere"

        def reset(self):
            pass

        def on_candle(self, candle, history, ctx=None):
            ctx.market_order(candle.market, Side.LONG, 1.0, venue="nowhere")
            return Signal.HOLD

    engine = BacktestEngine(Elsewhere(), fill_model=ClosePriceFill(), max_runtime_s=0)
    with pytest.raises(KeyError, match="unknown venue config 'nowhere'"):
        engine.run(sample_bars("SOL-PERP", "binance", 5))


@needs_presets
@pytest.mark.parametrize("venue", SAMPLE_VENUES)
def test_the_registered_preset_prices_a_one_venue_run(venue):
    from flint.plugins import get_venue_config

    result = BacktestEngine(maker_taker(), fill_model=ClosePriceFill(), max_runtime_s=0).run(
        sample_bars("SOL-PERP", venue, 30)
    )
    assert_fees_follow(result.fills, result.total_fees, *rates(get_venue_config(venue)))


@needs_presets
def test_a_fee_rate_that_no_trade_paid_is_reported():
    result = BacktestEngine(
        maker_taker(), fee_rate=0.002, fill_model=ClosePriceFill(), max_runtime_s=0,
    ).run(sample_bars("SOL-PERP", "hyperliquid", 30))
    [note] = [w for w in result.strategy_warnings if w.startswith("fee_rate_unused")]
    assert "fee_rate=0.002" in note and "hyperliquid" in note


# flint backtest


def backtest(capsys, db, tmp_path, *args):
    """``flint backtest`` of ``MAKER_TAKER`` (a file, so in the sandbox); (output, run)."""
    strategy = tmp_path / "maker_taker.py"
    strategy.write_text(MAKER_TAKER)
    with pytest.raises(SystemExit) as exited:
        main(["backtest", str(strategy), "--db", str(db), "--fill-model", "close", *args])
    out = capsys.readouterr()
    assert exited.value.code == 0, out.out + out.err
    with FlintStore(db, read_only=True) as store:
        [row] = store.list_backtest_runs(1)
        run = store.get_backtest_run(row["run_id"])
    return out.out, run


def fills_of(run):
    return [SimpleNamespace(**f) for f in run["result"]["fills"]]


@needs_presets
@pytest.mark.parametrize("venue", SAMPLE_VENUES)
def test_flint_backtest_charges_the_venues_maker_and_taker_fees(capsys, db, tmp_path, venue):
    from flint.plugins import get_venue_config

    out, run = backtest(capsys, db, tmp_path, "--venue", venue)
    assert run["venue"] == venue and run["fee_rate"] is None
    assert_fees_follow(fills_of(run), run["result"]["total_fees"],
                       *rates(get_venue_config(venue)))
    assert "fee_override" not in out


@needs_presets
def test_flint_backtest_fee_overrides_the_venue_rates_and_says_so(capsys, db, tmp_path):
    out, run = backtest(capsys, db, tmp_path, "--venue", "hyperliquid", "--fee", "0.001")
    assert run["fee_rate"] == 0.001
    assert_fees_follow(fills_of(run), run["result"]["total_fees"], 0.001, 0.001)
    assert "fee_override: fee rate 0.001 charged on maker and taker fills on hyperliquid" in out
    assert run["result"]["strategy_warnings"][0].startswith("fee_override")


@needs_presets
@pytest.mark.skipif("ma_crossover" not in get_host().registry("strategies"),
                    reason="the built-in strategies (flint-strategies) are not installed")
@pytest.mark.parametrize("fee", [None, "0.001"])
def test_flint_optimize_charges_what_flint_backtest_charges(capsys, db, fee):
    from flint.plugins import get_venue_config

    args = ["optimize", "ma_crossover", "--db", str(db), "--venue", "binance", "--trials", "2"]
    with pytest.raises(SystemExit) as exited:
        main(args + (["--fee", fee] if fee else []))
    out = capsys.readouterr()
    assert exited.value.code == 0, out.out + out.err
    with FlintStore(db, read_only=True) as store:
        [best] = [r for r in store.list_backtest_runs(5) if r.get("kind") == "backtest"]
        run = store.get_backtest_run(best["run_id"])
    taker, _ = (float(fee), float(fee)) if fee else rates(get_venue_config("binance"))
    fills = fills_of(run)
    assert fills and not any(f.is_maker for f in fills)  # v1 signals: market orders
    for f in fills:
        assert f.fee == pytest.approx(f.price * f.size * taker, rel=1e-12)
    assert run["result"]["total_fees"] == pytest.approx(sum(f.fee for f in fills), rel=1e-12)
