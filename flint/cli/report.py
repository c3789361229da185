"""``flint report RUN_ID``: a self-contained HTML report and PNG charts of a journaled run.

A backtest gets equity and drawdown, rolling Sharpe, monthly returns, a Monte Carlo
fan, the metrics and the trade list; a walk-forward run the same for its stitched
out-of-sample equity plus its windows; an optimisation its history and parameter
importance charts and its best trials.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flint.cli.common import db_option, db_path, make_console, user_errors, when

if TYPE_CHECKING:
    from flint.analytics.tearsheet import Tearsheet


def _title(record: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in (record.get("params") or {}).items())
    what = f"{record.get('strategy', '?')}" + (f" ({params})" if params else "")
    return (f"{what} on {record.get('venue', '?')}/{record.get('market', '?')}, "
            f"{when(record.get('start_ts'))} .. {when(record.get('end_ts'))} UTC")


def record_tearsheet(record: dict[str, Any], iterations: int, seed: int) -> "Tearsheet":
    """The tearsheet of a backtest record, or of a walk-forward record's stitched
    out-of-sample run (``iterations`` Monte Carlo paths, 0 for none)."""
    from flint.backtest.journal import tearsheet_from_record

    if record.get("kind") == "walk_forward":
        record = {**record, "result": {
            **record.get("oos_run", {}), "equity_curve": record["oos_equity_curve"],
            "timestamps": record["oos_timestamps"],
        }}
    return tearsheet_from_record(record, monte_carlo_iterations=iterations, seed=seed)


def write_record_report(record: dict[str, Any], out: Path, iterations: int, seed: int) -> Path:
    """Write the report of a journal record into ``out``; return the HTML page."""
    from flint.analytics.report import html_table, write_optimization_report, write_report

    kind = record.get("kind", "backtest")
    if kind == "optimization":
        return write_optimization_report(record, out, f"Optimisation: {_title(record)}")
    tear = record_tearsheet(record, iterations, seed)
    if kind == "walk_forward":
        windows = [
            {**{k: "-" if v is None else v for k, v in w.items()},
             "best_params": ", ".join(f"{k}={v}" for k, v in w["best_params"].items())
             or "none: no trial completed"}
            for w in record["windows"]
        ]
        summary = html_table(
            ["mean_in_sample", "mean_out_of_sample", "overfitting_ratio", "parameter_stability"],
            [record],
        )
        columns = ["index", "train_start_ts", "train_end_ts", "test_start_ts", "test_end_ts",
                   "best_params", "in_sample", "out_of_sample", "out_of_sample_pnl",
                   "out_of_sample_trades", "out_of_sample_fees", "out_of_sample_funding",
                   "failed_trials"]
        return write_report(
            tear, out, f"Walk-forward, stitched out-of-sample equity: {_title(record)}",
            tear.monte_carlo,
            sections=[(f"Walk-forward ({record['metric']})", summary),
                      ("Windows", html_table(columns, windows))],
        )
    return write_report(tear, out, _title(record), tear.monte_carlo)


@click.command("report")
@click.argument("run_id")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for report.html and the PNG charts (default: ./reports/RUN_ID).")
@click.option("--iterations", type=click.IntRange(min=1), default=500, show_default=True,
              help="Monte Carlo paths.")
@click.option("--seed", type=int, default=42, show_default=True, help="Monte Carlo seed.")
@db_option
@user_errors
def report_command(run_id: str, out: Path | None, iterations: int, seed: int,
                   db: Path | None) -> None:
    """Write the HTML report and PNG charts of the journaled run RUN_ID."""
    from flint.store import FlintStore

    path = db_path(db)
    with FlintStore(path, read_only=True) as store:
        record = store.get_backtest_run(run_id)
        recent = [] if record is not None else store.list_backtest_runs(limit=5)
    if record is None:
        listed = "; ".join(f"{r['run_id']} ({r.get('kind', 'backtest')} of "
                           f"{r.get('strategy', '?')})" for r in recent)
        raise click.ClickException(
            f"no run {run_id} in {path}" + (f"; the newest: {listed}" if listed else "")
        )
    try:
        page = write_record_report(record, out or Path("reports") / run_id, iterations, seed)
    except ImportError as exc:
        raise click.ClickException(str(exc)) from exc
    console = make_console()
    console.print(f"report: {page}")
    for chart in sorted(page.parent.glob("*.png")):
        console.print(f"  {chart}")
