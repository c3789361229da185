"""flint.indicators against textbook formulas on real candles, and cached == direct everywhere."""

import csv
import math
import statistics
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint import indicators as ind
from flint.models import Candle, CandleSeries
from flint_core import indicators as _k

# Textbook formulas, written independently of flint (plain loops, classic forms).


def t_closes(bars):
    return [b.close for b in bars]


def t_sma(bars, p):
    c = t_closes(bars)[-p:]
    return sum(c) / p


def t_ema_list(values, p):
    k = 2 / (p + 1)
    out = [sum(values[:p]) / p]
    for v in values[p:]:
        out.append(v * k + out[-1] * (1 - k))
    return out  # out[j] is the EMA at values[p - 1 + j]


def t_ema(bars, p):
    return t_ema_list(t_closes(bars), p)[-1]


def t_wma(bars, p):
    c = t_closes(bars)[-p:]
    return sum((i + 1) * v for i, v in enumerate(c)) / sum(range(1, p + 1))


def t_wilder_list(values, p):
    avg = sum(values[:p]) / p
    out = [avg]
    for v in values[p:]:
        avg = (avg * (p - 1) + v) / p
        out.append(avg)
    return out


def t_rsi(bars, p=14):
    c = t_closes(bars)
    gains = [max(c[i] - c[i - 1], 0.0) for i in range(1, len(c))]
    losses = [max(c[i - 1] - c[i], 0.0) for i in range(1, len(c))]
    g, lo = t_wilder_list(gains, p)[-1], t_wilder_list(losses, p)[-1]
    if lo == 0:
        return 100.0 if g > 0 else 50.0
    return 100 - 100 / (1 + g / lo)


def t_percent_k(bars):
    hh, ll = max(b.high for b in bars), min(b.low for b in bars)
    return 50.0 if hh == ll else 100 * (bars[-1].close - ll) / (hh - ll)


def t_stochastic(bars, p=14):
    n = len(bars)
    ks = [t_percent_k(bars[n - p - j : n - j]) for j in (2, 1, 0)]
    return ks[-1], sum(ks) / 3


def t_macd(bars, fast=12, slow=26, signal=9):
    c = t_closes(bars)
    ef, es = t_ema_list(c, fast), t_ema_list(c, slow)
    lag = max(fast, slow)
    line = [ef[i - fast + 1] - es[i - slow + 1] for i in range(lag - 1, len(c))]
    sig = t_ema_list(line, signal)[-1]
    return line[-1], sig, line[-1] - sig


def t_bollinger(bars, p=20, k=2.0):
    c = t_closes(bars)[-p:]
    mid, sd = statistics.fmean(c), statistics.pstdev(c)
    return mid + k * sd, mid, mid - k * sd


def t_true_ranges(bars):
    return [
        max(b.high - b.low, abs(b.high - a.close), abs(b.low - a.close))
        for a, b in pairwise(bars)
    ]


def t_atr(bars, p=14):
    return t_wilder_list(t_true_ranges(bars), p)[-1]


def t_volatility(bars, p=20):
    c = t_closes(bars)[-(p + 1) :]
    return statistics.pstdev([math.log(b / a) for a, b in pairwise(c)])


def t_vwap(bars, p=20):
    tail = bars[-p:]
    vol = sum(b.volume for b in tail)
    typical = [(b.high + b.low + b.close) / 3 for b in tail]
    if vol == 0:
        return sum(typical) / p
    return sum(t * b.volume for t, b in zip(typical, tail, strict=True)) / vol


def t_volume_ratio(bars, p=20):
    mean = sum(b.volume for b in bars[-p:]) / p
    return 1.0 if mean == 0 else bars[-1].volume / mean


def t_roc(bars, p=12):
    return (bars[-1].close - bars[-1 - p].close) / bars[-1 - p].close


