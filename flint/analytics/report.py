"""Reports people look at: PNG charts and one self-contained HTML page per run.

Charts are drawn with matplotlib (a dependency of flint-sdk) and embedded in
the HTML as base64 PNGs, so the page opens anywhere with no network.
"""

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flint.analytics.metrics import undefined
from flint.analytics.monte_carlo import MonteCarloResult
from flint.analytics.tearsheet import Tearsheet

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

PERCENT_METRICS = frozenset({
    "total_return", "cagr", "annualized_volatility", "max_drawdown", "win_rate",
})
TRADE_COLUMNS = ("market", "venue", "side", "size", "entry_ts", "exit_ts", "entry_price",
                 "exit_price", "pnl")
#: Trades listed in a report (all of them count in the metrics).
MAX_TRADES = 1000


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "reports need matplotlib, a dependency of flint-sdk that is missing here: "
            "pip install matplotlib"
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


def chart_rolling_sharpe(tear: Tearsheet) -> bytes:
    """Rolling 30-day Sharpe ratio as PNG bytes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(_dates(tear.rolling_sharpe), [v for _, v in tear.rolling_sharpe], color="#6f42c1",
            linewidth=1.0)
    ax.axhline(0, color="#888", linewidth=0.8)
    ax.set_title("Rolling 30-day Sharpe ratio")
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


def chart_optimization_history(trials: Sequence[Mapping[str, Any]], direction: str,
                               metric: str) -> bytes:
    """Each completed trial's value by trial number and the best so far, as PNG bytes."""
    plt = _pyplot()
    done = sorted(
        (int(t["number"]), float(t["value"])) for t in trials
        if t.get("state") == "COMPLETE" and t.get("value") is not None
    )
    numbers = [n for n, _ in done]
    values = np.array([v for _, v in done])
    best = (np.minimum if direction == "minimize" else np.maximum).accumulate(values) \
        if values.size else values
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.scatter(numbers, values, s=12, color="#1f6feb", alpha=0.6, label="trial")
    ax.step(numbers, best, where="post", color="#d73a49", linewidth=1.6, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"Optimisation history ({len(done)} completed trials, {direction})")
    ax.legend(loc="lower right" if direction == "maximize" else "upper right")
    return _png(fig)


def chart_param_importance(importance: Mapping[str, float]) -> bytes:
    """Horizontal bars of each parameter's importance, as PNG bytes."""
    plt = _pyplot()
    items = sorted(importance.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(len(items), 1) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#1f6feb")
    ax.set_xlabel("importance (share of the metric's variation)")
    ax.set_title("Parameter importance")
    return _png(fig)


def _format(name: str, value: object) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if name in PERCENT_METRICS:
        return f"{100 * value:.2f}%"
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"


def _cell(column: str, value: object) -> str:
    if column.endswith("_ts") and isinstance(value, int):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def html_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """An HTML table of ``rows`` (values escaped; ``*_ts`` columns shown as UTC times)."""
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(c, row.get(c, '')))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _page(title: str, charts: Mapping[str, bytes], body: str) -> str:
    images = "".join(_img(png, name.replace("_", " ")) for name, png in charts.items())
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
{images}
{body}
</body></html>
"""


def _run_charts(tear: Tearsheet, monte_carlo: MonteCarloResult | None) -> dict[str, bytes]:
    charts = {"equity": chart_equity(tear)}
    if tear.rolling_sharpe:
        charts["rolling_sharpe"] = chart_rolling_sharpe(tear)
    if tear.monthly_returns:
        charts["monthly_returns"] = chart_monthly_returns(tear)
    if monte_carlo is not None:
        charts["monte_carlo"] = chart_monte_carlo(monte_carlo)
    return charts


def _run_body(tear: Tearsheet, sections: Sequence[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>"
        f"{'n/a (no trades)' if undefined(k, tear.metrics) else _format(k, v)}</td></tr>"
        for k, v in tear.metrics.items()
    )
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in tear.warnings)
    shown = tear.trades[:MAX_TRADES]
    note = f" (the first {MAX_TRADES} shown)" if len(tear.trades) > MAX_TRADES else ""
    trades = html_table(TRADE_COLUMNS, shown)
    extra = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    return (
        f"<h2>Metrics</h2><table>{rows}</table>"
        + (f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else "")
        + extra
        + f"<h2>Trades ({len(tear.trades)}){note}</h2>{trades}"
    )


def render_html(tear: Tearsheet, title: str, monte_carlo: MonteCarloResult | None = None,
                sections: Sequence[tuple[str, str]] = ()) -> str:
    """A self-contained HTML report of one run; ``sections`` are extra (heading, HTML)."""
    return _page(title, _run_charts(tear, monte_carlo), _run_body(tear, sections))


def write_report(
    tear: Tearsheet,
    out_dir: str | Path,
    title: str,
    monte_carlo: MonteCarloResult | None = None,
    sections: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write ``report.html`` and the PNG charts into ``out_dir``; return the HTML path."""
    charts = _run_charts(tear, monte_carlo)
    return _write(out_dir, charts, _page(title, charts, _run_body(tear, sections)))


def write_optimization_report(result: Mapping[str, Any], out_dir: str | Path, title: str,
                              top: int = 20) -> Path:
    """Write the optimisation-history and parameter-importance charts and ``report.html``.

    ``result`` is :meth:`OptimizationResult.to_dict()
    <flint.optimization.optimizer.OptimizationResult.to_dict>` (or its journal record).
    """
    metric = str(result["metric"])
    charts = {"optimization_history": chart_optimization_history(
        result["trials"], str(result["direction"]), metric)}
    if result.get("param_importance"):
        charts["param_importance"] = chart_param_importance(result["param_importance"])
    names = list(result["best_params"])
    rows = [
        {"number": t["number"], metric: _format(metric, t["value"]),
         **{n: t["params"].get(n, "") for n in names},
         **{k: _format(k, t[k]) for k in ("total_pnl", "max_drawdown", "total_trades")
            if t.get(k) is not None}}
        for t in result["trials"][:top] if t.get("state") == "COMPLETE"
    ]
    best = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in {**result["best_params"], metric: _format(metric, result["best_value"])}
        .items()
    )
    body = (
        f"<h2>Best parameters</h2><table>{best}</table>"
        f"<h2>Top {len(rows)} trials</h2>"
        + html_table(["number", metric, *names, "total_pnl", "max_drawdown", "total_trades"],
                     rows)
    )
    return _write(out_dir, charts, _page(title, charts, body))


def _write(out_dir: str | Path, charts: Mapping[str, bytes], page: str) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in charts.items():
        (out / f"{name}.png").write_bytes(png)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
