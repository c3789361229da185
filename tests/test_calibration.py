"""Slippage calibration recovers the impact coefficient of fills simulated on real books."""

import csv
import json

import attrs
import numpy as np
import pytest
from click.testing import CliRunner

from flint.backtest.calibration import (
    CalibrationError,
    ImpactFill,
    calibrate,
    journal_fills,
    with_bars,
)
from flint.cli.main import cli
from flint.models import CandleSeries
from flint.store import FlintStore

K = 0.004  # the coefficient the simulated venue charges


def real_books(data):
    """(side, touch, depth of the top ten levels, tick) of every side of the recorded order
    books (Hyperliquid DYDX, Binance BTCUSDT): a buy takes the asks, a sell the bids."""
    fixtures = data / "fixtures"
    books = []
    hl = json.loads((fixtures / "hyperliquid" / "info_l2Book_DYDX.response.json").read_text())
    books.append(([(float(x["px"]), float(x["sz"])) for x in hl["levels"][0]],
                  [(float(x["px"]), float(x["sz"])) for x in hl["levels"][1]]))
    with open(fixtures / "binance" / "um_BTCUSDT_depth_snapshot_20221102.csv") as f:
        books.append(([(float(r["price"]), float(r["qty"])) for r in csv.DictReader(f)
                       if r["side"] == "b"], []))  # the snapshot holds the bids only
    with open(fixtures / "binance" / "um_BTCUSDT_book_snapshot_25_20200901_tardis.csv") as f:
        for r in csv.DictReader(f):
            books.append(tuple(
                [(float(r[f"{side}[{i}].price"]), float(r[f"{side}[{i}].amount"]))
                 for i in range(25)] for side in ("bids", "asks")))
    sides = []
    for bids, asks in books:
        for side, levels in ((-1, sorted(bids, reverse=True)), (1, sorted(asks))):
            if levels:
                prices = np.unique([p for p, _ in levels])
                sides.append((side, levels[0][0], sum(q for _, q in levels[:10]),
                              float(np.diff(prices).min())))
    return sides


def simulate(books, n, k=K, b=0.5, seed=1, venue="hyperliquid", market="DYDX-PERP"):
    """Taker fills on the real books: a size up to the top ten levels' depth, in a bar
    trading 25 times that depth; the price moves ``k * participation**b`` from the touch,
    scaled by noise (sd 25 %), and is rounded to the book's tick."""
    rng = np.random.default_rng(seed)
    fills = []
    for i in range(n):
        side, touch, depth, tick = books[rng.integers(len(books))]
        size = depth * rng.uniform(0.02, 1.0)
        volume = depth * 25
        moved = touch * (1 + side * k * (size / volume) ** b * rng.normal(1.0, 0.25))
        fills.append(ImpactFill(1_700_000_000 + 60 * i, venue, market, side, size,
                                round(moved / tick) * tick, touch, volume))
    return fills


def test_the_fit_recovers_the_known_coefficient_within_its_interval(flint_test_data):
    fills = simulate(real_books(flint_test_data), 400)
    found = calibrate(fills, current_k=0.005)
    assert found.k_interval.low < K < found.k_interval.high
    assert found.k == pytest.approx(K, rel=0.05)
    assert found.k_interval.high - found.k_interval.low < 0.2 * K  # and it is tight
    assert 0.5 in found.power_b_interval and found.model == "sqrt"
    assert found.oos_r2_sqrt > 0.5
    assert found.recommended_k == found.k and found.fills == 400
    assert found.drift_pct == pytest.approx((found.k / 0.005 - 1) * 100)


def test_a_venue_off_the_square_root_is_told(flint_test_data):
    fills = simulate(real_books(flint_test_data), 400, k=0.02, b=0.9, seed=3)
    found = calibrate(fills)
    assert found.power_b_interval.low < 0.9 < found.power_b_interval.high
    assert found.model == "power" and found.oos_r2_power > found.oos_r2_sqrt


def test_too_few_fills_are_refused(flint_test_data):
    fills = simulate(real_books(flint_test_data), 99)
    with pytest.raises(CalibrationError, match=r"hyperliquid/DYDX-PERP: 99 fill\(s\), but a "
                                               r"calibration needs at least 100"):
        calibrate(fills)
    assert calibrate(fills, min_fills=50).fills == 99