def t_adx(bars, p=14):
    """Wilder's original bookkeeping: running *sums* TR14, +DM14, -DM14."""
    trs = t_true_ranges(bars)
    pdm, mdm = [], []
    for a, b in pairwise(bars):
        up, down = b.high - a.high, a.low - b.low
        pdm.append(up if up > down and up > 0 else 0.0)
        mdm.append(down if down > up and down > 0 else 0.0)
    s_tr, s_p, s_m = sum(trs[:p]), sum(pdm[:p]), sum(mdm[:p])
    dxs = []
    for i in range(p - 1, len(trs)):
        if i >= p:
            s_tr = s_tr - s_tr / p + trs[i]
            s_p = s_p - s_p / p + pdm[i]
            s_m = s_m - s_m / p + mdm[i]
        pdi = 100 * s_p / s_tr if s_tr else 0.0
        mdi = 100 * s_m / s_tr if s_tr else 0.0
        dxs.append(100 * abs(pdi - mdi) / (pdi + mdi) if pdi + mdi else 0.0)
    return t_wilder_list(dxs, p)[-1]


def t_bollinger_width(bars):
    upper, middle, lower = t_bollinger(bars)
    return (upper - lower) / middle


def t_z_score(bars, p=20):
    c = t_closes(bars)[-p:]
    sd = statistics.pstdev(c)
    return 0.0 if sd == 0 else (c[-1] - statistics.fmean(c)) / sd


# name -> (flint call, textbook call, fewest bars it accepts)
CASES = {
    "sma": (lambda h, **kw: ind.sma(h, 20, **kw), lambda b: t_sma(b, 20), 20),
    "ema": (lambda h, **kw: ind.ema(h, 26, **kw), lambda b: t_ema(b, 26), 26),
    "wma": (lambda h, **kw: ind.wma(h, 10, **kw), lambda b: t_wma(b, 10), 10),
    "rsi": (ind.rsi, t_rsi, 15),
    "stochastic": (ind.stochastic, t_stochastic, 16),
    "macd": (ind.macd, t_macd, 34),
    "bollinger": (
        lambda h, **kw: ind.bollinger(h, 20, 2.5, **kw), lambda b: t_bollinger(b, 20, 2.5), 20
    ),
    "bollinger_width": (ind.bollinger_width, t_bollinger_width, 20),
    "atr": (ind.atr, t_atr, 15),
    "volatility": (ind.volatility, t_volatility, 21),
    "vwap": (ind.vwap, t_vwap, 20),
    "volume_ratio": (ind.volume_ratio, t_volume_ratio, 20),
    "roc": (ind.roc, t_roc, 13),
    "adx": (ind.adx, t_adx, 28),
    "z_score": (ind.z_score, t_z_score, 20),
    "highest_high": (
        lambda h, **kw: ind.highest_high(h, 30, **kw), lambda b: max(x.high for x in b[-30:]), 30
    ),
    "lowest_low": (
        lambda h, **kw: ind.lowest_low(h, 30, **kw), lambda b: min(x.low for x in b[-30:]), 30
    ),
}


def close_enough(got, want, scale):
    """1e-9 relative; values near 0 are compared at 1e-9 of the quantity's natural scale."""
    got, want = np.atleast_1d(got), np.atleast_1d(want)
    return got.shape == want.shape and all(
        math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9 * scale)
        for g, w in zip(got.tolist(), want.tolist(), strict=True)
    )


def natural_scale(name, bars):
    """Price-level quantities are judged against the price; oscillators against 100."""
    if name in {"rsi", "stochastic", "adx"}:
        return 100.0
    if name in {"roc", "volatility", "bollinger_width", "volume_ratio", "z_score"}:
        return 1.0
    return abs(bars[-1].close)


def read_candles(path, limit, market, venue):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    return [
        Candle(int(r["ts"]), float(r["open"]), float(r["high"]), float(r["low"]),
               float(r["close"]), float(r["volume"]), market, 3600, venue)
        for r in rows
    ]


REAL = [
    # starts with flat, zero-volume bars: exercises the 0/0 conventions
    ("binance-BTCUSDT-3600.csv", "BTCUSDT", "binance"),
    ("hyperliquid-SOL-3600.csv", "SOL", "hyperliquid"),
]


