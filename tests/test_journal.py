from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint.backtest.engine import BacktestEngine
from flint.backtest.journal import run_record, tearsheet_from_record
from flint.backtest.result import FILL, POSITION, record_dicts, record_dtype, record_table
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, Position, Side, Signal
from flint.store import FlintStore
from flint.strategy.base import Strategy
from flint_core.venues import VenueConfig


class Alternate(Strategy):
    """Buys on even bars and sells on odd ones."""

    name = "alternate"

    def __init__(self):
        self.n = 0

    def on_candle(self, candle, history, ctx=None):
        self.n += 1
        return Signal.BUY if self.n % 2 else Signal.SELL

    def reset(self):
        self.n = 0


def test_a_journaled_run_rebuilds_the_same_tearsheet(tmp_path):
    candles = [Candle(1_704_067_200 + 3600 * i, 100 + i % 7, 101 + i % 7, 99 + i % 7,
                      100 + (i * 3) % 7, 10.0, "SOL-PERP") for i in range(300)]
    result = BacktestEngine(Alternate(), fill_model=ClosePriceFill()).run(candles)
    record = run_record(result, strategy="alternate", params={}, market="SOL-PERP",
                        venue="default", fill_model="close", fee_rate=0.0005)
    with FlintStore(tmp_path / "j.duckdb") as store:
        run_id = store.save_backtest_run(record)
        listed = store.list_backtest_runs()
        loaded = store.get_backtest_run(run_id)
    assert listed[0]["total_trades"] == result.total_trades > 100
    assert listed[0]["sharpe_ratio"] == record["metrics"]["sharpe_ratio"]
    again = tearsheet_from_record(loaded)
    assert again.metrics == tearsheet_from_record(record).metrics
    assert again["total_pnl"] == result.total_pnl
    assert len(again.trades) == result.total_trades


def test_study_records_keep_storage_urls_without_passwords():
    from types import SimpleNamespace

    import pytest

    from flint.backtest.journal import redact, study_record

    assert redact("postgresql://flint:s3cret@db-host:5432/studies") == \
        "postgresql://flint:***@db-host:5432/studies"
    assert redact("sqlite:///studies.db") == "sqlite:///studies.db"
    result = SimpleNamespace(to_dict=lambda: {"best_value": 1.5, "best_params": {"a": 1}})
    record = study_record("optimization", result,
                          {"strategy": "x", "storage": "postgresql://u:pw@h/db"})
    assert record == {"kind": "optimization", "strategy": "x", "storage": "postgresql://u:***@h/db",
                      "best_value": 1.5, "best_params": {"a": 1}}
    with pytest.raises(ValueError, match="kind must be one of optimization, walk_forward"):
        study_record("backtest", result, {})


KINDS = (None, "backtest", "optimization", "walk_forward")


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.fixed_dictionaries({
    "strategy": st.sampled_from(["a", "b"]), "kind": st.sampled_from(KINDS),
    "market": st.sampled_from(["SOL-PERP", "BTC-PERP"]),
    "venue": st.sampled_from(["binance", "hyperliquid", "binance+hyperliquid"]),
    "created_at": st.integers(1, 50)}), max_size=12),
    strategy=st.sampled_from([None, "a"]), kind=st.sampled_from(KINDS),
    market=st.sampled_from([None, "SOL-PERP"]), venue=st.sampled_from([None, "binance"]),
    since=st.sampled_from([None, 10]), until=st.sampled_from([None, 40]),
    page=st.integers(1, 5))
def test_journal_filters_and_pages_select_what_they_say(tmp_path_factory, records, strategy,
                                                        kind, market, venue, since, until,
                                                        page):
    path = tmp_path_factory.mktemp("journal") / "j.duckdb"
    with FlintStore(path) as store:
        for i, r in enumerate(records):
            store.save_backtest_run({**{k: v for k, v in r.items() if v is not None},
                                     "run_id": f"r{i:02d}"})
        filters = {"strategy": strategy, "kind": kind, "market": market, "venue": venue,
                   "since": since, "until": until}
        wanted = sorted(
            (r["created_at"], f"r{i:02d}") for i, r in enumerate(records)
            if (strategy is None or r["strategy"] == strategy)
            and (kind is None or (r["kind"] or "backtest") == kind)
            and (market is None or r["market"] == market)
            and (venue is None or venue in r["venue"].split("+"))
            and (since is None or r["created_at"] >= since)
            and (until is None or r["created_at"] < until))
        expected = [run_id for _, run_id in sorted(wanted, key=lambda w: (-w[0], w[1]))]
        assert store.count_backtest_runs(**filters) == len(expected)
        pages = [store.list_backtest_runs(page, offset=o, **filters)
                 for o in range(0, len(expected) + 1, page)]
        assert [r["run_id"] for p in pages for r in p] == expected


