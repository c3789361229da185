"""Turning what callers hand the store into validated, sorted, de-duplicated Arrow batches.

Every upsert accepts records (``Candle``, ``FundingRate``, ...), a ``CandleSeries``
(candles only), a pyarrow ``Table``/``RecordBatch`` (or anything exporting an Arrow
stream, e.g. a polars DataFrame) or a mapping of column name to numpy array / list.
Key columns missing from columnar input come from keyword constants (e.g.
``market="SOL-PERP"``); ``venue`` defaults to ``"default"``.

Validation is vectorised over whole columns. The first offending row (lowest
position in the batch as given) is reported with :class:`InvalidRowError`, and the
batch is rejected whole. A valid batch is then sorted by its key, and rows sharing
a key keep only their **last** occurrence (later rows of a batch win, as later
batches do).
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flint.models import MarketSnapshot
from flint.store.errors import InvalidRowError
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import (
    BorrowSnapshot,
    Candle,
    FundingRate,
    OpenInterest,
    OrderbookLevel,
    OrderbookSnapshot,
)
from flint_core.series import CandleSeries

#: Candle resolutions the store accepts, in seconds (1m ... 1d, and 1w).
RESOLUTIONS = (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 28800, 43200, 86400, 604800)

#: Weekly bars open on Monday 00:00 UTC; the unix epoch fell on a Thursday.
WEEK_OFFSET_S = 4 * 86400

LEVEL = pa.struct([("price", pa.float64()), ("size", pa.float64())])
LEVELS = pa.list_(LEVEL)

_REQUIRED = object()

Masks = list[tuple[np.ndarray, Callable[[int], str]]]


@attrs.frozen
class Column:
    """One column of a batch: Arrow type, default (or required) and record attribute."""

    name: str
    type: pa.DataType
    default: Any = _REQUIRED
    attr: str | None = None

    @property
    def record_attr(self) -> str:
        return self.attr or self.name


@attrs.frozen
class Spec:
    """How one kind of record is stored: its columns, key and row checks."""

    kind: str
    record: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    check: Callable[[dict[str, Any]], Masks]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def group(self) -> tuple[str, ...]:
        """Key columns except ``ts``: one series of the table."""
        return self.key[:-1]


@attrs.frozen
class Batch:
    """A validated batch: ``table`` sorted by key, keys unique; ``groups`` its series.

    Each group is ``(values of the group columns, first row, end row)``.
    """

    spec: Spec
    table: pa.Table
    groups: tuple[tuple[tuple[Any, ...], int, int], ...]

    def __len__(self) -> int:
        return self.table.num_rows


# Row checks: each returns (bad-row mask, message for row i), in priority order.


def _fmt(x: float) -> str:
    return repr(float(x))


def _finite(cols: dict[str, Any], name: str) -> tuple[np.ndarray, Callable[[int], str]]:
    v = cols[name]
    return ~np.isfinite(v), lambda i: f"{name} is {_fmt(v[i])}"


def _lower_bound(
    cols: dict[str, Any], name: str, low: float, strict: bool = False
) -> tuple[np.ndarray, Callable[[int], str]]:
    v = cols[name]
    bad = v <= low if strict else v < low
    word = "must be > " if strict else "must be >= "
    return bad, lambda i: f"{name} {_fmt(v[i])} {word}{low:g}"


def _ts_checks(cols: dict[str, Any]) -> Masks:
    ts = cols["ts"]
    return [(ts < 0, lambda i: f"ts {int(ts[i])} is negative")]


def _text_checks(cols: dict[str, Any], names: Sequence[str]) -> Masks:
    out: Masks = []
    for name in names:
        empty = cols[name + "#empty"]
        out.append((empty, lambda i, name=name: f"{name} is empty"))
    return out


def _check_candles(cols: dict[str, Any]) -> Masks:
    res, ts = cols["resolution_s"], cols["ts"]
    o, h, lo, c = cols["open"], cols["high"], cols["low"], cols["close"]
    allowed = np.isin(res, RESOLUTIONS)
    safe_res = np.where(allowed, res, 1).astype(np.int64)
    offset = np.where(safe_res == 604800, WEEK_OFFSET_S, 0)
    misaligned = allowed & ((ts - offset) % safe_res != 0)
    masks: Masks = [
        *_text_checks(cols, ("venue", "market")),
        (~allowed, lambda i: (
            f"resolution_s {int(res[i])} is not one of {', '.join(map(str, RESOLUTIONS))}"
        )),
        *_ts_checks(cols),
        (misaligned, lambda i: (
            f"ts {int(ts[i])} is not aligned to its {int(res[i])} s resolution"
            + (" (weeks open on Monday 00:00 UTC)" if res[i] == 604800 else "")
        )),
    ]
    for name in ("open", "high", "low", "close"):
        masks.append(_finite(cols, name))
    for name in ("open", "high", "low", "close"):
        masks.append(_lower_bound(cols, name, 0.0, strict=True))
    masks.append((h < lo, lambda i: f"high {_fmt(h[i])} is below low {_fmt(lo[i])}"))
    for name, v in (("open", o), ("close", c)):
        masks.append((
            (v < lo) | (v > h),
            lambda i, name=name, v=v: (
                f"{name} {_fmt(v[i])} is outside [low {_fmt(lo[i])}, high {_fmt(h[i])}]"
            ),
        ))
    masks.append(_finite(cols, "volume"))
    masks.append(_lower_bound(cols, "volume", 0.0))
    return masks


def _check_funding(cols: dict[str, Any]) -> Masks:
    rate, interval = cols["rate"], cols["interval_s"]
    return [
        *_text_checks(cols, ("venue", "market")),
        *_ts_checks(cols),
        _finite(cols, "rate"),
        (np.abs(rate) >= 1.0, lambda i: (
            f"rate {_fmt(rate[i])} is not a decimal rate per interval (|rate| must be < 1)"
        )),
        (interval <= 0, lambda i: f"interval_s {int(interval[i])} must be > 0"),
        _finite(cols, "oracle_price"),
        _lower_bound(cols, "oracle_price", 0.0),
        _finite(cols, "mark_price"),
        _lower_bound(cols, "mark_price", 0.0),
    ]


def _check_open_interest(cols: dict[str, Any]) -> Masks:
    return [
        *_text_checks(cols, ("venue", "market")),
        *_ts_checks(cols),
        _finite(cols, "long_oi"),
        _lower_bound(cols, "long_oi", 0.0),
        _finite(cols, "short_oi"),
        _lower_bound(cols, "short_oi", 0.0),
    ]


def _check_market_snapshots(cols: dict[str, Any]) -> Masks:
    return [
        *_text_checks(cols, ("venue", "market")),
        *_ts_checks(cols),
        _finite(cols, "mark_price"),
        _lower_bound(cols, "mark_price", 0.0, strict=True),
        _finite(cols, "oracle_price"),
        _lower_bound(cols, "oracle_price", 0.0, strict=True),
        _finite(cols, "open_interest"),
        _lower_bound(cols, "open_interest", 0.0),
        _finite(cols, "funding_rate"),
    ]


def _check_borrow(cols: dict[str, Any]) -> Masks:
    return [
        *_text_checks(cols, ("venue", "market")),
        *_ts_checks(cols),
        _finite(cols, "rate_hourly"),
        _finite(cols, "utilization"),
        _lower_bound(cols, "utilization", 0.0),
        _finite(cols, "cumulative_rate"),
    ]


def _side_checks(cols: dict[str, Any], side: str, descending: bool) -> Masks:
    """Checks of one book side, vectorised over the flattened levels of every row."""
    prices, sizes = cols[side + "#price"], cols[side + "#size"]
    offsets = cols[side + "#offsets"]
    n = len(offsets) - 1
    level_row = np.repeat(np.arange(n), np.diff(offsets))

    def per_row(level_bad: np.ndarray) -> np.ndarray:
        bad = np.zeros(n, dtype=bool)
        bad[level_row[level_bad]] = True
        return bad

    def first_level(i: int, level_bad: np.ndarray) -> int:
        rows = np.flatnonzero(level_bad & (level_row == i))
        return int(rows[0] - offsets[i])

    bad_price = ~np.isfinite(prices) | (prices <= 0)
    bad_size = ~np.isfinite(sizes) | (sizes <= 0)
    follows = np.ones(len(prices), dtype=bool)
    follows[offsets[:-1][np.diff(offsets) > 0]] = False  # first level of each row
    step = np.diff(prices, prepend=np.nan)
    unordered = follows & ((step >= 0) if descending else (step <= 0))
    order = "strictly descending" if descending else "strictly ascending"
    return [
        (per_row(bad_price), lambda i: (
            f"{side} level {first_level(i, bad_price)} has price "
            f"{_fmt(prices[offsets[i] + first_level(i, bad_price)])} (must be finite and > 0)"
        )),
        (per_row(bad_size), lambda i: (
            f"{side} level {first_level(i, bad_size)} has size "
            f"{_fmt(sizes[offsets[i] + first_level(i, bad_size)])} (must be finite and > 0)"
        )),
        (per_row(unordered), lambda i: (
            f"{side} prices are not {order} at level {first_level(i, unordered)}"
        )),
    ]


def _best(cols: dict[str, Any], side: str, present: np.ndarray) -> np.ndarray:
    """Price of the first level of ``side`` for rows where ``present``, else 0."""
    first = cols[side + "#offsets"][:-1]
    out = np.zeros(len(first))
    out[present] = cols[side + "#price"][first[present]]
    return out


def _check_books(cols: dict[str, Any]) -> Masks:
    both = (np.diff(cols["bids#offsets"]) > 0) & (np.diff(cols["asks#offsets"]) > 0)
    bid, ask = _best(cols, "bids", both), _best(cols, "asks", both)
    return [
        *_text_checks(cols, ("venue", "market")),
        *_ts_checks(cols),
        *_side_checks(cols, "bids", descending=True),
        *_side_checks(cols, "asks", descending=False),
        (both & (bid >= ask), lambda i: (
            f"the book is crossed: best bid {_fmt(bid[i])} >= best ask {_fmt(ask[i])}"
        )),
    ]


def _venue(default: Any = DEFAULT_VENUE, attr: str | None = None) -> Column:
    return Column("venue", pa.string(), default, attr)


CANDLES = Spec(
    "candle", Candle,
    (
        _venue(), Column("market", pa.string()), Column("resolution_s", pa.int32()),
        Column("ts", pa.int64()), Column("open", pa.float64()), Column("high", pa.float64()),
        Column("low", pa.float64()), Column("close", pa.float64()),
        Column("volume", pa.float64()),
    ),
    ("venue", "market", "resolution_s", "ts"),
    _check_candles,
)

FUNDING = Spec(
    "funding rate", FundingRate,
    (
        _venue(attr="source"), Column("market", pa.string()), Column("ts", pa.int64()),
        Column("rate", pa.float64()), Column("interval_s", pa.int32()),
        Column("oracle_price", pa.float64(), 0.0), Column("mark_price", pa.float64(), 0.0),
        Column("slot", pa.int64(), 0),
    ),
    ("venue", "market", "ts"),
    _check_funding,
)

OPEN_INTEREST = Spec(
    "open interest", OpenInterest,
    (
        _venue(), Column("market", pa.string()), Column("ts", pa.int64()),
        Column("long_oi", pa.float64()), Column("short_oi", pa.float64()),
    ),
    ("venue", "market", "ts"),
    _check_open_interest,
)

MARKET_SNAPSHOTS = Spec(
    "market snapshot", MarketSnapshot,
    (
        _venue(), Column("market", pa.string()), Column("ts", pa.int64()),
        Column("mark_price", pa.float64()), Column("oracle_price", pa.float64()),
        Column("open_interest", pa.float64()), Column("funding_rate", pa.float64()),
    ),
    ("venue", "market", "ts"),
    _check_market_snapshots,
)

BORROW_RATES = Spec(
    "borrow rate", BorrowSnapshot,
    (
        _venue(attr="source"), Column("market", pa.string()), Column("ts", pa.int64()),
        Column("rate_hourly", pa.float64()), Column("utilization", pa.float64(), 0.0),
        Column("cumulative_rate", pa.float64(), 0.0),
    ),
    ("venue", "market", "ts"),
    _check_borrow,
)

ORDERBOOKS = Spec(
    "order book", OrderbookSnapshot,
    (
        _venue(), Column("market", pa.string()), Column("ts", pa.int64()),
        Column("slot", pa.int64(), 0), Column("bids", LEVELS), Column("asks", LEVELS),
    ),
    ("venue", "market", "ts"),
    _check_books,
)


# Input -> raw columns


def _records(items: list[Any], spec: Spec) -> dict[str, Any]:
    for i, item in enumerate(items):
        if not isinstance(item, spec.record):
            raise TypeError(
                f"expected {spec.record.__name__} records, row {i} is {type(item).__name__}"
            )
    n = len(items)
    cols: dict[str, Any] = {}
    for col in spec.columns:
        attr = col.record_attr
        if col.type == LEVELS:
            cols[col.name] = _levels_from_records([getattr(r, attr) for r in items])
        elif pa.types.is_string(col.type):
            cols[col.name] = [getattr(r, attr) for r in items]
        else:
            dtype = np.float64 if pa.types.is_floating(col.type) else np.int64
            cols[col.name] = np.fromiter((getattr(r, attr) for r in items), dtype=dtype, count=n)
    return cols


def _levels_from_records(sides: list[Any]) -> pa.Array:
    counts = np.fromiter((len(s) for s in sides), dtype=np.int32, count=len(sides))
    offsets = np.zeros(len(sides) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    prices = np.fromiter((lv.price for s in sides for lv in s), dtype=np.float64, count=total)
    sizes = np.fromiter((lv.size for s in sides for lv in s), dtype=np.float64, count=total)
    values = pa.StructArray.from_arrays([pa.array(prices), pa.array(sizes)], fields=list(LEVEL))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _raw_columns(data: Any, spec: Spec) -> tuple[dict[str, Any], int]:
    """Column name -> values (numpy array, list, or Arrow array) and the row count."""
    if isinstance(data, CandleSeries):
        if spec is not CANDLES:
            raise TypeError(f"a CandleSeries holds candles, not {spec.kind}s")
        cols = {
            "venue": data.venue, "market": data.market, "resolution_s": data.resolution_s,
            "ts": data.timestamps, "open": data.opens, "high": data.highs, "low": data.lows,
            "close": data.closes, "volume": data.volumes,
        }
        return cols, len(data)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    elif not isinstance(data, (pa.Table, Mapping)) and hasattr(data, "__arrow_c_stream__"):
        data = pa.table(data)
    if isinstance(data, pa.Table):
        return {name: data.column(name) for name in data.column_names}, data.num_rows
    if isinstance(data, Mapping):
        cols = dict(data)
        lengths = {len(v) for v in cols.values() if np.ndim(v) and not isinstance(v, str)}
        if len(lengths) > 1:
            raise ValueError(f"{spec.kind} columns have different lengths: {sorted(lengths)}")
        return cols, lengths.pop() if lengths else 0
    if isinstance(data, spec.record):
        data = [data]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(
            f"cannot store {type(data).__name__} as {spec.kind}s: pass {spec.record.__name__} "
            f"records, a pyarrow Table or a mapping of columns"
        )
    items = list(data)
    return _records(items, spec), len(items)


def _first_null(values: Any) -> int | None:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if values.null_count == 0:
            return None
        return int(np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))[0])
    if isinstance(values, list):
        for i, v in enumerate(values):
            if v is None:
                return i
    return None


def _numeric(values: Any, col: Column, spec: Spec, n: int) -> np.ndarray:
    null = _first_null(values)
    if null is not None:
        raise InvalidRowError(spec.kind, null, f"{col.name} is missing")
    if np.ndim(values) == 0 and not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = np.full(n, values)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
            raise TypeError(f"{spec.kind} column '{col.name}' must be numeric, got {values.type}")
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{spec.kind} column '{col.name}' must be numeric, got {arr.dtype}")
    if pa.types.is_floating(col.type):
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise InvalidRowError(spec.kind, i, f"{col.name} {_fmt(arr[i])} is not a whole number")
    return arr.astype(np.int64, copy=False)


def _text(values: Any, col: Column, spec: Spec, n: int) -> pa.DictionaryArray:
    if isinstance(values, str):
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), [values])
    null = _first_null(values)
    if null is not None:
        raise InvalidRowError(spec.kind, null, f"{col.name} is missing")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise TypeError(f"{spec.kind} column '{col.name}' must be text: {exc}") from None
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise TypeError(f"{spec.kind} column '{col.name}' must be text, got {arr.type}")
    return pc.dictionary_encode(arr.cast(pa.string()))


def _offsets(lists: pa.ListArray) -> np.ndarray:
    """List boundaries as positions in ``lists.flatten()`` (a slice's offsets start above 0)."""
    offsets = lists.offsets.to_numpy().astype(np.int64)
    return offsets - offsets[0]


def _levels(values: Any, col: Column, spec: Spec) -> pa.ListArray:
    null = _first_null(values)
    if null is not None:
        raise InvalidRowError(spec.kind, null, f"{col.name} is missing")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=LEVELS)
    try:
        arr = arr.cast(LEVELS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TypeError(
            f"{spec.kind} column '{col.name}' must be a list of (price, size) levels: {exc}"
        ) from None
    flat = arr.flatten()
    null = _first_null(flat)
    if null is None:
        null = _first_null(flat.field("price")) if len(flat) else None
    if null is None and len(flat):
        null = _first_null(flat.field("size"))
    if null is not None:
        row = int(np.searchsorted(_offsets(arr), null, side="right") - 1)
        raise InvalidRowError(spec.kind, row, f"{col.name} has a missing level, price or size")
    return arr


def _normalise(data: Any, spec: Spec, constants: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    raw, n = _raw_columns(data, spec)
    out: dict[str, Any] = {}
    for col in spec.columns:
        given = constants.get(col.name)
        values = raw.get(col.name, given)
        if values is None:
            if col.default is _REQUIRED:
                raise ValueError(
                    f"{spec.kind} data has no '{col.name}': add the column or pass "
                    f"{col.name}=... (columns given: {', '.join(sorted(raw)) or 'none'})"
                )
            values = col.default
        if col.type == LEVELS:
            out[col.name] = _levels(values, col, spec)
        elif pa.types.is_string(col.type):
            out[col.name] = _text(values, col, spec, n)
        else:
            out[col.name] = _numeric(values, col, spec, n)
        if given is not None and col.name in raw:
            _check_agrees(out[col.name], given, col, spec)
    return out, n


def _check_agrees(values: Any, given: Any, col: Column, spec: Spec) -> None:
    """A column given both as an argument and by the data must hold that value throughout."""
    if isinstance(values, pa.DictionaryArray):
        found = values.dictionary.to_pylist()
        bad = [i for i, v in enumerate(found) if v != given]
        if not bad:
            return
        wrong = found[bad[0]]
        row = int(np.flatnonzero(values.indices.to_numpy(zero_copy_only=False) == bad[0])[0])
    else:
        mismatch = np.flatnonzero(np.asarray(values) != given)
        if not len(mismatch):
            return
        row = int(mismatch[0])
        wrong = np.asarray(values)[row].item()
    raise InvalidRowError(
        spec.kind, row, f"{col.name} is {wrong!r} but {col.name}={given!r} was given"
    )


def _first_error(masks: Masks) -> tuple[int, str] | None:
    """Lowest bad row over all checks (the earlier check wins a tie) and its message."""
    best_row, best_message = -1, None
    for mask, message in masks:
        hits = np.flatnonzero(mask)
        if len(hits) and (best_message is None or hits[0] < best_row):
            best_row, best_message = int(hits[0]), message
    return None if best_message is None else (best_row, best_message(best_row))


def _check_view(cols: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """What the row checks read: numeric columns, emptiness of text, flattened book sides."""
    view: dict[str, Any] = {}
    for col in spec.columns:
        values = cols[col.name]
        if col.type == LEVELS:
            flat = values.flatten()
            view[col.name + "#offsets"] = _offsets(values)
            view[col.name + "#price"] = flat.field("price").to_numpy(zero_copy_only=False)
            view[col.name + "#size"] = flat.field("size").to_numpy(zero_copy_only=False)
        elif pa.types.is_string(col.type):
            empty = pc.equal(pc.utf8_length(values.dictionary), 0).to_numpy(zero_copy_only=False)
            view[col.name + "#empty"] = empty[values.indices.to_numpy(zero_copy_only=False)]
        else:
            view[col.name] = values
    return view


def _group_ids(cols: dict[str, Any], spec: Spec, n: int) -> np.ndarray:
    """One integer per row identifying its series (equal groups, equal ids)."""
    gid = np.zeros(n, dtype=np.int64)
    for name in spec.group:
        values = cols[name]
        if isinstance(values, pa.DictionaryArray):
            codes = values.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            size = len(values.dictionary)
        else:
            if n and (values == values[0]).all():
                continue
            uniq, codes = np.unique(values, return_inverse=True)
            size = len(uniq)
        if size > 1:
            gid = gid * size + codes
    return gid


def build(data: Any, spec: Spec, **constants: Any) -> Batch:
    """Validate ``data`` as ``spec`` records and return it sorted with unique keys.

    Raises :class:`InvalidRowError` (a ``ValueError``) naming the first bad row,
    ``ValueError`` for a missing or doubly given column, ``TypeError`` for input
    of the wrong shape.
    """
    cols, n = _normalise(data, spec, constants)
    error = _first_error(spec.check(_check_view(cols, spec))) if n else None
    if error is not None:
        raise InvalidRowError(spec.kind, *error)
    ts = cols["ts"]
    gid = _group_ids(cols, spec, n)
    single_group = n == 0 or bool((gid == gid[0]).all())
    if single_group and bool(np.all(ts[1:] > ts[:-1])):
        order = None
    else:
        order = np.lexsort((ts, gid))  # stable: equal keys stay in input order
        ts_sorted, gid_sorted = ts[order], gid[order]
        last = np.ones(n, dtype=bool)
        last[:-1] = (ts_sorted[1:] != ts_sorted[:-1]) | (gid_sorted[1:] != gid_sorted[:-1])
        order = order[last]
        gid = gid_sorted[last]
    arrays = []
    for col in spec.columns:
        values = cols[col.name]
        if isinstance(values, pa.DictionaryArray):
            values = values.cast(pa.string())
        elif not isinstance(values, pa.Array):
            values = pa.array(values, type=col.type)
        arrays.append(values if order is None else values.take(pa.array(order)))
    table = pa.Table.from_arrays(arrays, schema=spec.schema)
    return Batch(spec, table, _groups(table, spec, gid))


def _groups(
    table: pa.Table, spec: Spec, gid: np.ndarray
) -> tuple[tuple[tuple[Any, ...], int, int], ...]:
    n = table.num_rows
    if n == 0:
        return ()
    starts = np.concatenate(([0], np.flatnonzero(gid[1:] != gid[:-1]) + 1))
    ends = np.append(starts[1:], n)
    out = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        values = tuple(table.column(name)[start].as_py() for name in spec.group)
        out.append((values, start, end))
    return tuple(out)


def to_records(table: pa.Table, spec: Spec, **constants: Any) -> list[Any]:
    """``spec`` records from the rows of ``table`` (for funding, open interest, borrow
    rates and books); columns it lacks come from ``constants`` or their defaults."""
    n = table.num_rows
    fields: dict[str, list[Any]] = {}
    for col in spec.columns:
        if col.name in table.column_names:
            values = table.column(col.name).to_pylist()
        elif constants.get(col.name) is not None:
            values = [constants[col.name]] * n
        elif col.default is not _REQUIRED:
            values = [col.default] * n
        else:
            raise ValueError(f"{spec.kind} rows need '{col.name}'")
        if col.type == LEVELS:
            values = [tuple(OrderbookLevel(lv["price"], lv["size"]) for lv in v) for v in values]
        fields[col.record_attr] = values
    names = list(fields)
    rows = zip(*fields.values(), strict=True)
    return [spec.record(**dict(zip(names, row, strict=True))) for row in rows]


def to_series(table: pa.Table, market: str, resolution_s: int, venue: str) -> CandleSeries:
    """A ``CandleSeries`` over the candle columns of ``table`` (already sorted by ts)."""
    def column(name: str) -> np.ndarray:
        return np.asarray(table.column(name).to_numpy())

    return CandleSeries(
        column("ts"), column("open"), column("high"), column("low"), column("close"),
        column("volume"), market, resolution_s, venue,
    )