@pytest.fixture(scope="module", params=REAL, ids=[r[0] for r in REAL])
def real_bars(request, flint_test_data):
    name, market, venue = request.param
    return read_candles(flint_test_data / name, 600, market, venue)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_textbook_formula_on_real_candles(name, real_bars):
    call, textbook, need = CASES[name]
    root = CandleSeries.from_candles(real_bars)
    history = root.window(0, 0)
    checked = 0
    for stop in range(need, len(real_bars) + 1, 7):
        bars = real_bars[:stop]
        want = textbook(bars)
        scale = natural_scale(name, bars)
        history.move_to(0, stop)
        assert close_enough(call(bars), want, scale), (name, stop, call(bars), want)
        assert close_enough(call(history), want, scale), (name, stop, call(history), want)
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_bar_short_raises_index_error_saying_how_many(name):
    call, _, need = CASES[name]
    bars = [Candle(i, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 1.0) for i in range(need)]
    call(bars)
    call(CandleSeries.from_candles(bars))
    for short in (bars[:-1], CandleSeries.from_candles(bars)[1:]):
        expected = f"needs at least {need} bars of history, got {need - 1}"
        with pytest.raises(IndexError, match=expected):
            call(short)
    # a current candle counts as one bar
    call(bars[:-1], candle=bars[-1])
    call(CandleSeries.from_candles(bars)[:-1], candle=bars[-1])
    for short in (bars[1:-1], CandleSeries.from_candles(bars)[1:-1]):
        with pytest.raises(IndexError, match=f"got {need - 1}"):
            call(short, candle=bars[-1])


def test_columns_are_the_newest_values_oldest_first():
    bars = [Candle(i, 0.0, 10.0 + i, 5.0 + i, 7.0 + i, 100.0 + i) for i in range(6)]
    for history in (bars, CandleSeries.from_candles(bars)):
        assert ind.closes(history).tolist() == [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
        assert ind.closes(history, 2).tolist() == [11.0, 12.0]
        assert ind.highs(history, 3).tolist() == [13.0, 14.0, 15.0]
        assert ind.lows(history, 1).tolist() == [10.0]
        assert ind.volumes(history, 2).tolist() == [104.0, 105.0]
        with pytest.raises(IndexError, match="closes\\(period=7\\) needs at least 7 bars"):
            ind.closes(history, 7)
    window_closes = ind.closes(CandleSeries.from_candles(bars))
    assert not window_closes.flags.writeable


def test_bad_periods_are_refused_and_integer_likes_accepted():
    bars = [Candle(i, 1.0, 2.0, 0.5, 1.5, 1.0) for i in range(40)]
    with pytest.raises(ValueError, match="sma: period must be >= 1, got 0"):
        ind.sma(bars, 0)
    with pytest.raises(TypeError, match=r"ema: period must be an integer, got 2\.5"):
        ind.ema(bars, 2.5)
    with pytest.raises(TypeError, match="rsi: period must be an integer, got True"):
        ind.rsi(bars, True)
    with pytest.raises(ValueError, match="macd: signal must be >= 1, got -1"):
        ind.macd(bars, 12, 26, -1)
    assert ind.sma(bars, np.int64(5)) == ind.sma(bars, 5) == 1.5


def test_a_window_computes_once_and_caches_on_its_root():
    bars = [Candle(i, 1.0, 2.0 + i, 0.5, 1.0 + i % 7, 1.0) for i in range(300)]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    for stop in range(50, 300):
        history.move_to(stop - 100 if stop > 100 else 0, stop)
        ind.sma(history, 20)
        ind.bollinger(history, 20)
        ind.z_score(history, 20)
    assert set(root.cache) == {(_k.SMA, 20), (_k.MEAN_STD, 20)}
    cached = root.cache[(_k.SMA, 20)].columns
    ind.sma(root[10:60], 20)
    assert root.cache[(_k.SMA, 20)].columns is cached


def test_a_series_from_candles_reads_only_the_columns_its_indicators_use():
    bars = [Candle(i * 60, 1.0, 2.0 + i, 0.5, 1.0 + i % 7, 1.0, "SOL", 60) for i in range(80)]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 60)
    names = ("ts", "open", "high", "low", "close", "volume")

    def read():  # the root's columns read from the candles so far
        return [name for name, col in zip(names, root._cols, strict=True) if col is not None]

    ind.sma(history, 20)
    ind.ema(history, 10)
    assert read() == ["close"]  # the closes only: not all five price columns
    ind.atr(history, 14)
    assert read() == ["high", "low", "close"]


