import json
import re
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from hypothesis import given

from flint.execution.context import ExecutionContext
from flint.execution.fill_models import (
    ClosePriceFill,
    FillPipeline,
    NextBarOpenFill,
    SlippageFill,
)
from flint.indicators import macd, sma
from flint.models import (
    AccountState,
    Candle,
    Order,
    OrderStatus,
    OrderType,
    PositionInfo,
    Signal,
    TimeInForce,
)
from flint.plugins import series_indicator
from flint.providers.base import DataProvider
from flint.sample_data import SAMPLE_START_TS
from flint.strategy.base import Strategy
from flint.testing import sample_bars, sample_funding, sample_venue_configs
from flint.testing.contracts import (
    DataProviderContract,
    ExecutionContextContract,
    FillModelContract,
    IndicatorContract,
    StrategyContract,
)
from flint.testing.plugin import real_data_dir
from flint.testing.strategies import candle_series, candles, orderbooks, orders


def test_real_data_fixture_points_at_the_shared_candles(flint_test_data):
    assert (flint_test_data / "binance-SOLUSDT-3600.csv").is_file()


def test_real_data_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FLINT_TEST_DATA", raising=False)
    assert real_data_dir(tmp_path / "repo") == tmp_path / "shared" / "data"
    monkeypatch.setenv("FLINT_TEST_DATA", str(tmp_path / "elsewhere"))
    assert real_data_dir(tmp_path / "repo") == tmp_path / "elsewhere"


class TestClosePriceFillContract(FillModelContract):
    def make_model(self):
        return ClosePriceFill()


class TestNextBarOpenFillContract(FillModelContract):
    def make_model(self):
        return NextBarOpenFill()


class TestSlippageFillContract(FillModelContract):
    def make_model(self):
        return SlippageFill(12.5)


class TestFillPipelineContract(FillModelContract):
    def make_model(self):
        return FillPipeline(latency_seed=9)


# The strategy contract and the sample data behind it

class Crossing(Strategy):
    """Long while the close is above the 10-bar SMA of history, flat below: causal."""

    def __init__(self, period: int = 10, bars_seen: int = 0) -> None:
        self.period = period
        self.bars_seen = bars_seen

    @property
    def name(self):
        return "crossing"

    def on_candle(self, candle, history, ctx=None):
        self.bars_seen += 1
        if len(history) < self.period:
            return Signal.HOLD
        return Signal.BUY if candle.close > sma(history, self.period) else Signal.SELL

    def reset(self):
        self.bars_seen = 0

    @classmethod
    def parameters(cls):
        return {"period": {"type": "int", "low": 2, "high": 50, "default": 10}}


class TestCrossingContract(StrategyContract):
    strategy_class = Crossing


class Peeking(Crossing):
    """Buys when the NEXT close is higher: looks ahead through the window's root."""

    def on_candle(self, candle, history, ctx=None):
        closes = history.root.closes
        if history.stop + 1 < len(closes) and closes[history.stop + 1] > candle.close:
            return Signal.BUY
        return Signal.SELL


class Leaky(Crossing):
    """Forgets to reset: trades differently on a second run of the same instance."""

    def on_candle(self, candle, history, ctx=None):
        self.bars_seen += 1
        return Signal.BUY if self.bars_seen % 50 == 0 else Signal.SELL if (
            self.bars_seen % 50 == 25) else Signal.HOLD

    def reset(self):
        pass


class Dicey(Crossing):
    """Unseeded randomness: not deterministic."""

    def on_candle(self, candle, history, ctx=None):
        return Signal.BUY if np.random.default_rng().random() < 0.05 else Signal.SELL


class Misdescribed(Crossing):
    @classmethod
    def parameters(cls):
        return {"period": {"type": "int", "low": 2, "high": 50, "default": 20},
                "speed": {"type": "float", "low": 0.1, "high": 1.0}}


@pytest.mark.parametrize(("strategy_class", "test", "complaint"), [
    (Peeking, "test_does_not_look_ahead", "looks ahead"),
    (Leaky, "test_reset_restores_initial_behaviour", "reset() leaks state"),
    (Dicey, "test_is_deterministic", "two identical runs differ"),
    (Misdescribed, "test_parameters_are_valid_constructor_arguments", "['speed']"),
])
def test_the_strategy_contract_catches_what_it_promises_to(strategy_class, test, complaint):
    contract = type("Contract", (StrategyContract,), {"strategy_class": strategy_class})()
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        getattr(contract, test)()


def test_the_contract_checks_parameter_defaults_against_the_constructor():
    class WrongDefault(Crossing):
        @classmethod
        def parameters(cls):
            return {"period": {"type": "int", "low": 2, "high": 50, "default": 20}}

    contract = type("Contract", (StrategyContract,), {"strategy_class": WrongDefault})()
    with pytest.raises(AssertionError, match="default 20, the constructor 10"):
        contract.test_parameters_are_valid_constructor_arguments()


