"""Turning what a user passes to ``BacktestEngine.run`` into the loop's feeds and streams.

Candles arrive as a list of :class:`Candle`, a :class:`CandleSeries`, or a dict of
either keyed by ``"market"`` or ``"venue:market"`` (several markets and venues). Each
becomes one columnar feed, converted once and checked: timestamps strictly
increasing, prices finite and positive. Event records (funding, order books, open
interest, oracle prices, borrow rates) are grouped per (venue, market) and sorted by
time.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from flint_core.feeds import EventStream, Feed
from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OraclePrice,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries

DEFAULT_VENUE = "default"


def _split_key(key: Any) -> tuple[str | None, str]:
    if not isinstance(key, str) or not key:
        raise ValueError(f"candle dict keys must be 'market' or 'venue:market', got {key!r}")
    venue, sep, market = key.partition(":")
    if not sep:
        return None, key
    if not venue or not market:
        raise ValueError(f"candle dict key {key!r} must be 'market' or 'venue:market'")
    return venue, market


def _check_columns(series: CandleSeries, label: str) -> None:
    ts = series.timestamps
    if ts.size > 1:
        steps = np.diff(ts)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            k = int(bad[0]) + 1
            raise ValueError(
                f"{label}: candles must be sorted by ts without duplicates; bar {k} "
                f"(ts={int(ts[k])}) does not come after bar {k - 1} (ts={int(ts[k - 1])})"
            )
    for name, column in (
        ("open", series.opens), ("high", series.highs), ("low", series.lows),
        ("close", series.closes),
    ):
        bad = np.flatnonzero(~(np.isfinite(column) & (column > 0)))
        if bad.size:
            k = int(bad[0])
            raise ValueError(
                f"{label}: bar {k} (ts={int(ts[k])}) has {name}={float(column[k])!r}; "
                f"prices must be finite and > 0"
            )
    if not np.all(np.isfinite(series.volumes)):
        k = int(np.flatnonzero(~np.isfinite(series.volumes))[0])
        raise ValueError(f"{label}: bar {k} (ts={int(ts[k])}) has a non-finite volume")
    if series.resolution_s <= 0:
        raise ValueError(f"{label}: resolution_s must be > 0, got {series.resolution_s}")


def _retag(series: CandleSeries, market: str, venue: str) -> CandleSeries:
    """``series`` under another market/venue name, sharing its columns."""
    return CandleSeries(
        series.timestamps, series.opens, series.highs, series.lows, series.closes,
        series.volumes, market, series.resolution_s, venue,
    )


def to_series(
    candles: Any, label: str, market: str | None = None, venue: str | None = None
) -> tuple[CandleSeries, list[Candle] | None]:
    """One candle input as a checked series, plus the candle list when it can be reused.

    ``market``/``venue`` (from a dict key) name the feed; a series whose own venue is
    ``default`` takes the key's venue, any other mismatch is an error.
    """
    reusable: list[Candle] | None = None
    if isinstance(candles, CandleSeries):
        series = candles
    elif isinstance(candles, Iterable) and not isinstance(candles, (str, bytes, Mapping)):
        items = candles if isinstance(candles, list) else list(candles)
        for i, c in enumerate(items):
            if not isinstance(c, Candle):
                raise TypeError(f"{label}: item {i} is {type(c).__name__}, expected a Candle")
        series = CandleSeries.from_candles(items)
        reusable = items
    else:
        raise TypeError(
            f"{label}: expected a list of Candle, a CandleSeries or a dict of them, "
            f"got {type(candles).__name__}"
        )
    name = market if market is not None else series.market
    if venue is not None and series.venue not in (venue, DEFAULT_VENUE):
        raise ValueError(
            f"{label}: the candles are from venue '{series.venue}' but the key says '{venue}'"
        )
    if market is not None and series.market not in (market, ""):
        raise ValueError(
            f"{label}: the candles are of market '{series.market}' but the key says '{market}'"
        )
    tag_venue = venue if venue is not None else series.venue
    if (name, tag_venue) != (series.market, series.venue):
        series = _retag(series, name, tag_venue)
        reusable = None
    _check_columns(series, label)
    return series, reusable


def build_feeds(
    candles: Any, extra_markets: Mapping[str, Any] | None, history_size: int
) -> list[Feed]:
    """The feeds of a run, the primary one (most bars; first on ties) first."""
    named: list[tuple[str, Any, bool]] = []  # (key, data, may be primary)
    if isinstance(candles, Mapping):
        named += [(k, v, True) for k, v in candles.items()]
    else:
        named.append(("", candles, True))
    for key, value in (extra_markets or {}).items():
        named.append((key, value, False))
    parsed: list[tuple[CandleSeries, list[Candle] | None, bool]] = []
    seen: dict[tuple[str, str], str] = {}
    for key, value, primary in named:
        venue, market = _split_key(key) if key else (None, None)
        label = f"candles[{key!r}]" if key else "candles"
        series, reusable = to_series(value, label, market, venue)
        ident = (series.venue, series.market)
        if ident in seen:
            raise ValueError(
                f"{label}: {series.venue}/{series.market} is given twice "
                f"(also as {seen[ident]})"
            )
        seen[ident] = label
        parsed.append((series, reusable, primary))
    if not parsed:
        raise ValueError("no candles given")
    order = sorted(
        range(len(parsed)), key=lambda i: (not parsed[i][2], -len(parsed[i][0]), i)
    )
    return [Feed(parsed[i][0], parsed[i][1], history_size) for i in order]


def _records(items: Any, kind: type, label: str) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, Iterable):
        raise TypeError(f"{label} must be a list of {kind.__name__}, got {type(items).__name__}")
    records = list(items)
    for i, r in enumerate(records):
        if not isinstance(r, kind):
            raise TypeError(f"{label}[{i}] is {type(r).__name__}, expected {kind.__name__}")
    return records


def _streams(records: Sequence[Any], venue_of: Any) -> list[EventStream]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for record in records:
        groups.setdefault((venue_of(record), record.market), []).append(record)
    streams = []
    for (venue, market), items in sorted(groups.items()):
        items.sort(key=lambda r: r.ts)
        streams.append(EventStream(venue, market, items, [int(r.ts) for r in items]))
    return streams


def funding_streams(rates: Any) -> list[EventStream]:
    """Funding per (venue = ``source``, market), checked (finite rate, interval > 0).

    ``rates`` is a list of :class:`FundingRate` or, as ``FlintStore.query_funding_by_venue``
    returns them, a dict ``{venue: [FundingRate, ...]}`` whose records carry that venue.
    """
    if isinstance(rates, Mapping):
        records = []
        for venue, venue_rates in rates.items():
            label = f"funding_rates[{venue!r}]"
            for i, r in enumerate(_records(venue_rates, FundingRate, label)):
                if r.source != venue:
                    raise ValueError(f"{label}[{i}] is funding of venue {r.source!r}: {r!r}")
                records.append(r)
    else:
        records = _records(rates, FundingRate, "funding_rates")
    for i, r in enumerate(records):
        if not np.isfinite(r.rate) or r.interval_s <= 0:
            raise ValueError(f"funding_rates[{i}]: rate must be finite and interval_s > 0: {r!r}")
    return _streams(records, lambda r: r.source)


def book_streams(snapshots: Any) -> list[EventStream]:
    """Order book snapshots per (venue, market)."""
    return _streams(_records(snapshots, OrderbookSnapshot, "orderbook_snapshots"),
                    lambda r: r.venue)


def open_interest_streams(records: Any) -> list[EventStream]:
    """Open interest per (venue, market)."""
    return _streams(_records(records, OpenInterest, "open_interest"), lambda r: r.venue)


def oracle_streams(records: Any) -> list[EventStream]:
    """Oracle prices per market (venue ``oracle``)."""
    return _streams(_records(records, OraclePrice, "oracle_prices"), lambda r: "oracle")


def borrow_streams(records: Any) -> list[EventStream]:
    """Borrow snapshots per (venue = ``source``, market)."""
    return _streams(_records(records, BorrowSnapshot, "borrow_snapshots"), lambda r: r.source)