def test_a_window_reading_many_indicators_every_bar_gets_each_one_right():
    bars = [Candle(3600 * i, 1.0, 2.0 + i % 5, 0.5, 1.0 + (i * 7919) % 13, 1.0 + i % 3)
            for i in range(90)]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    periods = range(2, 14)  # more indicators than a window remembers
    for stop in range(20, 90):
        history.move_to(0, stop, bars[stop])
        for p in periods:
            assert ind.sma(history, p) == pytest.approx(t_sma(bars[:stop], p), rel=1e-12)
            assert ind.sma(history, p, candle=bars[stop]) == pytest.approx(
                t_sma(bars[: stop + 1], p), rel=1e-12
            )
            assert ind.highest_high(history, p) == max(b.high for b in bars[stop - p : stop])
    assert len(root.cache) == 2 * len(periods)


# Cached (window) and direct (list) computations agree everywhere.


@st.composite
def candle_lists(draw, min_size=1, max_size=120):
    n = draw(st.integers(min_size, max_size))
    closes = draw(st.lists(st.floats(1.0, 1e5), min_size=n, max_size=n))
    spreads = draw(st.lists(st.floats(0.0, 0.05), min_size=n, max_size=n))
    volumes = draw(st.lists(st.sampled_from([0.0, 0.5, 3.0, 1e4]), min_size=n, max_size=n))
    return [
        Candle(3600 * i, c, c * (1 + s), c * (1 - s), c, v)
        for i, (c, s, v) in enumerate(zip(closes, spreads, volumes, strict=True))
    ]


@settings(max_examples=40, deadline=None)
@given(candle_lists(min_size=40), st.integers(0, 40), st.sampled_from(sorted(CASES)))
def test_window_values_equal_the_list_computation_at_every_bar(bars, lag, name):
    call, _, need = CASES[name]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    for stop in range(need, len(bars) + 1):
        start = max(0, stop - need - lag)
        history.move_to(start, stop)
        # the window reads the root up to its end: equal to the list over bars[:stop] ...
        assert close_enough(call(history), call(bars[:stop]), abs(bars[stop - 1].close))
        # ... which, for a fixed lookback, is the list over the window's own bars
        if name not in {"ema", "macd", "rsi", "atr", "adx"}:
            assert close_enough(call(history), call(bars[start:stop]), abs(bars[stop - 1].close))


@settings(max_examples=30, deadline=None)
@given(candle_lists(min_size=40, max_size=80), st.integers(0, 40), st.sampled_from(sorted(CASES)))
def test_a_current_candle_is_the_newest_bar_on_every_path(bars, lag, name):
    call, _, need = CASES[name]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    for stop in range(need - 1, len(bars)):
        start = max(0, stop - need - lag + 1)
        candle = bars[stop]
        want = call(bars[: stop + 1])
        scale = abs(candle.close)
        assert close_enough(call(bars[:stop], candle=candle), want, scale)
        history.move_to(start, stop, candle)  # as the engine moves it: read from the cache
        assert close_enough(call(history, candle=candle), want, scale)
        history.move_to(start, stop)  # an equal candle not named as following
        assert close_enough(call(history, candle=root.candle(stop)), want, scale)
        other = Candle(candle.ts, candle.open, candle.high * 1.5, candle.low, candle.close * 1.25,
                       candle.volume + 7.0)
        expected = call([*bars[:stop], other])
        assert close_enough(call(history, candle=other), expected, scale * 1.5)
        if name not in {"ema", "macd", "rsi", "atr", "adx"}:
            assert close_enough(call(bars[start:stop], candle=candle), want, scale)


def test_a_current_candle_reads_the_same_cached_series_one_bar_on():
    bars = [Candle(3600 * i, 1.0, 2.0 + i, 0.5, 1.0 + i % 7, 1.0) for i in range(120)]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    for stop in range(60, 120):
        history.move_to(stop - 50, stop, bars[stop])
        assert ind.sma(history, 20, candle=bars[stop]) == ind.sma(root[: stop + 1], 20)
        assert ind.sma(history, 20, candle=bars[stop]) == root.cache[(_k.SMA, 20)].columns[0][stop]
    assert set(root.cache) == {(_k.SMA, 20)}