def listed_by_parsing(record):
    """The listing of one record as it was before summaries: its scalar top-level fields."""
    return {k: v for k, v in record.items() if v is None or isinstance(v, (str, int, float, bool))}


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                    st.text(max_size=8))
MEMBERS = st.dictionaries(st.text(max_size=6), st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), SCALARS,
                                                            max_size=3)), max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(MEMBERS, min_size=1, max_size=6))
def test_the_listing_is_each_records_scalar_fields_in_its_order(tmp_path_factory, records):
    import json

    path = tmp_path_factory.mktemp("journal") / "j.duckdb"
    with FlintStore(path) as store:
        for i, record in enumerate(records):
            store.save_backtest_run({**record, "run_id": f"r{i:02d}", "created_at": 1000 - i})
        listed = store.list_backtest_runs(len(records))
        expected = [listed_by_parsing(store.get_backtest_run(f"r{i:02d}"))
                    for i in range(len(records))]
    # JSON text compares NaN equal to itself and keeps the key order and int/float apart
    assert [json.dumps(r) for r in listed] == [json.dumps(r) for r in expected]


def test_a_version_4_journal_lists_the_same_runs_once_a_writer_migrates_it(tmp_path):
    """Many runs journaled before summaries existed list exactly as they did then."""
    import json

    import duckdb

    from flint.store import schema

    records = [{"kind": ("backtest", "optimization", None)[i % 3], "strategy": f"s{i % 4}",
                "market": "SOL-PERP", "venue": "binance+hyperliquid" if i % 2 else "binance",
                "params": {"fast": i}, "result": {"equity": [1.0, float(i)]},
                "total_pnl": float("inf") if i == 7 else i * 1.5, "sharpe_ratio": float("nan"),
                "total_trades": i, "note": "é\"\\\n", "run_id": f"run{i:03d}",
                "created_at": 1_700_000_000 + i // 2} for i in range(120)]
    path = tmp_path / "v4.duckdb"
    conn = duckdb.connect(str(path))
    schema.migrate(conn, schema.MIGRATIONS[:4])
    for r in records:
        conn.execute("INSERT INTO backtest_runs VALUES (?, ?, ?, ?, ?)",
                     [r["run_id"], r["strategy"], r["market"], r["created_at"], json.dumps(r)])
    order = sorted(records, key=lambda r: (-r["created_at"], r["run_id"]))
    before = [listed_by_parsing(r) for r in order]
    conn.close()
    with FlintStore(path) as store:
        pages = [store.list_backtest_runs(25, offset=o) for o in range(0, 120, 25)]
        venues = store.list_backtest_runs(200, venue="hyperliquid", kind="backtest")
    assert json.dumps([r for page in pages for r in page]) == json.dumps(before)
    assert [r["run_id"] for r in venues] == [
        r["run_id"] for r in order if r["run_id"][-1] in "13579" and r["kind"] != "optimization"]


H = 3600
T0 = 1_704_067_200
ALT = VenueConfig(name="alt", taker_fee_bps=10, maker_fee_bps=2, initial_margin=0.1,
                  maintenance_margin=0.05, max_leverage=10, liquidation_penalty=0.02,
                  impact_coefficient=0.0, base_latency_s=0, latency_jitter_s=0)


class Busy(Strategy):
    """Long then short then long on Binance SOL with partial closes; on ``alt`` ETH a
    long at nearly the maximum leverage, which the dip of bar 12 liquidates."""

    name = "busy"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx):
        bar = (candle.ts - T0) // H
        if bar == 1:
            ctx.market_order("ETH", Side.LONG, 440.5, venue="alt")
        order = {2: (Side.LONG, 3.0), 4: (Side.SHORT, 1.25), 6: (Side.SHORT, 0.5),
                 8: (Side.SHORT, 4.0), 10: (Side.LONG, 0.75), 14: (Side.LONG, 2.5)}.get(bar)
        if order is not None:
            ctx.market_order("SOL-PERP", *order, venue="binance")
        return Signal.HOLD


def busy_candles(prices):
    """Binance SOL and alt ETH candles of 16 bars, their prices made by ``prices``."""
    def series(venue, market, closes, lows):
        return [Candle(T0 + H * i, prices(c), prices(c + 1), prices(lo), prices(c), 10.0,
                       market, H, venue)
                for i, (c, lo) in enumerate(zip(closes, lows, strict=True))]
    sol = [100.25 + 1.5 * (i % 5) for i in range(16)]
    eth = [200.5 + i for i in range(16)]
    lows = [c - 40 if i == 12 else c - 2 for i, c in enumerate(eth)]  # the long's liquidation
    return {"binance:SOL-PERP": series("binance", "SOL-PERP", sol, [c - 1 for c in sol]),
            "alt:ETH": series("alt", "ETH", eth, lows)}


def journaled(data):
    from flint.store.store import journal_json

    return journal_json({"result": data, "run_id": "r", "created_at": 1})


@pytest.mark.parametrize("prices", [float, int], ids=["float", "int"])
def test_a_records_arrays_are_journaled_as_the_plain_result(prices):
    import numpy as np

    from flint.execution.margin import MarginEngine

    result = BacktestEngine(Busy(), fee_rate=0.0005, fill_model=ClosePriceFill(),
                            margin_engine=MarginEngine(), venues={"alt": ALT}).run(
        busy_candles(prices))
    fills, positions = result.fills, result.positions
    assert {f.side for f in fills} == {Side.LONG, Side.SHORT}
    assert {(f.venue, f.market) for f in fills} == {("binance", "SOL-PERP"), ("alt", "ETH")}
    assert [f.order_id for f in fills if f.order_id.startswith("liq-")] == ["liq-1"]
    assert any(0 < abs(p.size) < 3.0 for p in positions if p.venue == "binance")  # partial
    assert {p.size > 0 for p in positions} == {True, False}
    assert result.open_positions and not result.open_positions[0].closed
    arrays = result.to_dict(arrays=True)
    assert journaled(arrays) == journaled(result.to_dict())
    if prices is float:  # (int prices: a pure build's fills hold ints, kept as they are)
        assert all(isinstance(arrays[key], np.recarray)
                   for key in ("fills", "positions", "open_positions"))
        assert arrays["fills"].dtype == FILL and arrays["positions"].dtype == POSITION
        assert arrays["fills"]["side"].tolist() == [f.side.value for f in fills]


@dataclass
class Leg:
    price: float
    ts: int
    done: bool
    side: Side
    venue: str


def test_a_record_array_needs_records_of_its_class_and_values_of_their_fields_types():
    import numpy as np

    legs = [Leg(1.5, 7, True, Side.LONG, "alt"), Leg(-0.0, -1, False, Side.SHORT, "")]
    table = record_table(legs, Leg)
    assert isinstance(table, np.recarray) and table.dtype == record_dtype(Leg)
    assert record_dicts(table) == [
        {"price": 1.5, "ts": 7, "done": True, "side": "long", "venue": "alt"},
        {"price": -0.0, "ts": -1, "done": False, "side": "short", "venue": ""}]
    assert record_table([], Leg).dtype == record_dtype(Leg)
    for other in (Leg(1, 7, True, Side.LONG, "a"), Leg(1.5, True, True, Side.LONG, "a"),
                  Leg(1.5, 2 ** 63, True, Side.LONG, "a"), Leg(1.5, 7, 1, Side.LONG, "a"),
                  Leg(1.5, 7, True, "long", "a"), Leg(1.5, 7, True, Side.LONG, None)):
        assert record_table([legs[0], other], Leg) is None  # the array would change it
    assert record_table([Position(1.0, 1.0, 0)], Leg) is None
