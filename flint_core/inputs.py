"""What one backtest run reads, checked once: :func:`build_inputs` -> :class:`RunInputs`.

Candles arrive as a list of :class:`~flint_core.records.Candle`, a
:class:`~flint_core.series.CandleSeries`, or a dict of either keyed ``"market"`` or
``"venue:market"`` (several markets and venues). Each becomes one columnar series,
converted once and checked: timestamps strictly increasing, prices finite and
positive. Event records (funding, order books, open interest, oracle prices, borrow
rates) are grouped per (venue, market) and sorted by time; funding, given as records
or as :class:`~flint_core.funding.FundingColumns`, becomes plain lists a stream. The
record holds data and settings only: :class:`~flint_core.loop.BacktestCore` builds a
run's state (feeds, accounts, ledger, open orders) from it, so one record can start
several runs.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from flint_core.funding import FundingColumns
from flint_core.markets import DEFAULT_VENUE, split_key
from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OraclePrice,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries
from flint_core.terms import VenueTerms


@dataclass(frozen=True, slots=True)
class MarketData:
    """The candles of one (venue, market), and the candle list they came from, if any
    (the loop hands those very objects to the strategy). ``lead_in`` bars of the
    series' root before ``series`` are a warm-up: history only."""

    series: CandleSeries
    candles: list[Candle] | None
    lead_in: int = 0


@dataclass(frozen=True, slots=True)
class EventData:
    """Records of one kind for one (venue, market), oldest first, with their times."""

    venue: str
    market: str
    records: tuple[Any, ...]
    ts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FundingData:
    """The funding settlements of one (venue, market), oldest first, one list a field of
    :class:`~flint_core.records.FundingRate` (the loop reads a row without building one)."""

    venue: str
    market: str
    ts: list[int]
    rate: list[float]
    oracle_price: list[float]
    mark_price: list[float]
    slot: list[int]
    interval_s: list[int]


@dataclass(frozen=True, slots=True)
class RunInputs:
    """Everything one backtest run reads.

    ``markets[0]`` drives the loop (the primary market: most bars, first on ties).
    ``terms_for(venue)`` gives a venue's terms (``KeyError`` for a venue without a
    config). ``balances`` are the starting cash of venues with an account of their own
    (empty: every venue trades from one account holding ``capital``); other venues
    trade from the ``default`` account, which holds what the balances leave of
    ``capital``. ``transfer_routes`` are ``(source, target, seconds, cost)``;
    ``transfer_default`` is ``(seconds, cost)`` of every other route (None: there is
    no other route).
    """

    markets: tuple[MarketData, ...]
    history_size: int
    fill_model: Any
    terms_for: Callable[[str], VenueTerms]
    capital: float
    balances: tuple[tuple[str, float], ...]
    funding: tuple[FundingData, ...]
    books: tuple[EventData, ...]
    open_interest: tuple[EventData, ...]
    oracles: tuple[EventData, ...]
    borrow: tuple[EventData, ...]
    margin: bool
    allow_short: bool
    max_resting: int
    max_runtime_s: float
    transfer_routes: tuple[tuple[str, str, float, float], ...]
    transfer_default: tuple[float, float] | None