@settings(max_examples=40, deadline=None)
@given(candle_lists(min_size=40), st.data())
def test_a_value_never_depends_on_later_bars(bars, data):
    stop = data.draw(st.integers(34, len(bars) - 2))
    changed = [*bars[:stop], *(Candle(c.ts, 1.0, 9e9, 0.1, 5e8, 1e9) for c in bars[stop:])]
    a = CandleSeries.from_candles(bars).window(0, stop)
    b = CandleSeries.from_candles(changed).window(0, stop)
    for call, _, _need in CASES.values():
        assert np.array_equal(np.atleast_1d(call(a)), np.atleast_1d(call(b)))
    # with the current candle, as the engine passes it: nothing after that candle counts
    kept = [*bars[: stop + 1], *(Candle(c.ts, 1.0, 9e9, 0.1, 5e8, 1e9) for c in bars[stop + 1 :])]
    a = CandleSeries.from_candles(bars).window(0, 0)
    b = CandleSeries.from_candles(kept).window(0, 0)
    a.move_to(0, stop, bars[stop])
    b.move_to(0, stop, kept[stop])
    for call, _, _need in CASES.values():
        got_a = call(a, candle=bars[stop])
        assert np.array_equal(np.atleast_1d(got_a), np.atleast_1d(call(b, candle=kept[stop])))


@pytest.mark.parametrize("as_series", [True, False], ids=["series", "list"])
def test_in_the_engine_a_current_candle_gives_the_value_up_to_that_bar(as_series):
    from flint.backtest.engine import BacktestEngine
    from flint.models import Signal

    bars = [Candle(3600 * i, 10.0, 11.0 + i % 4, 9.0, 10.0 + (i * 37) % 11, 5.0, "X")
            for i in range(120)]
    seen = []

    class Recorder:
        def reset(self):
            seen.clear()

        def on_candle(self, candle, history, ctx=None):
            assert history.following is candle
            if len(history) >= 9:
                seen.append((ind.sma(history, 10, candle=candle),
                             ind.rsi(history, 5, candle=candle), ind.rsi(history, 5)))
            return Signal.HOLD

    data = CandleSeries.from_candles(bars) if as_series else bars
    BacktestEngine(Recorder(), history_size=30).run(data)
    assert len(seen) == 120 - 9
    for i, (fast, strength, before) in zip(range(9, 120), seen, strict=True):
        assert fast == pytest.approx(t_sma(bars[: i + 1], 10), rel=1e-12)
        assert strength == pytest.approx(t_rsi(bars[: i + 1], 5), rel=1e-9)
        assert before == pytest.approx(t_rsi(bars[:i], 5), rel=1e-9)


def test_indicators_are_registered_as_built_ins(flint_host):
    registry = flint_host.registry("indicators")
    builtin = [e.name for e in registry.entries() if e.provenance.dist == "flint-sdk"]
    assert builtin == sorted(ind.BUILT_IN) == sorted(set(ind.__all__) - {"get"})
    for name in ind.BUILT_IN:
        entry = registry.entry(name)
        assert entry.obj is getattr(ind, name)
        assert entry.provenance.plugin == "flint._builtins.indicators"


# Indicators plugins build from a series kernel


def test_a_series_indicator_is_computed_once_per_root_and_read_per_bar():
    from flint.plugins import series_indicator

    calls = []

    @series_indicator(inputs=("close", "volume"), min_bars=lambda period: period)
    def weighted(close, volume, period):
        """Volume-weighted mean close."""
        calls.append(len(close))
        return _k.rolling_sum(close * volume, period) / _k.rolling_sum(volume, period)

    bars = [Candle(3600 * i, 1.0, 9.0, 0.5, 1.0 + i % 5, 1.0 + i % 3) for i in range(80)]
    root = CandleSeries.from_candles(bars)
    history = root.window(0, 0)
    for stop in range(10, 80):
        history.move_to(max(0, stop - 30), stop, bars[stop])
        want = sum(b.close * b.volume for b in bars[stop - 10 : stop]) / sum(
            b.volume for b in bars[stop - 10 : stop])
        assert weighted(history, 10) == pytest.approx(want, rel=1e-12)
        assert weighted(history, 10, candle=bars[stop]) == weighted(bars[: stop + 1], 10)
    assert calls[0] == 80 and calls.count(80) == 1  # once over the root, then lists
    assert set(root.cache) == {(weighted.series, 10)}
    assert weighted.description == "Volume-weighted mean close."
    assert weighted.series.params == ("period",)


