"""Funding settlements as numpy columns: :class:`FundingColumns`.

The columnar form of a list of :class:`~flint_core.records.FundingRate`, for data
that is columnar already (a store read, a child process receiving arrays): the
engine reads it without building a record a row. Checked once, as the records are:
finite rates and intervals > 0, names that are strings.
"""

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from flint_core.markets import DEFAULT_VENUE
from flint_core.records import FundingRate

#: The numeric columns and their dtypes, in :class:`FundingRate`'s field order.
NUMBERS: dict[str, Any] = {
    "ts": np.dtype(np.int64), "rate": np.dtype(np.float64),
    "oracle_price": np.dtype(np.float64), "mark_price": np.dtype(np.float64),
    "slot": np.dtype(np.int64), "interval_s": np.dtype(np.int64),
}


class FundingColumns:
    """Funding settlements, one row each, as columns (``FundingRate``'s fields).

    ``ts``, ``rate`` and the optional ``oracle_price``, ``mark_price`` (0: none),
    ``slot`` and ``interval_s`` are 1-D arrays (or sequences) of one length; a number
    in place of an optional column applies to every row. ``market`` and ``source``
    (the venue) are each a name for every row, or ``(names, codes)``: the distinct
    names and an integer array of one index into them a row (what
    ``numpy.unique(names_per_row, return_inverse=True)`` gives). Rows need not be
    sorted. ``ValueError`` / ``TypeError`` say what is wrong.

    The arrays are read-only copies; ``markets`` and ``sources`` hold the distinct
    names in sorted order and ``market_codes`` / ``source_codes`` index them.
    """

    def __init__(
        self,
        ts: Any,
        rate: Any,
        *,
        market: Any,
        source: Any = DEFAULT_VENUE,
        oracle_price: Any = 0.0,
        mark_price: Any = 0.0,
        slot: Any = 0,
        interval_s: Any = 3600,
    ) -> None:
        self.ts: Any = _column("ts", ts, NUMBERS["ts"], -1)
        rows = int(self.ts.shape[0])
        self.rate: Any = _column("rate", rate, NUMBERS["rate"], rows)
        self.oracle_price: Any = _column("oracle_price", oracle_price, NUMBERS["oracle_price"],
                                         rows)
        self.mark_price: Any = _column("mark_price", mark_price, NUMBERS["mark_price"], rows)
        self.slot: Any = _column("slot", slot, NUMBERS["slot"], rows)
        self.interval_s: Any = _column("interval_s", interval_s, NUMBERS["interval_s"], rows)
        self.markets, self.market_codes = _names("market", market, rows)
        self.sources, self.source_codes = _names("source", source, rows)
        bad: Any = np.flatnonzero(~np.isfinite(self.rate) | (self.interval_s <= 0))
        if bad.size:
            raise ValueError(
                f"funding row {int(bad[0])}: rate must be finite and interval_s > 0: "
                f"{self.record(int(bad[0]))!r}"
            )

    @classmethod
    def from_records(cls, records: Sequence[FundingRate]) -> "FundingColumns":
        """The columns of ``records`` (``FundingRate`` objects, not checked for type)."""
        count = len(records)
        numbers = {name: np.fromiter(map(attrgetter(name), records), dtype, count)
                   for name, dtype in NUMBERS.items()}
        return cls(
            numbers["ts"], numbers["rate"], oracle_price=numbers["oracle_price"],
            mark_price=numbers["mark_price"], slot=numbers["slot"],
            interval_s=numbers["interval_s"],
            market=_coded(list(map(attrgetter("market"), records))),
            source=_coded(list(map(attrgetter("source"), records))),
        )

    @classmethod
    def concat(cls, parts: Sequence["FundingColumns"]) -> "FundingColumns":
        """The rows of ``parts``, one after another."""
        if not parts:
            return cls([], [], market=((), np.zeros(0, np.intp)), source=((), np.zeros(0, np.intp)))
        markets = sorted({name for part in parts for name in part.markets})
        sources = sorted({name for part in parts for name in part.sources})
        numbers = {name: np.concatenate([getattr(part, name) for part in parts])
                   for name in NUMBERS}
        return cls(
            numbers["ts"], numbers["rate"], oracle_price=numbers["oracle_price"],
            mark_price=numbers["mark_price"], slot=numbers["slot"],
            interval_s=numbers["interval_s"],
            market=(markets, _recoded(markets, [(p.markets, p.market_codes) for p in parts])),
            source=(sources, _recoded(sources, [(p.sources, p.source_codes) for p in parts])),
        )

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def record(self, i: int) -> FundingRate:
        """Row ``i`` as a :class:`FundingRate`."""
        return FundingRate(
            self.markets[int(self.market_codes[i])], int(self.ts[i]), float(self.rate[i]),
            float(self.oracle_price[i]), float(self.mark_price[i]), int(self.slot[i]),
            self.sources[int(self.source_codes[i])], int(self.interval_s[i]),
        )

    def to_records(self) -> list[FundingRate]:
        """Every row as a :class:`FundingRate`, in row order."""
        return [self.record(i) for i in range(len(self))]

    def __repr__(self) -> str:
        return (f"FundingColumns({len(self)} rows, markets={list(self.markets)}, "
                f"sources={list(self.sources)})")