def build_inputs(
    candles: Any,
    *,
    fill_model: Any,
    terms_for: Callable[[str], VenueTerms],
    capital: float,
    extra_markets: Mapping[str, Any] | None = None,
    balances: Mapping[str, float] | None = None,
    history_size: int = 500,
    warmup: int = 0,
    funding: Any = None,
    books: Any = None,
    open_interest: Any = None,
    oracles: Any = None,
    borrow: Any = None,
    margin: bool = False,
    allow_short: bool = False,
    max_resting: int = 1000,
    max_runtime_s: float = 300.0,
    transfer_routes: Mapping[tuple[str, str], tuple[float, float]] | None = None,
    transfer_default: tuple[float, float] | None = None,
) -> RunInputs:
    """Check and convert a run's inputs (``ValueError`` / ``TypeError`` saying what is wrong).

    ``extra_markets`` are more candle inputs keyed like a dict of candles (never the
    primary market). ``funding`` is a list of :class:`FundingRate`, a
    :class:`~flint_core.funding.FundingColumns` or, as
    ``FlintStore.query_funding_by_venue`` returns them, a dict ``{venue: [FundingRate]}``
    (or ``{venue: FundingColumns}``) whose rows carry that venue; the other event
    arguments are lists of their record type. ``balances`` may not add up to more than ``capital``.

    ``warmup``: the first ``warmup`` bars of the primary market, and the other
    markets' bars closed by the close of the last of them, only fill ``history``.
    """
    markets = _markets(candles, extra_markets)
    if warmup:
        markets = _after_warmup(markets, warmup)
    accounts = _balances(balances, capital)
    routes = tuple(
        (source, target, float(seconds), float(cost))
        for (source, target), (seconds, cost) in (transfer_routes or {}).items()
    )
    return RunInputs(
        markets=markets,
        history_size=history_size,
        fill_model=fill_model,
        terms_for=terms_for,
        capital=float(capital),
        balances=accounts,
        funding=_funding(funding),
        books=_grouped(_records(books, OrderbookSnapshot, "orderbook_snapshots"), _venue),
        open_interest=_grouped(_records(open_interest, OpenInterest, "open_interest"), _venue),
        oracles=_grouped(_records(oracles, OraclePrice, "oracle_prices"), _oracle),
        borrow=_grouped(_records(borrow, BorrowSnapshot, "borrow_snapshots"), _source),
        margin=margin,
        allow_short=allow_short,
        max_resting=max_resting,
        max_runtime_s=float(max_runtime_s),
        transfer_routes=routes,
        transfer_default=(
            None if transfer_default is None
            else (float(transfer_default[0]), float(transfer_default[1]))
        ),
    )


# Candles


def _markets(candles: Any, extra_markets: Mapping[str, Any] | None) -> tuple[MarketData, ...]:
    """The run's markets, the primary one (most bars; first on ties) first."""
    named: list[tuple[str, Any, bool]] = []  # (key, data, may be primary)
    if isinstance(candles, Mapping):
        named += [(k, v, True) for k, v in candles.items()]
    else:
        named.append(("", candles, True))
    for key, value in (extra_markets or {}).items():
        named.append((key, value, False))
    parsed: list[tuple[MarketData, bool]] = []
    seen: dict[tuple[str, str], str] = {}
    for key, value, primary in named:
        venue: str | None = None
        market: str | None = None
        if key:
            venue, market = _dict_key(key)
        label = f"candles[{key!r}]" if key else "candles"
        data = to_market(value, label, market, venue)
        series = data.series
        ident = (series.venue, series.market)
        if ident in seen:
            raise ValueError(
                f"{label}: {series.venue}/{series.market} is given twice "
                f"(also as {seen[ident]})"
            )
        seen[ident] = label
        parsed.append((data, primary))
    if not parsed:
        raise ValueError("no candles given")
    order = sorted(
        range(len(parsed)), key=lambda i: (not parsed[i][1], -len(parsed[i][0].series), i)
    )
    return tuple(parsed[i][0] for i in order)


def _after_warmup(markets: tuple[MarketData, ...], warmup: int) -> tuple[MarketData, ...]:
    """The markets from bar ``warmup`` of the primary on, the bars before as lead-in."""
    lead = markets[0].series
    if not 0 < warmup < len(lead):
        raise ValueError(f"warmup must leave bars to trade: 0 <= warmup < {len(lead)} "
                         f"(the bars of {lead.venue}:{lead.market}), got {warmup}")
    closed = int(lead.timestamps[warmup - 1]) + lead.resolution_s
    out = []
    for m in markets:
        s = m.series
        skip = int(np.searchsorted(s.timestamps + s.resolution_s, closed, side="right"))
        candles = m.candles[skip:] if m.candles is not None else None
        out.append(MarketData(s[skip:], candles, skip))
    return tuple(out)