def test_a_series_indicator_with_several_outputs_returns_a_tuple_and_checks_its_kernel():
    from flint.plugins import series_indicator

    @series_indicator(inputs=("high", "low"), min_bars=lambda period, width: period)
    def band(high, low, period, width):
        """Rolling max of the highs and min of the lows, widened."""
        return np.column_stack((_k.rolling_max(high, period) + width,
                                _k.rolling_min(low, period) - width))

    bars = [Candle(3600 * i, 1.0, 2.0 + i, 0.5, 1.0, 1.0) for i in range(30)]
    assert band(CandleSeries.from_candles(bars).window(0, 20), 5, 1.0) == (21.0 + 1.0, -0.5)
    with pytest.raises(IndexError, match=r"band\(period=5, width=1.0\) needs at least 5 bars"):
        band(bars[:4], 5, 1.0)

    @series_indicator(min_bars=lambda period: period)
    def short(close, period):
        """Forgets the first bar."""
        return close[1:]

    with pytest.raises(ValueError, match=r"kernel of short returned shape \(29,\) for 30 bars"):
        short(CandleSeries.from_candles(bars).window(0, 10), 3)

    @series_indicator(min_bars=lambda period: period - 5)
    def greedy(close, period):
        """min_bars can be < 1."""
        return close

    with pytest.raises(ValueError, match=r"greedy\(period=3\): min_bars gave -2"):
        greedy(bars, 3)
    with pytest.raises(ValueError, match="unknown price input 'mid'"):
        series_indicator(inputs=("mid",), min_bars=len)


def test_a_registered_indicator_works_in_a_sandboxed_strategy_file(process_plugins):
    from flint.backtest.engine import BacktestEngine
    from flint.strategy.loader import load_user_strategy, validate_strategy_code

    process_plugins.add("flint-mid", "flint_mid", """
        from flint.plugins import hookimpl, series_indicator
        from flint_core.indicators import rolling_mean

        @series_indicator(inputs=("high", "low"), min_bars=lambda period: period)
        def mid(high, low, period):
            '''Mean of (high + low) / 2 over period bars.'''
            return rolling_mean((high + low) / 2, period)

        @hookimpl
        def flint_register_indicators(register):
            register("mid", mid)
    """)
    code = """
from flint import indicators
from flint.models import Signal
from flint.strategy.base import Strategy

class AboveMid(Strategy):
    def __init__(self):
        self.mid = indicators.get("mid")

    @property
    def name(self):
        return "above-mid"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < 5:
            return Signal.HOLD
        return Signal.BUY if candle.close > self.mid(history, 5) else Signal.SELL

    def reset(self):
        pass
"""
    assert validate_strategy_code(code) == (True, None)
    bars = CandleSeries.from_candles(
        [Candle(3600 * i, 1.0, 2.0 + i % 4, 0.5, 1.0 + i % 7, 1.0) for i in range(60)])
    result = BacktestEngine(load_user_strategy(code)).run(bars)
    assert result.fills
    mid = ind.get("mid")
    assert list(bars.cache) == [(mid.series, 5)]  # the engine's window read the cached series


# A root that grows (paper and live sessions): cached series extend by the new bars


def _growing_root(bars):
    """A root over ``bars[:1]`` with room for all of them, and a function growing it by
    the next bars, as a session appends each new bar (through ``CandleSeries.grow``)."""
    n = len(bars)
    columns = [np.zeros(n, dtype=np.int64), *np.zeros((5, n))]
    for i, b in enumerate(bars):
        for k, value in enumerate((b.ts, b.open, b.high, b.low, b.close, b.volume)):
            columns[k][i] = value
    root = CandleSeries(*(c[:0] for c in columns))
    root.grow(1, columns)
    return root


def _bits(value):
    values = value if isinstance(value, tuple) else (value,)
    return tuple(np.float64(v).tobytes() for v in values)