def test_fills_take_the_bar_that_closed_before_them():
    bars = CandleSeries(np.array([0, 3600, 7200]), [10, 11, 12], [10, 11, 12], [10, 11, 12],
                        [10.0, 11.0, 12.0], [5.0, 0.0, 7.0], "SOL-PERP", 3600)
    fills = [ImpactFill(ts, "v", "SOL-PERP", 1, 1.0, 12.5) for ts in (3000, 3600, 7300, 11000)]
    placed = with_bars(fills, bars)
    # 3000: no bar closed yet; 7300: the bar that closed at 7200 traded nothing
    assert [(f.ts, f.reference_price, f.bar_volume) for f in placed] == [
        (3600, 10.0, 5.0), (11000, 12.0, 7.0)]


def _write(path, fills, with_reference=True):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["ts", "venue", "market", "side", "size", "price",
                      *(["reference_price", "bar_volume"] if with_reference else [])])
        for x in fills:
            out.writerow([x.ts, x.venue, x.market, "buy" if x.side > 0 else "sell", x.size,
                          x.price, *([x.reference_price, x.bar_volume] if with_reference
                                     else [])])


def test_flint_calibrate_reads_a_csv_and_recommends_a_coefficient(flint_test_data, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    books = real_books(flint_test_data)
    fills = simulate(books, 300) + simulate(books, 40, market="BTC-PERP")
    _write(tmp_path / "fills.csv", fills)
    runner = CliRunner()
    done = runner.invoke(cli, ["calibrate", "hyperliquid", "--fills", "fills.csv"])
    assert done.exit_code == 0, done.output
    assert "BTC-PERP: 40 fill(s), but a calibration needs at least 100" in done.output
    k = calibrate([f for f in fills if f.market == "DYDX-PERP"]).k
    assert f"venues:\n  hyperliquid:\n    impact_coefficient: {k:.6g}" in done.output
    one = runner.invoke(cli, ["calibrate", "hyperliquid", "--market", "BTC-PERP",
                              "--fills", "fills.csv"])
    assert one.exit_code == 1
    assert one.output.strip().splitlines() == [
        "Error: hyperliquid/BTC-PERP: 40 fill(s), but a calibration needs at least 100 "
        "(calibration_min_fills): trade more, or paper trade, and calibrate again"]
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,venue,market,side,size,price\n1,hyperliquid,X,up,1,2\n")
    wrong = runner.invoke(cli, ["calibrate", "hyperliquid", "--fills", str(bad)])
    assert wrong.exit_code == 1
    assert "line 2: side must be buy/sell (or long/short), got 'up'" in wrong.output
    none = runner.invoke(cli, ["calibrate", "drift", "--fills", "fills.csv"])
    assert none.exit_code == 1 and "no fills of drift" in none.output


def test_journal_fills_are_calibrated_against_the_stored_candles(flint_test_data, tmp_path):
    books = real_books(flint_test_data)
    hour = 1_699_999_200  # on the hour
    simulated = [attrs.evolve(f, ts=hour + 3600 * (i + 1) + 5) for i, f in enumerate(
        simulate(books, 150, venue="binance", market="BTC-PERP"))]
    # one candle per fill, the fill just after it closed: its close is the touch
    ts = np.array([f.ts - 3605 for f in simulated])
    closes = np.array([f.reference_price for f in simulated])
    volumes = np.array([f.bar_volume for f in simulated])
    db = tmp_path / "flint.duckdb"
    with FlintStore(db) as store:
        store.upsert_candles(CandleSeries(ts, closes, closes, closes, closes, volumes,
                                          "BTC-PERP", 3600, "binance"))
        store.save_backtest_run({"kind": "paper", "strategy": "s", "market": "BTC-PERP",
                                 "fills": [{"ts": f.ts, "market": f.market, "venue": f.venue,
                                            "side": "long" if f.side > 0 else "short",
                                            "size": f.size, "price": f.price,
                                            "is_maker": False} for f in simulated]})
        store.save_backtest_run({"kind": "backtest", "strategy": "s", "market": "BTC-PERP",
                                 "fills": [{"ts": 1, "market": "BTC-PERP", "venue": "binance",
                                            "side": "long", "size": 1e9, "price": 1.0}]})
        records = [store.get_backtest_run(r["run_id"]) for r in store.list_backtest_runs()]
    assert len(journal_fills(records)) == 150  # simulated backtest fills are not evidence
    done = CliRunner().invoke(cli, ["calibrate", "binance", "--db", str(db)])
    assert done.exit_code == 0, done.output
    expected = calibrate(simulated)
    assert f"impact_coefficient: {expected.k:.6g}" in done.output