def _dict_key(key: Any) -> tuple[str | None, str]:
    if not isinstance(key, str) or not key:
        raise ValueError(f"candle dict keys must be 'market' or 'venue:market', got {key!r}")
    try:
        return split_key(key)
    except ValueError:
        raise ValueError(f"candle dict key {key!r} must be 'market' or 'venue:market'") from None


def to_market(
    candles: Any, label: str, market: str | None = None, venue: str | None = None
) -> MarketData:
    """One candle input as a checked series, plus the candle list when it can be reused.

    ``market``/``venue`` (from a dict key) name the series; a series whose own venue is
    ``default`` takes the key's venue, any other mismatch is an error.
    """
    reusable: list[Candle] | None = None
    if isinstance(candles, CandleSeries):
        series = candles
    elif isinstance(candles, Iterable) and not isinstance(candles, (str, bytes, Mapping)):
        items: list[Any] = candles if isinstance(candles, list) else list(candles)
        for i in range(len(items)):
            if not isinstance(items[i], Candle):
                raise TypeError(
                    f"{label}: item {i} is {type(items[i]).__name__}, expected a Candle"
                )
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
    if reusable is not None:
        _check_candles(reusable, series.resolution_s, label)
    else:
        _check_columns(series, label)
    return MarketData(series, reusable)


def _retag(series: CandleSeries, market: str, venue: str) -> CandleSeries:
    """``series`` under another market/venue name, sharing its columns."""
    return CandleSeries(
        series.timestamps, series.opens, series.highs, series.lows, series.closes,
        series.volumes, market, series.resolution_s, venue,
    )


def _check_candles(candles: list[Candle], resolution_s: int, label: str) -> None:
    """What :func:`_check_columns` checks, read from the candles (so no column of their
    series is built for it): one pass, and the columns' checks to name the first error."""
    inf = math.inf
    previous = 0
    for k in range(len(candles)):
        c = candles[k]
        if not (
            (k == 0 or c.ts > previous) and 0.0 < c.open < inf and 0.0 < c.high < inf
            and 0.0 < c.low < inf and 0.0 < c.close < inf and -inf < c.volume < inf
        ):
            _check_columns(CandleSeries.from_candles(candles), label)
        previous = c.ts
    if resolution_s <= 0:
        raise ValueError(f"{label}: resolution_s must be > 0, got {resolution_s}")


def _check_columns(series: CandleSeries, label: str) -> None:
    ts: Any = series.timestamps
    if ts.size > 1:
        bad: Any = np.flatnonzero(np.diff(ts) <= 0)
        if bad.size:
            k = int(bad[0]) + 1
            raise ValueError(
                f"{label}: candles must be sorted by ts without duplicates; bar {k} "
                f"(ts={int(ts[k])}) does not come after bar {k - 1} (ts={int(ts[k - 1])})"
            )
    columns: list[tuple[str, Any]] = [
        ("open", series.opens), ("high", series.highs), ("low", series.lows),
        ("close", series.closes),
    ]
    for name, column in columns:
        wrong: Any = np.flatnonzero(~(np.isfinite(column) & (column > 0)))
        if wrong.size:
            k = int(wrong[0])
            raise ValueError(
                f"{label}: bar {k} (ts={int(ts[k])}) has {name}={float(column[k])!r}; "
                f"prices must be finite and > 0"
            )
    volumes: Any = series.volumes
    if not bool(np.all(np.isfinite(volumes))):
        k = int(np.flatnonzero(~np.isfinite(volumes))[0])
        raise ValueError(f"{label}: bar {k} (ts={int(ts[k])}) has a non-finite volume")
    if series.resolution_s <= 0:
        raise ValueError(f"{label}: resolution_s must be > 0, got {series.resolution_s}")


# Accounts


