"""The HTML report is self-contained and its charts really render in a browser."""

import os
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

from flint.analytics.monte_carlo import run_monte_carlo
from flint.analytics.report import render_html, write_report
from flint.analytics.tearsheet import generate_tearsheet
from flint.models import Position

pytest.importorskip("matplotlib", reason="reports need the 'report' extra")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


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
    assert text.count("data:image/png;base64,") == 3
    assert "http://" not in text and "https://" not in text
    assert "SOL-PERP &lt;test&gt;" in text and "low_trade_count" in text
    for name in ("equity.png", "monthly_returns.png", "monte_carlo.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(tear, "t")
    assert "<td>-2.0</td>" in page and "<td>2024-01-01 02:00</td>" in page


def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run does) to check the report renders")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def test_report_renders_in_headless_chromium_with_charts_drawn(tmp_path):
    import matplotlib.image

    tear, mc = _tearsheet()
    page = write_report(tear, tmp_path / "report", "render check", mc)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1200,2600", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = matplotlib.image.imread(shot)[:, :, :3]
    assert pixels.shape[0] >= 2000
    non_white = np.mean(pixels.min(axis=2) < 0.9)
    assert non_white > 0.05, "the page is nearly blank"
    # the equity line (#1f6feb) and the drawdown fill (#d73a49 at 60%) were painted
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x6F, 0xEB]) / 255) < 0.08, axis=2)
    red = (pixels[:, :, 0] > 0.8) & (pixels[:, :, 1] < 0.6) & (pixels[:, :, 2] < 0.6)
    assert blue.sum() > 500, "no equity line visible"
    assert red.sum() > 500, "no drawdown area visible"
