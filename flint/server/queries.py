"""Reads of the store and the registry shaped as API models: the HTTP routes and the MCP
tools answer with these same functions."""

import math
from collections.abc import Sequence
from typing import Any

from flint.server.models import (
    CandleRow,
    Candles,
    Correlation,
    Coverage,
    Freshness,
    FreshnessRow,
    Funding,
    FundingRow,
    Markets,
    OpenInterest,
    OpenInterestRow,
    RunComparison,
    Series,
    Span,
    StrategyInfo,
)

#: Most candles one request returns.
MAX_CANDLES = 10_000


def catalogue() -> list[StrategyInfo]:
    """The registered strategies (``flint strategies``)."""
    from flint.cli.strategies import strategy_listing

    return [StrategyInfo(class_name=row.pop("class"), **row) for row in strategy_listing()]


def compare(records: Sequence[dict[str, Any]]) -> list[RunComparison]:
    """Each journal record's headline: who, where, its parameters and metrics."""
    return [
        RunComparison(
            run_id=r["run_id"], strategy=r.get("strategy_name") or r.get("strategy"),
            market=r.get("market"), venue=r.get("venue"), metrics=r.get("metrics") or {},
            params=r.get("params") or {},
        )
        for r in records
    ]


def candles(store: Any, market: str, resolution_s: int, start_ts: int | None,
            end_ts: int | None, limit: int, venue: str | None) -> Candles:
    """Stored candles (the most recent ``limit`` without ``start_ts``)."""
    series = store.require_candles(market, resolution_s, start_ts, end_ts,
                                   limit=min(limit, MAX_CANDLES), venue=venue)
    rows = [
        CandleRow(ts=int(t), open=float(o), high=float(h), low=float(lo), close=float(c),
                  volume=float(v))
        for t, o, h, lo, c, v in zip(series.timestamps.tolist(), series.opens.tolist(),
                                     series.highs.tolist(), series.lows.tolist(),
                                     series.closes.tolist(), series.volumes.tolist(),
                                     strict=True)
    ]
    return Candles(market=market, venue=series.venue, resolution_s=int(resolution_s),
                   count=len(rows), candles=rows)


def funding(store: Any, market: str, start_ts: int | None, end_ts: int | None,
            venue: str | None) -> Funding:
    """Funding settlements per venue (each at its own interval)."""
    by_venue = store.query_funding_by_venue(market, start_ts, end_ts)
    if venue is not None:
        by_venue = {venue: by_venue.get(venue, [])}
    venues = {
        name: [FundingRow(ts=int(r.ts), rate=float(r.rate), rate_bps=float(r.rate) * 1e4,
                          interval_s=None if r.interval_s is None else int(r.interval_s))
               for r in rates]
        for name, rates in by_venue.items()
    }
    return Funding(market=market, count=sum(len(v) for v in venues.values()), venues=venues)


def open_interest(store: Any, market: str, start_ts: int | None, end_ts: int | None,
                  venue: str | None) -> OpenInterest:
    """Open interest records of ``market``."""
    rows = [OpenInterestRow(ts=int(r.ts), venue=r.venue, long_oi=float(r.long_oi),
                            short_oi=float(r.short_oi))
            for r in store.query_open_interest(market, start_ts, end_ts, venue)]
    return OpenInterest(market=market, count=len(rows), records=rows)


def markets(store: Any) -> Markets:
    """Every stored series (kind, venue, market, resolution, rows, span, gaps)."""
    import attrs

    series = [Series(**attrs.asdict(s)) for s in store.summary()]
    return Markets(series=series, markets=sorted({s.market for s in series}))


def freshness(store: Any) -> Freshness:
    """Per series: the newest stored time, its age and how far it was fetched."""
    return Freshness(freshness=[FreshnessRow(**row) for row in store.get_data_freshness()])


def coverage(store: Any, venue: str, market: str, kind: str, start_ts: int, end_ts: int,
             resolution_s: int | None) -> Coverage:
    """``[start_ts, end_ts)`` cut into stored, source_empty and missing spans."""
    spans = store.coverage_status(venue, market, kind, start_ts, end_ts,
                                  resolution_s if kind == "candles" else None)
    return Coverage(venue=venue, market=market, kind=kind,
                    resolution_s=resolution_s if kind == "candles" else None,
                    spans=[Span(status=s.status, start_ts=s.start_ts, end_ts=s.end_ts,
                                bars=s.bars) for s in spans])


def correlation(store: Any, names: Sequence[str], resolution_s: int, start_ts: int | None,
                end_ts: int | None) -> Correlation:
    """Correlation of the markets' bar returns on their shared timestamps."""
    from flint.analytics.correlation import compute_correlation_matrix

    if len(names) < 2:
        raise ValueError("give at least two markets")
    series = {m: store.require_candles(m, resolution_s, start_ts, end_ts) for m in names}
    matrix = compute_correlation_matrix(series)
    clean = {a: {b: None if math.isnan(v) else v for b, v in row.items()}
             for a, row in matrix.items()}
    return Correlation(markets=list(names), matrix=clean)