def _balances(
    balances: Mapping[str, float] | None, capital: float
) -> tuple[tuple[str, float], ...]:
    if not balances:
        return ()
    total = sum((float(v) for v in balances.values()), 0.0)
    if total - capital > 1e-9 * capital:
        raise ValueError(
            f"the allocator's balances add up to {total:g}, more than "
            f"initial_capital={capital:g}"
        )
    return tuple((str(venue), float(cash)) for venue, cash in balances.items())


# Events


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


def _grouped(records: list[Any], venue_of: Callable[[Any], str]) -> tuple[EventData, ...]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for record in records:
        groups.setdefault((venue_of(record), record.market), []).append(record)
    out: list[EventData] = []
    for (venue, market), items in sorted(groups.items()):
        items.sort(key=_ts)
        out.append(EventData(venue, market, tuple(items), tuple(int(r.ts) for r in items)))
    return tuple(out)


def _ts(record: Any) -> int:
    return int(record.ts)


def _venue(record: Any) -> str:
    return str(record.venue)


def _source(record: Any) -> str:
    return str(record.source)


def _oracle(record: Any) -> str:
    return "oracle"


def _funding(rates: Any) -> tuple[FundingData, ...]:
    """Funding per (venue = ``source``, market), checked (finite rate, interval > 0)."""
    if isinstance(rates, FundingColumns):
        return funding_streams(rates)
    if isinstance(rates, Mapping):
        parts: list[FundingColumns] = []
        for venue, venue_rates in rates.items():
            label = f"funding_rates[{venue!r}]"
            columns = _funding_columns(venue_rates, label)
            if len(columns) and columns.sources != (venue,):
                k = int(np.flatnonzero(np.asarray(columns.sources)[columns.source_codes]
                                       != venue)[0])
                raise ValueError(f"{label}[{k}] is funding of venue "
                                 f"{columns.sources[int(columns.source_codes[k])]!r}: "
                                 f"{columns.record(k)!r}")
            parts.append(columns)
        streams = [s for part in parts for s in funding_streams(part)]
        return tuple(sorted(streams, key=_stream_key))
    return funding_streams(_funding_columns(rates, "funding_rates"))


def _funding_columns(rates: Any, label: str) -> FundingColumns:
    if isinstance(rates, FundingColumns):
        return rates
    records = _records(rates, FundingRate, label)
    for i, r in enumerate(records):
        if not np.isfinite(r.rate) or r.interval_s <= 0:
            raise ValueError(f"{label}[{i}]: rate must be finite and interval_s > 0: {r!r}")
    return FundingColumns.from_records(records)


def _stream_key(data: FundingData) -> tuple[str, str]:
    return (data.venue, data.market)


def funding_streams(columns: FundingColumns) -> tuple[FundingData, ...]:
    """The rows of ``columns`` per (venue, market), in that order, each oldest first (rows
    of one time keep their order)."""
    if not len(columns):
        return ()
    width = len(columns.markets)
    group: Any = columns.source_codes * width + columns.market_codes
    ts: Any = columns.ts
    step: Any = group[1:] - group[:-1]
    if bool(np.all((step > 0) | ((step == 0) & (ts[1:] >= ts[:-1])))):
        order: Any = np.arange(len(ts))  # in order already: rows are read as slices
        ordered: Any = group
    else:
        order = np.lexsort((ts, group))  # stable: equal times keep their order
        ordered = group[order]
    bounds = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), len(order)]
    out: list[FundingData] = []
    for start, stop in pairwise(bounds):
        rows: Any = (slice(start, stop) if ordered is group else order[start:stop])
        key = int(ordered[start])
        out.append(FundingData(
            columns.sources[key // width], columns.markets[key % width],
            columns.ts[rows].tolist(), columns.rate[rows].tolist(),
            columns.oracle_price[rows].tolist(), columns.mark_price[rows].tolist(),
            columns.slot[rows].tolist(), columns.interval_s[rows].tolist(),
        ))
    return tuple(out)