def test_sample_markets_come_with_both_venues_funding_and_configs():
    bars = sample_bars("SOL-PERP", "hyperliquid", days=3)
    assert len(bars) == 72 and bars.venue == "hyperliquid" and bars.resolution_s == 3600
    assert bars is sample_bars("SOL-PERP", "hyperliquid", days=3)  # built once
    funding = sample_funding("SOL-PERP", days=3)
    assert {r.source: r.interval_s for r in funding} == {"binance": 28800, "hyperliquid": 3600}
    assert [r.ts for r in funding] == sorted(r.ts for r in funding)
    assert {r.source for r in sample_funding("SOL-PERP", ["binance"], days=3)} == {"binance"}
    configs = sample_venue_configs()
    assert configs["binance"].funding_interval_s == 28800 and configs["hyperliquid"].name
    with pytest.raises(KeyError, match="no sample candles for drift/SOL-PERP"):
        sample_bars("SOL-PERP", "drift", days=3)


# The indicator contract


class TestSmaContract(IndicatorContract):
    indicator = sma
    params = (20,)
    min_bars = 20


class TestMacdContract(IndicatorContract):
    indicator = macd
    params = (5, 9, 4)
    min_bars = 12


@series_indicator(inputs=("high", "low"), min_bars=lambda period: period)
def midrange(high, low, period):
    """Mean of the last ``period`` (high + low) / 2."""
    mid = (high + low) / 2
    out = np.full(mid.shape[0], np.nan)
    for i in range(period - 1, mid.shape[0]):
        out[i] = mid[i - period + 1 : i + 1].mean()
    return out


class TestSeriesIndicatorContract(IndicatorContract):
    indicator = midrange
    params = (6,)


@series_indicator(inputs=("close",), min_bars=lambda period: period)
def tomorrow(close, period):
    """Looks ahead: the next close."""
    return np.append(close[1:], np.nan)


@series_indicator(inputs=("close",), min_bars=lambda period: period)
def underestimated(close, period):
    """Needs period + 1 bars but says period: the one-off computation sees too few."""
    out = np.full(close.shape[0], np.nan)
    out[period:] = close[period:] - close[:-period]
    return out


def plain_last_close(history):
    """The newest close, as a plain function (no candle=)."""
    return history[-1].close


class TestPlainFunctionContract(IndicatorContract):
    indicator = plain_last_close
    min_bars = 1


@pytest.mark.parametrize(("indicator", "test", "complaint"), [
    (tomorrow, "test_does_not_look_ahead", "changed when only bars from"),
    (underestimated, "test_needs_its_minimum_number_of_bars", "min_bars is too small"),
    (underestimated, "test_window_and_list_agree_at_every_bar", "nan"),
])
def test_the_indicator_contract_catches_what_it_promises_to(indicator, test, complaint):
    contract = type("Contract", (IndicatorContract,), {"indicator": indicator,
                                                        "params": (5,)})()
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        getattr(contract, test)()


# The data provider contract


class TestSampleProviderContract(DataProviderContract):
    registered_as = "sample"
    options = {"days": 3}
    venue = "hyperliquid"  # what the sample serves when no venue is asked for
    kinds = ("candles",)
    start_ts = SAMPLE_START_TS + 3600
    end_ts = SAMPLE_START_TS + 2 * 86_400


class HttpCandles(DataProvider):
    """Candles from a JSON endpoint: [[ts, open, high, low, close, volume], ...]."""

    name = "http-candles"
    capabilities = frozenset({"candles"})

    def __init__(self, api_url, shuffle=False):
        self.api_url, self.shuffle = api_url, shuffle

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, *, venue=None):
        query = urllib.parse.urlencode({"market": market, "from": start_ts, "to": end_ts})
        with urllib.request.urlopen(f"{self.api_url}/candles?{query}") as answer:
            rows = json.loads(answer.read())
        bars = [Candle(*row, market, resolution_s, venue or self.name) for row in rows]
        return bars[::-1] if self.shuffle else bars

    def fetch_funding(self, market, start_ts, end_ts, *, venue=None):
        raise self._unsupported("funding")


def serve_candles(request):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    start, end = int(query["from"][0]), int(query["to"][0])
    return 200, [[t, 10.0, 11.0, 9.0, 10.5, 3.0] for t in range(0, 48 * 3600, 3600)
                 if start <= t <= end]


class TestHttpProviderContract(DataProviderContract):
    start_ts, end_ts = 3600, 30 * 3600

    @pytest.fixture(autouse=True)
    def venue_server(self, fake_http_server):
        fake_http_server.route("GET", "/candles", serve_candles)
        self.server = fake_http_server

    def make_provider(self):
        return HttpCandles(self.server.url)

    def test_the_fake_saw_the_asked_range(self):
        with self.make_provider() as provider:
            list(provider.fetch_pages("candles", "SOL-PERP", 3600, 30 * 3600, 3600))
        query = urllib.parse.urlsplit(self.server.requests[-1].path).query
        assert urllib.parse.parse_qs(query) == {"market": ["SOL-PERP"], "from": ["3600"],
                                                "to": ["107999"]}  # [start, end)