@st.composite
def _price_bars(draw):
    steps = draw(st.lists(st.one_of(st.just(0.0), st.floats(-3.0, 3.0)), min_size=2,
                          max_size=90))
    close, bars = 100.0, []
    for i, step in enumerate(steps):
        close = max(1.0, close + step)
        up = draw(st.sampled_from([0.0, 0.25, 1.5]))
        down = draw(st.sampled_from([0.0, 0.5, 2.0]))
        volume = draw(st.sampled_from([0.0, 1.0, 3.5]))
        bars.append(Candle(3600 * i, close, close + up, max(0.5, close - down), close, volume))
    return bars


@pytest.mark.parametrize("name, params", [
    ("sma", (7,)), ("sma", (9,)), ("ema", (5,)), ("wma", (6,)), ("rsi", (4,)),
    ("stochastic", (5,)), ("macd", (3, 7, 4)), ("bollinger", (8,)), ("atr", (3,)),
    ("volatility", (5,)), ("vwap", (4,)), ("volume_ratio", (10,)), ("roc", (3,)),
    ("adx", (3,)), ("z_score", (6,)), ("highest_high", (16,)), ("lowest_low", (2,)),
])
@settings(max_examples=25, deadline=None)
@given(bars=_price_bars(), chunks=st.lists(st.integers(1, 4), min_size=1, max_size=40),
       size=st.integers(1, 30))
def test_a_growing_roots_indicators_equal_the_whole_computation_bit_for_bit(
        name, params, bars, chunks, size):
    indicator = getattr(ind, name)
    root = _growing_root(bars)
    history = root.window(0, 0)
    stop = 1
    for chunk in [*chunks, len(bars)]:
        stop = min(len(bars), stop + chunk)
        root.grow(stop)
        whole = CandleSeries.from_candles(bars[:stop])
        at = stop - 1  # the newest bar, read as the current candle and as history's last
        history.move_to(max(0, at - size), at, bars[at])
        for kwargs, window in (({"candle": bars[at]}, whole.window(history.start, at)),
                               ({}, whole.window(history.start, at))):
            try:
                want = indicator(window, *params, **kwargs)
            except IndexError:
                with pytest.raises(IndexError):
                    indicator(history, *params, **kwargs)
                continue
            assert _bits(indicator(history, *params, **kwargs)) == _bits(want), (stop, kwargs)
        if stop == len(bars):
            break


def test_a_plugin_series_on_a_growing_root_runs_over_the_new_bars_or_resumes():
    from flint.indicators import series_indicator

    windows, resumed = [], []

    @series_indicator(min_bars=lambda period: period)
    def summed(close, period):
        """Sum of the last ``period`` closes."""
        windows.append(len(close))
        return _k.rolling_sum(close, period)

    def cumulative_resume(state, done, close, start):
        if not state:
            state.append(0.0)
        resumed.append(done)
        out = np.empty(close.shape[0] - done)
        for j, value in enumerate(close[done:].tolist()):
            state[0] += value
            out[j] = state[0] if done + j >= start else np.nan
        return out

    @series_indicator(min_bars=lambda start: start + 1, recursive=True,
                      resume=cumulative_resume)
    def cumulative(close, start):
        """Running total of the closes from bar ``start`` on."""
        return cumulative_resume([], 0, close, start)

    @series_indicator(min_bars=lambda start: start + 1, recursive=True)
    def cumulative_rerun(close, start):
        """The same without a resume function: computed again as the root grows."""
        windows.append(-len(close))
        return cumulative_resume([], 0, close, start)

    bars = [Candle(3600 * i, 1.0, 2.0, 0.5, 1.0 + i % 7, 1.0) for i in range(40)]
    root = _growing_root(bars)
    history = root.window(0, 0)
    for stop in range(10, 41):
        root.grow(stop)
        history.move_to(0, stop - 1, bars[stop - 1])
        listed = bars[:stop]
        assert summed(history, 4, candle=bars[stop - 1]) == summed(listed, 4)
        assert cumulative(history, 3, candle=bars[stop - 1]) == cumulative(listed, 3)
        assert cumulative_rerun(history, 3, candle=bars[stop - 1]) == cumulative(listed, 3)
    kernel_runs = [n for n in windows if n > 0]
    assert kernel_runs[0] == 10 and set(kernel_runs[1:]) == {4}  # then new bar + 3 before
    assert [-n for n in windows if n < 0] == list(range(10, 41))  # rerun over the whole root
    assert [d for d in resumed if d > 0] == list(range(10, 40))  # continued, not rerun
