"""Runs as journal records (``FlintStore.save_backtest_run``) and back.

Every record has a ``kind``: ``"backtest"`` (:func:`run_record`; records without a
kind are backtests too), ``"optimization"`` or ``"walk_forward"`` (:func:`study_record`).
A backtest record keeps what the run was (strategy, parameters, market, venue, costs),
its headline numbers as top-level scalars (what ``list_backtest_runs`` shows), the
tearsheet metrics, and the whole result, so reports can be rebuilt later. A study
record keeps what it ran on and the whole :class:`OptimizationResult` or
:class:`WalkForwardResult` as data.
"""

import urllib.parse
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np

from flint.analytics.tearsheet import Tearsheet, generate_tearsheet
from flint.backtest.result import record_dicts
from flint.models import Position

HEADLINE = (
    "total_pnl", "total_return", "sharpe_ratio", "sortino", "max_drawdown", "total_trades",
    "win_rate", "total_fees", "funding_paid",
)


def run_record(result: Any, *, strategy: str, params: dict[str, Any], market: str,
               venue: str, fill_model: str, fee_rate: float | None) -> dict[str, Any]:
    """The journal record of one backtest (``fee_rate`` None: each venue's own rates;
    without Monte Carlo intervals: on a year of hourly bars they cost more than the
    backtest, and ``flint report`` computes them).

    The result's bulk (equity curve, timestamps, funding and borrow payments, fills and
    positions) stays numpy arrays (``BacktestResult.to_dict(arrays=True)``): they cross
    from a sandboxed child as raw bytes, and the journal stores their ``tolist()``, the
    records' (numpy record arrays) as objects (:func:`~flint.backtest.result.record_dicts`).
    """
    tear = generate_tearsheet(result, monte_carlo_iterations=0)
    metrics = tear.to_dict()["metrics"]
    ts = np.asarray(getattr(result, "timestamps", []), dtype=np.int64)
    record: dict[str, Any] = {
        "kind": "backtest",
        "strategy": strategy,
        "params": dict(params),
        "market": market,
        "venue": venue,
        "resolution_s": int(result.resolution_s),
        "start_ts": int(ts[0]) if len(ts) else None,
        "end_ts": int(ts[-1]) if len(ts) else None,
        "bars": len(result.equity_curve),
        "initial_capital": float(result.initial_capital),
        "fee_rate": None if fee_rate is None else float(fee_rate),
        "fill_model": fill_model,
        "metrics": metrics,
        "result": result.to_dict(arrays=True),
    }
    record.update({k: metrics.get(k) for k in HEADLINE})
    return record


def result_from_record(record: dict[str, Any]) -> SimpleNamespace:
    """A result-like object (what the tearsheet reads) rebuilt from a journal record (as
    read from the journal, or as :func:`run_record` made it)."""
    data = record["result"]
    return SimpleNamespace(
        equity_curve=data["equity_curve"],
        timestamps=data.get("timestamps", []),
        resolution_s=data.get("resolution_s", record.get("resolution_s")),
        initial_capital=data.get("initial_capital", record.get("initial_capital")),
        positions=[Position(**p) for p in _dicts(data.get("positions", []))],
        fills=[SimpleNamespace(**f) for f in _dicts(data.get("fills", []))],
        total_fees=data.get("total_fees", 0.0),
        funding_paid=data.get("funding_paid", 0.0),
        total_tx_costs=data.get("total_tx_costs", 0.0),
        jupiter_borrow_paid=data.get("jupiter_borrow_paid", 0.0),
        per_venue_pnl=data.get("per_venue_pnl", {}),
        per_venue_trades=data.get("per_venue_trades", {}),
        per_venue_funding_income=data.get("per_venue_funding_income", {}),
        per_venue_fees=data.get("per_venue_fees", {}),
        transfer_costs=data.get("transfer_costs", 0.0),
        strategy_warnings=data.get("strategy_warnings", []),
    )


def _dicts(records: Any) -> Any:
    """A record field as the journal has it: a record array's rows as dicts."""
    return record_dicts(records) if isinstance(records, np.recarray) else records


def tearsheet_from_record(record: dict[str, Any], **options: Any) -> Tearsheet:
    """The tearsheet of a journaled run (``options`` go to :func:`generate_tearsheet`)."""
    return generate_tearsheet(result_from_record(record), **options)


STUDY_KINDS = ("optimization", "walk_forward")


def redact(url: str) -> str:
    """A storage URL without its password (what may be written to a journal)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def study_record(kind: str, result: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    """The journal record of an optimisation or walk-forward ``result``.

    ``context`` says what it ran on (strategy, market, venue, range, sampler, ...);
    a ``storage`` URL in it is kept without its password.
    """
    if kind not in STUDY_KINDS:
        raise ValueError(f"kind must be one of {', '.join(STUDY_KINDS)}, got {kind!r}")
    record: dict[str, Any] = {"kind": kind, **context, **result.to_dict()}
    if record.get("storage"):
        record["storage"] = redact(str(record["storage"]))
    return record
