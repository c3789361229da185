"""``/data``: what the store holds: candles, funding by venue, open interest, markets,
freshness, coverage and correlation. Times are unix seconds."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from flint.server import queries
from flint.server.app import cached, reading
from flint.server.models import (
    Candles,
    Correlation,
    Coverage,
    Freshness,
    Funding,
    Markets,
    OpenInterest,
)
from flint.server.security import require

router = APIRouter(prefix="/data", tags=["data"], dependencies=[Depends(require("read"))])
Market = Annotated[str, Query(min_length=1, max_length=64)]
Ts = Annotated[int | None, Query(ge=0, le=253_402_300_799)]
Venue = Annotated[str | None, Query(max_length=64)]
Resolution = Annotated[int, Query(ge=1, le=31_536_000)]
#: Most bar slots (hours for kinds other than candles) a coverage request spans.
MAX_SLOTS = 1_000_000


@router.get("/ohlcv", response_model=Candles)
async def ohlcv(request: Request, market: Market, resolution_s: Resolution = 3600,
          start_ts: Ts = None, end_ts: Ts = None,
          limit: Annotated[int, Query(ge=1, le=queries.MAX_CANDLES)] = 1000,
          venue: Venue = None) -> Response:
    """Candles of one venue (default: the one with most bars); without ``start_ts`` the
    most recent ``limit``."""
    return await cached(
        request, lambda store: queries.candles(store, market, resolution_s, start_ts, end_ts, limit,
                                      venue))


@router.get("/funding", response_model=Funding)
async def funding(request: Request, market: Market, start_ts: Ts = None, end_ts: Ts = None,
                  venue: Venue = None) -> Response:
    """Funding settlements by venue, each at its venue's own interval."""
    return await cached(
        request, lambda store: queries.funding(store, market, start_ts, end_ts, venue))


@router.get("/open-interest/{market}", response_model=OpenInterest)
async def open_interest(request: Request, market: Annotated[str, Path(max_length=64)],
                        start_ts: Ts = None, end_ts: Ts = None,
                        venue: Venue = None) -> Response:
    """Open interest records of a market."""
    return await cached(
        request, lambda store: queries.open_interest(store, market, start_ts, end_ts, venue))


@router.get("/markets", response_model=Markets)
async def markets(request: Request) -> Response:
    """Every stored series with its rows, span and candle gaps."""
    return await cached(request, queries.markets)


@router.get("/freshness")
def freshness(request: Request) -> Freshness:
    """Per series: the newest stored time, its age and how far it was fetched."""
    with reading(request) as store:
        return queries.freshness(store)


@router.get("/coverage", response_model=Coverage)
async def coverage(request: Request, venue: Annotated[str, Query(max_length=64)], market: Market,
             start_ts: Annotated[int, Query(ge=0, le=253_402_300_799)],
             end_ts: Annotated[int, Query(ge=0, le=253_402_300_799)],
             kind: Literal["candles", "funding", "open_interest", "borrow_rates",
                           "orderbook"] = "candles",
             resolution_s: Resolution = 3600) -> Response:
    """``[start_ts, end_ts)`` of one series cut into stored, source_empty and missing
    spans."""
    if (end_ts - start_ts) // (resolution_s if kind == "candles" else 3600) > MAX_SLOTS:
        raise ValueError(f"the range holds more than {MAX_SLOTS:,} bars; ask for less")
    return await cached(
        request, lambda store: queries.coverage(store, venue, market, kind, start_ts, end_ts,
                                       resolution_s))


@router.get("/correlation", response_model=Correlation)
async def correlation(request: Request, markets: Annotated[str, Query(
        max_length=500, description="Comma-separated markets, at least two.")],
        resolution_s: Resolution = 3600, start_ts: Ts = None,
        end_ts: Ts = None) -> Response:
    """Correlation of the markets' bar returns on their shared timestamps."""
    names = tuple(m.strip() for m in markets.split(",") if m.strip())
    return await cached(
        request, lambda store: queries.correlation(store, names, resolution_s, start_ts, end_ts))
