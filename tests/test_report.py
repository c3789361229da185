"""The HTML report is self-contained and its charts really render in a browser."""

from types import SimpleNamespace

import numpy as np

from flint.analytics.monte_carlo import run_monte_carlo
from flint.analytics.report import render_html, write_optimization_report, write_report
from flint.analytics.tearsheet import generate_tearsheet
from flint.models import Position


def _tearsheet():
    rng = np.random.default_rng(11)
    n = 24 * 120
    equity = 10_000 * np.cumprod(1 + rng.normal(0.0001, 0.006, n))
    start = 1_704_067_200
    trades = [Position(100.0, 1.0, start, 104.0, start + 7200, 4.0, True, "SOL-PERP", "drift"),
              Position(100.0, -1.0, start, 102.0, start + 7200, -2.0, True, "SOL-PERP", "drift")]
    result = SimpleNamespace(
        equity_curve=equity.tolist(), timestamps=[start + 3600 * i for i in range(n)],
        resolution_s=3600, initial_capital=10_000.0, positions=trades,
        strategy_warnings=["low_trade_count"],
    )
    return generate_tearsheet(result), run_monte_carlo(equity, iterations=200)


def test_report_is_self_contained(tmp_path):
    tear, mc = _tearsheet()
    page = write_report(tear, tmp_path, "SOL-PERP <test>", mc)
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4
    assert "http://" not in text and "https://" not in text
    assert "SOL-PERP &lt;test&gt;" in text and "low_trade_count" in text
    for name in ("equity.png", "rolling_sharpe.png", "monthly_returns.png", "monte_carlo.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(tear, "t")
    assert "<td>-2</td>" in page and "<td>2024-01-01 02:00</td>" in page


def test_a_run_without_trades_shows_its_trade_statistics_as_undefined():
    flat = SimpleNamespace(equity_curve=[10_000.0] * 48, resolution_s=3600,
                           initial_capital=10_000.0)
    page = render_html(generate_tearsheet(flat, monte_carlo_iterations=0), "idle")
    assert "<th>win_rate</th><td>n/a (no trades)</td>" in page
    assert "<th>profit_factor</th><td>n/a (no trades)</td>" in page
    assert "<th>total_trades</th><td>0</td>" in page


def test_report_renders_in_headless_chromium_with_charts_drawn(tmp_path, screenshot):
    tear, mc = _tearsheet()
    pixels = screenshot(write_report(tear, tmp_path / "report", "render check", mc), 3200)
    assert pixels.shape[0] >= 2000
    non_white = np.mean(pixels.min(axis=2) < 0.9)
    assert non_white > 0.05, "the page is nearly blank"
    # the equity line (#1f6feb) and the drawdown fill (#d73a49 at 60%) were painted
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x6F, 0xEB]) / 255) < 0.08, axis=2)
    red = (pixels[:, :, 0] > 0.8) & (pixels[:, :, 1] < 0.6) & (pixels[:, :, 2] < 0.6)
    assert blue.sum() > 500, "no equity line visible"
    assert red.sum() > 500, "no drawdown area visible"
    # the rolling Sharpe line (#6f42c1)
    purple = np.all(np.abs(pixels - np.array([0x6F, 0x42, 0xC1]) / 255) < 0.08, axis=2)
    assert purple.sum() > 200, "no rolling Sharpe line visible"


def test_optimisation_report_charts_history_and_importance(tmp_path, screenshot):
    trials = [
        {"number": i, "value": v, "state": "COMPLETE", "params": {"a": i % 3, "b": i},
         "total_pnl": 10.0 * v, "max_drawdown": 0.1, "total_trades": 7}
        for i, v in enumerate([0.1, 0.5, 0.2, 0.9, 0.3])
    ] + [{"number": 5, "value": None, "state": "FAIL", "params": {"a": 0, "b": 5}}]
    result = {"metric": "sharpe_ratio", "direction": "maximize", "best_value": 0.9,
              "best_params": {"a": 0, "b": 3}, "param_importance": {"a": 0.3, "b": 0.7},
              "trials": sorted(trials[:5], key=lambda t: -t["value"]) + trials[5:]}
    page = write_optimization_report(result, tmp_path / "opt", "opt <check>")
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 2 and "opt &lt;check&gt;" in text
    assert "Top 5 trials" in text and "<td>0.9000</td>" in text
    for name in ("optimization_history.png", "param_importance.png"):
        assert (tmp_path / "opt" / name).read_bytes()[:4] == b"\x89PNG"
    pixels = screenshot(page, 1600)
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x6F, 0xEB]) / 255) < 0.08, axis=2)
    assert blue.sum() > 2000, "no importance bars visible"
