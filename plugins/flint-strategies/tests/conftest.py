import numpy as np
import pytest

from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill
from flint.models import CandleSeries, FundingRate
from flint.testing import sample_venue_configs

pytest_plugins = ["flint.testing.plugin"]

START = 1_704_067_200  # 2024-01-01 00:00 UTC
HOUR = 3600


@pytest.fixture
def bars():
    """``bars(closes, highs=, lows=, volumes=, venue=)``: hourly candles from columns.

    Each bar opens at the previous close; highs/lows default to the bar's range.
    """

    def make(closes, *, highs=None, lows=None, volumes=None, venue="binance",
             market="SOL-PERP"):
        close = np.asarray(closes, dtype=np.float64)
        opens = np.concatenate(([close[0]], close[:-1]))
        high = np.maximum(opens, close) if highs is None else np.asarray(highs, np.float64)
        low = np.minimum(opens, close) if lows is None else np.asarray(lows, np.float64)
        volume = np.full(len(close), 100.0) if volumes is None else np.asarray(volumes, float)
        ts = START + HOUR * np.arange(len(close), dtype=np.int64)
        return CandleSeries(ts, opens, high, low, close, volume, market, HOUR, venue)

    return make


@pytest.fixture
def funding():
    """``funding(rates, venue=, every=1, oracle=)``: one settlement per ``every`` hours.

    ``rates`` are per settlement; the first is due at the close of the first bar.
    """

    def make(rates, *, venue="binance", every=1, oracle=None, market="SOL-PERP"):
        return [
            FundingRate(market, START + HOUR * every * (i + 1), float(rate),
                        0.0 if oracle is None else float(oracle[i]), 0.0, 0, venue,
                        HOUR * every)
            for i, rate in enumerate(rates)
        ]

    return make


@pytest.fixture
def backtest():
    """``backtest(strategy, candles, funding=None, **engine options)`` on ClosePriceFill."""

    def run(strategy, candles, funding=None, **options):
        engine = BacktestEngine(strategy, fill_model=ClosePriceFill(), funding_rates=funding,
                                venues=sample_venue_configs(), max_runtime_s=0, **options)
        return engine.run(candles)

    return run


@pytest.fixture
def bar_of():
    """``bar_of(fill)``: the index of the bar a fill executed on."""
    return lambda fill: (fill.ts - START) // HOUR
