"""The sandboxed child's replies: JSON, with bulk data as typed columns of raw bytes.

A reply is two big-endian 64-bit sizes (:data:`HEADER`), a JSON object of that
first size and raw bytes of the second. The JSON is ``{"kind", "payload",
"columns"}``; ``columns`` lists what :func:`encode` took out of the payload's dicts
(left there as ``null``) and sent as raw bytes, in order:

* a long list of floats, ints, bools or strings, or a 1-D float64/int64 array, as
  one column: ``{"at": [keys], "type", "rows", "list"}``;
* a 1-D structured array of float64, int64, bool and string (object) fields (e.g.
  payment rows, :data:`flint.backtest.result.PAYMENT`, or fills,
  :data:`~flint.backtest.result.FILL`) as one column per field, however short:
  ``{"at", "type": "struct", "rows", "names", "columns", "list": false, "records"}``, at
  least one field 8 bytes a row; it decodes to the same structured array, a numpy record
  array (``np.recarray``) when ``records`` is true, as it was;
* a long list of dicts with the same string keys (records, e.g. fills that fit no
  record array) as a table: ``{"at", "type": "table", "rows", "keys", "columns"}``, one
  column per key, at least one of them 8 bytes a row;
* a long list of lists of the same length (rows, e.g. funding payments) as rows:
  ``{"at", "type": "rows", "rows", "columns"}``, one column per place in a row, at
  least one of them 8 bytes a row.

Column types and their bytes a row: ``f8`` (little-endian float64, 8), ``i8``
(int64, 8), ``bool`` (one byte, 0 or 1), ``str`` (int32 index into the column's
``values``, its distinct strings, 4) and, in tables and rows only, ``json`` (the values
themselves in ``values``, 0). Floats, ints and bools round-trip exactly as through
JSON; nothing else is taken out.

The child may be compromised, so :func:`decode` trusts nothing: it reads only
these plain types, checks every size, index and place against what was sent, and
raises :class:`MalformedReply` for anything else. What it builds stays within a
small multiple of the bytes received (a table's row carries at least 8 of them), as
for JSON. Rows are rebuilt by numpy and C-level iteration, with no Python code run
per row. Both run with the garbage collector paused: they build many containers and no
reference cycle, and on a large heap the collections those would trigger cost more than
the work itself.
"""

import gc
import json
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat
from typing import Any

import numpy as np

#: Sizes of the JSON text and of the raw bytes after it.
HEADER = struct.Struct("!QQ")
#: Lists at least this long are sent as columns when their items allow.
LONG_LIST = 64
#: The column type of each numpy type a structured array's field may have.
_FIELDS = {"<f8": "f8", "<i8": "i8", "|b1": "bool", "|O": "str"}
#: The numpy type of each column type's raw bytes.
_RAW = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8"), "bool": np.dtype("u1"),
        "str": np.dtype("<i4")}


class MalformedReply(ValueError):
    """A reply that is not what :func:`encode` writes."""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection inside (unless it was off already, as it is left)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


# Encoding (in the child)


def encode(kind: str, payload: Any) -> bytes:
    """The reply ``{"kind": kind, "payload": payload}`` with its bulk data as columns.

    Raises ``TypeError`` or ``ValueError`` when ``payload`` is not JSON data.
    """
    columns: list[dict[str, Any]] = []
    blobs: list[memoryview] = []
    with _collector_paused():
        body = json.dumps({"kind": kind, "payload": _detach(payload, [], columns, blobs),
                           "columns": columns}).encode()
    raw = sum(map(len, blobs))
    return b"".join((HEADER.pack(len(body), raw), body, *blobs))  # one copy of the bulk


def _raw(array: np.ndarray) -> memoryview:
    """The bytes of a 1-D array, copied only when it is not contiguous."""
    return np.ascontiguousarray(array).data.cast("B")


