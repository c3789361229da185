"""What a backtest returns, and the metrics computed from it.

Conventions: ``total_pnl`` is final equity (open positions marked at the last close)
minus the starting capital. A closed trade is one record per position reduction
(partial closes and liquidations count); it wins when its price PnL is > 0 (fees,
funding and borrow are reported separately). Returns are per bar of the equity
curve, which starts from the initial capital; Sharpe is annualised with
365 x 86400 / resolution bars a year (ARCHITECTURE section 5).
"""

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np

from flint_core.records import Fill, Position

#: A funding or borrow payment as a row of :func:`payment_table`.
PAYMENT = np.dtype([("ts", "<i8"), ("venue", "O"), ("market", "O"), ("rate", "<f8"),
                    ("price", "<f8"), ("amount", "<f8")])
#: The numpy type of a record field of each type, and the exact types of the values it
#: holds as they were (an enum field holds its members, as their values).
_KINDS: dict[Any, tuple[str, tuple[type, ...]]] = {
    float: ("<f8", (float, np.float64)), int: ("<i8", (int, np.int64)),
    bool: ("?", (bool, np.bool_)), str: ("O", (str,))}


def _kind(annotation: Any) -> tuple[str, tuple[type, ...]]:
    """The numpy type and value types of a record field of type ``annotation``."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "O", (annotation,)
    return _KINDS[annotation]


def record_dtype(cls: type) -> np.dtype:
    """The structured dtype of ``cls``'s dataclass fields: float64, int64, bool, and
    strings and enums (their values) as objects."""
    return np.dtype([(f.name, _kind(f.type)[0]) for f in dataclasses.fields(cls)])


#: A fill, and a position, as a row of :func:`record_table`.
FILL = record_dtype(Fill)
POSITION = record_dtype(Position)
#: The record fields of a result and the class of their records.
RECORD_FIELDS: dict[str, type] = {"fills": Fill, "positions": Position,
                                  "open_positions": Position}
#: The fields :meth:`BacktestResult.to_dict` gives as arrays with ``arrays=True``.
ARRAY_FIELDS = ("equity_curve", "timestamps", "funding_payments", "borrow_payments",
                *RECORD_FIELDS)


def payment_table(rows: list[tuple[int, str, str, float, float, float]]) -> np.ndarray:
    """Payment rows ``(ts, venue, market, rate, price, amount)`` as one :data:`PAYMENT`
    array (its ``tolist()`` gives the rows back as tuples)."""
    return np.array(rows, PAYMENT)


def record_table(records: list[Any], cls: type) -> np.recarray | None:
    """``records`` (of ``cls``) as one record array of :func:`record_dtype` (enum members
    as their values), which :func:`record_dicts` turns into what :meth:`BacktestResult.to_dict`
    gives; None when a record is of another class or a field holds a value of another
    type than its own (an int in a float field), which the array would change."""
    if not set(map(type, records)) <= {cls}:
        return None
    table = np.zeros(len(records), record_dtype(cls))
    for f in dataclasses.fields(cls):
        values = list(map(attrgetter(f.name), records))
        allowed = _kind(f.type)[1]
        if not set(map(type, values)) <= set(allowed):
            return None
        if issubclass(allowed[0], Enum):
            values = list(map(attrgetter("value"), values))
        try:
            table[f.name] = values
        except OverflowError:  # ints past int64
            return None
    return table.view(np.recarray)


def record_dicts(table: np.ndarray) -> list[dict[str, Any]]:
    """The rows of a structured array as dicts (field name: plain value)."""
    return list(map(dict, map(zip, repeat(table.dtype.names), table.tolist())))


def _record(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value.value if hasattr(value, "value") else value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    return value


@dataclass
class BacktestResult:
    """Outcome of :meth:`BacktestEngine.run <flint.backtest.engine.BacktestEngine.run>`.

    The seed's fields come first; the rest add what a reference check needs
    (starting capital, open positions, every funding payment, transfers).
    ``per_venue_pnl`` is realised + unrealised - fees - funding - borrow - transfer costs
    of each venue (it sums to ``total_pnl``); ``per_venue_funding_income`` is funding
    received (> 0) or paid (< 0); ``funding_paid`` > 0 means paid.
    """

    total_pnl: float = 0.0
    win_rate: float = 0.0
    max_drawdown: float = 0.0
    sharpe_ratio: float = 0.0
    total_trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    positions: list[Position] = field(default_factory=list)
    equity_curve: list[float] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    total_fees: float = 0.0
    funding_paid: float = 0.0
    strategy_warnings: list[str] = field(default_factory=list)
    per_venue_pnl: dict[str, float] = field(default_factory=dict)
    per_venue_trades: dict[str, int] = field(default_factory=dict)
    per_venue_funding_income: dict[str, float] = field(default_factory=dict)
    total_tx_costs: float = 0.0
    jupiter_borrow_paid: float = 0.0
    borrow_payments: list[tuple[int, str, str, float, float, float]] = field(
        default_factory=list
    )
    margin_stats: dict[str, Any] | None = None
    # Beyond the seed
    initial_capital: float = 0.0
    final_equity: float = 0.0
    resolution_s: int = 3600
    timestamps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    open_positions: list[Position] = field(default_factory=list)
    funding_payments: list[tuple[int, str, str, float, float, float]] = field(
        default_factory=list
    )
    transfers: list[dict[str, Any]] = field(default_factory=list)
    transfer_costs: float = 0.0
    per_venue_fees: dict[str, float] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)

    @property
    def total_return(self) -> float:
        """``total_pnl`` as a fraction of the starting capital."""
        return self.total_pnl / self.initial_capital if self.initial_capital else 0.0

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        """Every field as plain JSON-friendly values (records become dicts); with
        ``arrays``, the :data:`ARRAY_FIELDS` as numpy arrays instead (the equity curve
        float64, the timestamps int64, payments :func:`payment_table`, whose ``tolist()``
        gives the plain values, and records :func:`record_table`, whose
        :func:`record_dicts` does, or their plain values when they do not fit one)."""
        return {f.name: self._array(f.name) if arrays and f.name in ARRAY_FIELDS
                else _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def _array(self, name: str) -> Any:
        """The array form of the :data:`ARRAY_FIELDS` field ``name``."""
        if name == "equity_curve":
            return np.asarray(self.equity_curve, dtype=np.float64)
        if name == "timestamps":
            return np.asarray(self.timestamps, dtype=np.int64)
        if name in RECORD_FIELDS:
            table = record_table(getattr(self, name), RECORD_FIELDS[name])
            return _plain(getattr(self, name)) if table is None else table
        return payment_table(getattr(self, name))
