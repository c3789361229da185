"""Reports people look at: PNG charts and one self-contained HTML page per run.

Charts are drawn with matplotlib (``pip install flint-sdk[report]``) and embedded in
the HTML as base64 PNGs, so the page opens anywhere with no network.
"""

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from flint.analytics.monte_carlo import MonteCarloResult
from flint.analytics.tearsheet import Tearsheet

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

PERCENT_METRICS = frozenset({
    "total_return", "cagr", "annualized_volatility", "max_drawdown", "win_rate",
})


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "reports need matplotlib: pip install 'flint-sdk[report]'"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _dates(points: list[tuple[int, float]]) -> Any:
    return np.array([t for t, _ in points], dtype="datetime64[s]")


def chart_equity(tear: Tearsheet) -> bytes:
    """Equity curve (top) and drawdown (bottom) as PNG bytes."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    x = _dates(tear.equity_curve)
    top.plot(x, [e for _, e in tear.equity_curve], color="#1f6feb", linewidth=1.4)
    top.axhline(tear.initial_capital, color="#888", linewidth=0.8, linestyle="--")
    top.set_ylabel("equity")
    top.set_title("Equity")
    dd = [-100 * d for _, d in tear.drawdown_curve]
    bottom.fill_between(x, dd, 0, color="#d73a49", alpha=0.6)
    bottom.set_ylabel("drawdown %")
    fig.autofmt_xdate()
    return _png(fig)


def chart_monthly_returns(tear: Tearsheet) -> bytes:
    """Monthly returns heatmap (years x months) as PNG bytes."""
    plt = _pyplot()
    years = sorted(tear.monthly_returns)
    grid = np.full((max(len(years), 1), 12), np.nan)
    for i, year in enumerate(years):
        for month, value in tear.monthly_returns[year].items():
            grid[i, month - 1] = 100 * value
    fig, ax = plt.subplots(figsize=(10, 0.6 * max(len(years), 1) + 1.2))
    finite = grid[np.isfinite(grid)]
    bound = max(float(np.abs(finite).max()) if finite.size else 1.0, 1e-9)
    ax.imshow(grid, cmap="RdYlGn", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(12), MONTHS)
    ax.set_yticks(range(len(years)), [str(y) for y in years])
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8)
    ax.set_title("Monthly returns %")
    return _png(fig)


def chart_monte_carlo(mc: MonteCarloResult) -> bytes:
    """Fan chart of the simulated equity percentiles as PNG bytes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    bands = mc.equity_bands
    x = np.arange(len(bands[50]))
    ax.fill_between(x, bands[5], bands[95], color="#1f6feb", alpha=0.15, label="5-95%")
    ax.fill_between(x, bands[25], bands[75], color="#1f6feb", alpha=0.3, label="25-75%")
    ax.plot(x, bands[50], color="#1f6feb", linewidth=1.2, label="median")
    ax.set_title(f"Monte Carlo ({mc.iterations} paths, {mc.method.replace('_', ' ')})")
    ax.legend(loc="upper left")
    return _png(fig)


def _format(name: str, value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if name in PERCENT_METRICS:
        return f"{100 * value:.2f}%"
    return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"


def _cell(column: str, value: object) -> str:
    if column.endswith("_ts") and isinstance(value, int):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(tear: Tearsheet, title: str, monte_carlo: MonteCarloResult | None = None) -> str:
    """A self-contained HTML report of one run."""
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_format(k, v)}</td></tr>"
        for k, v in tear.metrics.items()
    )
    trade_rows = "".join(
        "<tr>" + "".join(
            f"<td>{html.escape(_cell(c, t[c]))}</td>"
            for c in ("market", "venue", "side", "size", "entry_ts", "exit_ts",
                      "entry_price", "exit_price", "pnl")
        ) + "</tr>"
        for t in tear.trades[:1000]
    )
    charts = [_img(chart_equity(tear), "equity and drawdown")]
    if tear.monthly_returns:
        charts.append(_img(chart_monthly_returns(tear), "monthly returns"))
    if monte_carlo is not None:
        charts.append(_img(chart_monte_carlo(monte_carlo), "Monte Carlo fan"))
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in tear.warnings)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
th, td {{ padding: 2px 10px; border-bottom: 1px solid #eee; text-align: right; }}
th {{ text-align: left; font-weight: 500; }}
img {{ display: block; max-width: 100%; margin-bottom: 1.5rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{''.join(charts)}
<h2>Metrics</h2><table>{rows}</table>
{f'<h2>Warnings</h2><ul>{warnings}</ul>' if warnings else ''}
<h2>Trades ({len(tear.trades)})</h2>
<table><tr><th>market</th><th>venue</th><th>side</th><th>size</th><th>entry ts</th>
<th>exit ts</th><th>entry</th><th>exit</th><th>pnl</th></tr>{trade_rows}</table>
</body></html>
"""


def write_report(
    tear: Tearsheet,
    out_dir: str | Path,
    title: str,
    monte_carlo: MonteCarloResult | None = None,
) -> Path:
    """Write ``report.html`` and the PNG charts into ``out_dir``; return the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "equity.png").write_bytes(chart_equity(tear))
    if tear.monthly_returns:
        (out / "monthly_returns.png").write_bytes(chart_monthly_returns(tear))
    if monte_carlo is not None:
        (out / "monte_carlo.png").write_bytes(chart_monte_carlo(monte_carlo))
    page = out / "report.html"
    page.write_text(render_html(tear, title, monte_carlo), encoding="utf-8")
    return page