def _detach(value: Any, at: list[str], columns: list[dict[str, Any]],
            blobs: list[memoryview]) -> Any:
    """``value`` with its long lists and numeric arrays replaced by ``None`` and described
    in ``columns`` (their bytes appended to ``blobs``)."""
    if isinstance(value, dict) and all(type(key) is str for key in value):
        return {key: _detach(item, [*at, key], columns, blobs) for key, item in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.str in ("<f8", "<i8"):
        column = {"type": value.dtype.str[1:], "rows": len(value), "list": False}
        blobs.append(_raw(value))
    elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.names:
        column = _struct(value, blobs)
    elif isinstance(value, list) and len(value) >= LONG_LIST:
        first = type(value[0])
        described = (_table(value, blobs) if first is dict else
                     _rows(value, blobs) if first is list else _column(value, blobs))
        if described is None:
            return value
        column = {**described, "list": True}
    else:
        return value
    columns.append({"at": at, **column})
    return None


def _column(values: list[Any] | tuple[Any, ...], blobs: list[memoryview],
            in_table: bool = False) -> dict[str, Any] | None:
    """``values`` as a column (its bytes appended to ``blobs``); None when they are of
    no column type (in a table: a ``json`` column)."""
    types = set(map(type, values))
    if types == {str}:
        return _text(values, blobs)
    for kind, allowed in (("f8", {float, np.float64}), ("i8", {int, np.int64}),
                          ("bool", {bool, np.bool_})):
        if types <= allowed:
            try:
                blobs.append(_raw(np.fromiter(values, _RAW[kind], len(values))))
            except OverflowError:  # ints past int64
                break
            return {"type": kind, "rows": len(values)}
    return {"type": "json", "rows": len(values), "values": list(values)} if in_table else None


def _text(values: list[Any] | tuple[Any, ...], blobs: list[memoryview]) -> dict[str, Any]:
    """Strings as a ``str`` column (codes appended to ``blobs``; the caller checks that
    its ``values``, the distinct ones, are strings)."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:  # one name a row, as a venue often is: no lookups
        codes = np.zeros(len(values), _RAW["str"])
    else:
        index = {text: i for i, text in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, values), _RAW["str"], len(values))
    blobs.append(_raw(codes))
    return {"type": "str", "rows": len(values), "values": distinct}


def _struct(table: np.ndarray, blobs: list[memoryview]) -> dict[str, Any]:
    """A structured array as one column per field (bytes appended to ``blobs``).

    Raises ``TypeError`` for a field of another type or strings that are not ``str``.
    """
    names = list(table.dtype.names or ())
    kinds = [table.dtype[name].str for name in names]
    if not set(kinds) <= set(_FIELDS) or not {"<f8", "<i8"} & set(kinds):
        raise TypeError(f"a structured array of fields {kinds} is not JSON data")
    columns = []
    for name, kind in zip(names, kinds, strict=True):
        if kind == "|O":
            column = _text(table[name].tolist(), blobs)
            if not set(map(type, column["values"])) <= {str}:  # each distinct value
                raise TypeError(f"field {name!r} of a structured array is not strings")
        else:
            column = {"type": _FIELDS[kind], "rows": len(table)}
            blobs.append(_raw(table[name]))
        columns.append(column)
    return {"type": "struct", "rows": len(table), "names": names, "columns": columns,
            "list": False, "records": isinstance(table, np.recarray)}


def _table(rows: list[Any], blobs: list[memoryview]) -> dict[str, Any] | None:
    """Dicts with the same string keys as one column per key; None otherwise."""
    if set(map(type, rows)) != {dict} or len(set(map(tuple, rows))) != 1:
        return None
    keys = list(rows[0])
    if not keys or any(type(key) is not str for key in keys):
        return None
    columns = _table_columns(list(zip(*map(dict.values, rows), strict=True)), blobs)
    if columns is None:
        return None
    return {"type": "table", "rows": len(rows), "keys": keys, "columns": columns}


def _rows(rows: list[Any], blobs: list[memoryview]) -> dict[str, Any] | None:
    """Lists of the same length as one column per place; None otherwise."""
    if set(map(type, rows)) != {list} or len(set(map(len, rows))) != 1 or not rows[0]:
        return None
    columns = _table_columns(list(zip(*rows, strict=True)), blobs)
    if columns is None:
        return None
    return {"type": "rows", "rows": len(rows), "columns": columns}


def _table_columns(values: list[tuple[Any, ...]],
                   blobs: list[memoryview]) -> list[dict[str, Any]] | None:
    """The columns of a table or rows (bytes appended to ``blobs``); None when none of
    them is 8 bytes a row."""
    own: list[memoryview] = []
    described = [_column(column, own, in_table=True) for column in values]
    columns = [column for column in described if column is not None]
    if len(columns) != len(described) or not any(c["type"] in ("f8", "i8") for c in columns):
        return None  # a row must carry 8 bytes: see decode's bound
    blobs.extend(own)
    return columns


# Decoding (in the parent)


def decode(data: bytes | bytearray | memoryview, json_size: int) -> dict[str, Any]:
    """The reply in ``data`` (the bytes after :data:`HEADER`), its columns back in place.

    Raises :class:`MalformedReply` when it is anything but what :func:`encode` writes.
    """
    with _collector_paused():
        return _decode(memoryview(data), json_size)


def _decode(view: memoryview, json_size: int) -> dict[str, Any]:
    try:
        reply = json.loads(bytes(view[:json_size]))
    except (ValueError, RecursionError) as exc:
        raise MalformedReply(f"its JSON does not parse ({type(exc).__name__})") from None
    if type(reply) is not dict or type(reply.get("kind")) is not str:
        raise MalformedReply("it is not an object with a 'kind'")
    entries = reply.pop("columns", [])
    if type(entries) is not list:
        raise MalformedReply("'columns' is not a list")
    reader = _Reader(view[json_size:])
    for entry in entries:
        if type(entry) is not dict or type(entry.get("list")) is not bool:
            raise MalformedReply("a column is not described")
        if entry.get("type") == "table":
            value: Any = reader.table(entry)
        elif entry.get("type") == "struct":
            value = reader.struct(entry)
        elif entry.get("type") == "rows":
            value = reader.rows(entry)
        else:
            value = reader.column(entry, as_list=entry["list"])
        _place(reply, entry.get("at"), value)
    if reader.offset != len(reader.raw):
        raise MalformedReply(f"{len(reader.raw) - reader.offset} bytes were not described")
    return reply


def _place(reply: dict[str, Any], at: Any, value: Any) -> None:
    """Put ``value`` where the payload holds its ``null`` placeholder."""
    if type(at) is not list or any(type(key) is not str for key in at):
        raise MalformedReply("a column's place is not a list of keys")
    holder, key = reply, "payload"
    for step in at:
        inner = holder.get(key)
        if type(inner) is not dict or step not in inner:
            raise MalformedReply(f"a column's place {at} is not in the payload")
        holder, key = inner, step
    if key not in holder or holder[key] is not None:
        raise MalformedReply(f"a column's place {at} is not a placeholder")
    holder[key] = value


class _Reader:
    """Reads columns off the raw bytes, in order, checking each against what is left."""

    def __init__(self, raw: memoryview) -> None:
        self.raw = raw
        self.offset = 0

    def column(self, entry: dict[str, Any], as_list: bool, in_table: bool = False) -> Any:
        kind, rows = entry.get("type"), entry.get("rows")
        if type(rows) is not int or rows < 0:
            raise MalformedReply("a column's row count is not a count")
        if kind == "json" and in_table:
            values = entry.get("values")
            if type(values) is not list or len(values) != rows:
                raise MalformedReply("a json column does not hold its rows")
            return values
        dtype = _RAW.get(kind) if type(kind) is str else None
        if dtype is None or (not as_list and not in_table and kind not in ("f8", "i8")):
            raise MalformedReply(f"a column has an unknown type {kind!r}")
        if rows * dtype.itemsize > len(self.raw) - self.offset:
            raise MalformedReply(f"a column of {rows} rows is longer than what was sent")
        array = np.frombuffer(self.raw, dtype, rows, self.offset)
        self.offset += rows * dtype.itemsize
        if kind == "bool":
            if rows and int(array.max()) > 1:
                raise MalformedReply("a bool column holds other values than 0 and 1")
            flags = array.astype(bool)
            return flags.tolist() if as_list else flags  # (not a list: a struct's field)
        if kind == "str":
            return _strings(entry.get("values"), array, as_list)
        if in_table and not as_list:  # a structured array's field: copied into it
            return array
        return array.tolist() if as_list else array.copy()

    def table(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        keys = entry.get("keys")
        if (type(keys) is not list or not keys or any(type(k) is not str for k in keys)
                or len(set(keys)) != len(keys)):
            raise MalformedReply("a table's keys are not distinct strings")
        values = self._table_columns(entry, len(keys))
        return list(map(dict, map(zip, repeat(keys), zip(*values, strict=True))))

    def struct(self, entry: dict[str, Any]) -> np.ndarray:
        names = entry.get("names")
        if (type(names) is not list or not names
                or any(type(n) is not str or not n for n in names)
                or len(set(names)) != len(names)):
            raise MalformedReply("a structured array's fields are not distinct names")
        records = entry.get("records")
        if type(records) is not bool:
            raise MalformedReply("a structured array does not say whether it holds records")
        values = self._table_columns(entry, len(names), as_list=False)
        table = np.zeros(len(values[0]), [(name, column.dtype)  # zeros: fast with objects
                                          for name, column in zip(names, values, strict=True)])
        for name, column in zip(names, values, strict=True):
            table[name] = column
        return table.view(np.recarray) if records else table

    def rows(self, entry: dict[str, Any]) -> list[list[Any]]:
        columns = entry.get("columns")
        if type(columns) is not list or not columns:
            raise MalformedReply("rows have no columns")
        return list(map(list, zip(*self._table_columns(entry, len(columns)), strict=True)))

    def _table_columns(self, entry: dict[str, Any], width: int, as_list: bool = True
                       ) -> list[Any]:
        """The ``width`` columns of a table or rows (``as_list`` false: of a structured
        array, numbers and flags as arrays, strings as object arrays), each read and
        checked."""
        columns, rows = entry.get("columns"), entry.get("rows")
        if type(columns) is not list or len(columns) != width:
            raise MalformedReply("a table does not have one column per key")
        if entry["list"] != as_list or not any(
                type(c) is dict and c.get("type") in ("f8", "i8") for c in columns):
            raise MalformedReply("a table has no 8-byte column")
        values = []
        for column in columns:
            if type(column) is not dict or column.get("rows") != rows:
                raise MalformedReply("a table's columns are not all of its length")
            if not as_list and column.get("type") not in _RAW:
                raise MalformedReply("a structured array's field is not numbers, flags or "
                                     "strings")
            values.append(self.column(column, as_list, in_table=True))
        return values


def _strings(values: Any, codes: np.ndarray, as_list: bool) -> Any:
    """The strings ``codes`` index in ``values``: a list, or (``as_list`` false) an
    object array of ``values``' own strings."""
    if type(values) is not list or any(type(text) is not str for text in values):
        raise MalformedReply("a str column's values are not strings")
    if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(values)):
        raise MalformedReply("a str column points past its values")
    if not as_list:
        return np.array(values, dtype=object)[codes]
    if len(values) == 1:  # every code is 0
        return values * len(codes)
    return list(map(values.__getitem__, codes.tolist()))