def _column(name: str, values: Any, dtype: Any, rows: int) -> Any:
    """``values`` as a read-only 1-D ``dtype`` array of ``rows`` (-1: any) values; a
    number fills every row."""
    if rows >= 0 and np.ndim(values) == 0:
        array: Any = np.full(rows, values, dtype=dtype)
    else:
        given: Any = np.asarray(values)
        if given.ndim != 1:
            raise ValueError(f"funding column {name!r} must be 1-D, got shape {given.shape}")
        if given.size and given.dtype.kind not in ("iu" if dtype.kind == "i" else "iuf"):
            raise TypeError(f"funding column {name!r} must hold numbers of {dtype}, got "
                            f"{given.dtype}")
        array = np.array(given, dtype=dtype)
        if rows >= 0 and array.shape[0] != rows:
            raise ValueError(f"funding column {name!r} has {array.shape[0]} values for "
                             f"{rows} rows")
    array.flags.writeable = False
    return array


def _names(name: str, value: Any, rows: int) -> tuple[tuple[str, ...], Any]:
    """A name for every row, or ``(names, codes)``, as sorted distinct names and codes."""
    if isinstance(value, str):
        names: list[Any] = [value]
        codes: Any = np.zeros(rows, dtype=np.intp)
    elif isinstance(value, tuple) and len(value) == 2:
        if isinstance(value[0], (str, bytes)):
            raise TypeError(f"funding {name} names must be a sequence of strings, got "
                            f"{value[0]!r}")
        names = list(value[0])
        codes = np.asarray(value[1])
        if codes.ndim != 1 or codes.shape[0] != rows or (rows and codes.dtype.kind not in "iu"):
            raise ValueError(f"funding {name} codes must be {rows} integers")
        if rows and (int(codes.min()) < 0 or int(codes.max()) >= len(names)):
            raise ValueError(f"funding {name} codes point past the {len(names)} names")
    else:
        raise TypeError(f"funding {name} must be a name or (names, codes), got "
                        f"{type(value).__name__}")
    for text in names:
        if not isinstance(text, str):
            raise TypeError(f"funding {name} names must be strings, got {text!r}")
    distinct, renumber = np.unique(np.array(names, dtype=str), return_inverse=True)
    out: Any = renumber.astype(np.intp)[codes] if rows else np.zeros(0, dtype=np.intp)
    out.flags.writeable = False
    return tuple(str(text) for text in distinct.tolist()), out


def _coded(texts: list[str]) -> tuple[list[str], Any]:
    """``texts`` as (distinct texts, codes), the codes counting from the first seen."""
    distinct = list(dict.fromkeys(texts))
    index = {text: i for i, text in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, texts), np.intp, len(texts))


def _recoded(names: list[str], parts: list[tuple[tuple[str, ...], Any]]) -> Any:
    """The codes of ``parts`` (each its names and codes) as indices into ``names``."""
    position = {name: i for i, name in enumerate(names)}
    return np.concatenate([
        np.array([position[name] for name in own], dtype=np.intp)[codes]
        if len(own) else codes.astype(np.intp) for own, codes in parts
    ])