def test_the_provider_contract_catches_unordered_data(fake_http_server):
    fake_http_server.route("GET", "/candles", serve_candles)

    class Contract(TestHttpProviderContract):
        def make_provider(self):
            return HttpCandles(self.server.url, shuffle=True)

    contract = Contract()
    contract.server = fake_http_server
    with pytest.raises(AssertionError, match="candles: rows out of order"):
        contract.test_pages_cover_the_span_in_order_and_hold_only_their_rows()


def test_the_fake_server_answers_404_off_its_routes(fake_http_server):
    fake_http_server.route("GET", "/a", lambda request: (200, {"x": 1}))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{fake_http_server.url}/b")
    assert err.value.code == 404
    with urllib.request.urlopen(f"{fake_http_server.url}/a") as answer:
        assert json.loads(answer.read()) == {"x": 1}
        assert [r.path for r in fake_http_server.requests] == ["/b", "/a"]


# The execution context contract


class InstantPaper(ExecutionContext):
    """Paper trading that fills market orders at once at a fixed price."""

    def __init__(self, mode="paper", price=100.0, reduce_only_ignored=False):
        self.mode, self.price, self.ignore_reduce = mode, price, reduce_only_ignored
        self.held: dict[str, PositionInfo] = {}
        self.resting: dict[str, Order] = {}
        self.count = 0

    @property
    def account(self):
        return AccountState(10_000.0, 10_000.0)

    @property
    def positions(self):
        return list(self.held.values())

    @property
    def pending_orders(self):
        return list(self.resting.values())

    @property
    def current_candle(self):
        return None

    @property
    def timestamp(self):
        return 0

    @property
    def markets(self):
        return ["SOL-PERP"]

    def get_candles(self, market, lookback=50, *, venue=None):
        return [Candle(0, self.price, self.price, self.price, self.price, 1.0, market)]

    def _id(self):
        self.count += 1
        return str(self.count)

    def market_order(self, market, side, size, reduce_only=False, tag="", venue="default", *,
                     time_in_force=TimeInForce.IOC):
        held = self.held.get(market)
        if held is None and reduce_only and not self.ignore_reduce:
            return ""
        if held is not None and held.side != side:
            del self.held[market]
        elif held is None:
            self.held[market] = PositionInfo(market, side, size, self.price, venue=venue)
        return self._id()

    def limit_order(self, market, side, size, price, reduce_only=False, tag="", venue="default"):
        order_id = self._id()
        self.resting[order_id] = Order(market, side, OrderType.LIMIT, size, price,
                                       order_id=order_id, venue=venue)
        return order_id

    def stop_order(self, market, side, size, trigger_price, tag="", venue="default", *,
                   reduce_only=True):
        return ""

    def take_profit_order(self, market, side, size, trigger_price, tag="", venue="default", *,
                          reduce_only=True):
        return ""

    def cancel(self, order_id):
        return self.resting.pop(order_id, None) is not None

    def cancel_all(self, market=None):
        cancelled = [k for k, o in self.resting.items() if market in (None, o.market)]
        for key in cancelled:
            del self.resting[key]
        return len(cancelled)


class TestInstantPaperContract(ExecutionContextContract):
    venue = "default"

    def make_context(self):
        return InstantPaper()


class TestRegisteredContextContract(ExecutionContextContract):
    """The default make_context: get_execution_context of a registered venue."""

    venue, mode = "instant", "paper"
    options = {"price": 50.0}

    @pytest.fixture(autouse=True)
    def registered(self, process_plugins):
        process_plugins.add("flint-instant", "flint_instant", f"""
            from flint.plugins import hookimpl
            from {InstantPaper.__module__} import InstantPaper

            @hookimpl
            def flint_register_execution_contexts(register):
                register("instant", InstantPaper, modes={{"paper"}})
        """)

    def test_it_is_the_registered_one(self):
        assert self.make_context().price == 50.0


def test_the_context_contract_catches_reduce_only_orders_that_open():
    contract = type("Contract", (ExecutionContextContract,), {
        "venue": "default", "make_context": lambda self: InstantPaper(reduce_only_ignored=True)
    })()
    with pytest.raises(AssertionError):
        contract.test_a_reduce_only_order_never_opens_a_position()


# Hypothesis strategies


@given(candles())
def test_generated_candles_are_valid_bars(bar):
    assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert bar.volume >= 0 and bar.ts % bar.resolution_s == 0


@given(candle_series(min_size=2, max_size=30, venue="binance"))
def test_generated_series_are_consecutive_bars_of_one_market(series):
    assert np.all(np.diff(series.timestamps) == 3600) and series.venue == "binance"
    assert np.all(series.lows <= np.minimum(series.opens, series.closes))


@given(orderbooks())
def test_generated_books_have_bids_below_asks_best_first(book):
    bids, asks = [lv.price for lv in book.bids], [lv.price for lv in book.asks]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert not (bids and asks) or bids[0] < asks[0]
    assert all(lv.size > 0 for lv in (*book.bids, *book.asks))


@given(orders())
def test_generated_orders_are_well_formed(order):
    assert order.size > 0 and order.status is OrderStatus.PENDING
    assert (order.price == 0) == (order.order_type is OrderType.MARKET)
