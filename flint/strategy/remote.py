"""A strategy class defined by untrusted code, for the optimiser: it lives in sandboxed children.

``flint optimize FILE`` and walk-forward of a file never run the file's code in
flint's own process. :class:`SandboxedStrategy` stands for the file's strategy
class: it knows the class's name and ``parameters()`` (read in a sandboxed child)
and :meth:`SandboxedStrategy.backtest` runs one trial in a long-lived
:class:`~flint.strategy.sandbox.Sandbox` of the calling process, which loads the
code once and receives each candles (and funding) object once. The trial's result comes back as
data (its records as columns, :mod:`flint.strategy.replies`), is checked field by
field against the result's types and rebuilt into a
:class:`~flint.backtest.result.BacktestResult`, so scoring it gives exactly what an
in-process run would.
"""

import copy
import dataclasses
import enum
import os
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import numpy as np

from flint.backtest.result import RECORD_FIELDS
from flint.strategy.base import check_parameters
from flint.strategy.loader import StrategyLoadError
from flint.strategy.sandbox import (
    Sandbox,
    SandboxLimits,
    StrategyExecutionError,
)
from flint_core.funding import FundingColumns

#: The job a trial runs in the child.
TRIAL_JOB = "flint.strategy.remote:trial_job"


class SandboxedStrategy:
    """The strategy class in ``code``, run only in sandboxed children.

    Raises :class:`~flint.strategy.loader.StrategyLoadError` when the code is
    refused, fails to load or declares invalid ``parameters()``, and
    :class:`~flint.strategy.sandbox.SandboxUnavailableError` when the host cannot
    confine it and ``trust`` is false. Picklable (a copy starts its own child).
    """

    def __init__(self, code: str, *, filename: str = "<strategy>", class_name: str | None = None,
                 limits: SandboxLimits | None = None, trust: bool = False) -> None:
        self.code = code
        self.filename = filename
        self.class_name = class_name
        self.limits = limits
        self.trust = trust
        self._box: Sandbox | None = None
        box = self._sandbox()
        problems = check_parameters(box.parameters)
        if problems:
            self.close()
            raise StrategyLoadError(f"{filename}: invalid parameters(): {'; '.join(problems)}")
        self.__name__ = self.__qualname__ = str(box.name)
        self._schema = box.parameters

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The class's ``parameters()`` schema (a copy)."""
        return copy.deepcopy(self._schema)

    def backtest(self, params: Mapping[str, Any], candles: Any, settings: Any,
                 warmup: int = 0) -> Any:
        """Run ``cls(**params)`` on ``candles`` with ``settings`` (a
        :class:`flint.optimization.objective.RunSettings`) in the sandbox, the first
        ``warmup`` bars as history only.

        Raises :class:`~flint.strategy.loader.StrategyParameterError` when the class
        refuses ``params`` and the sandbox's errors when the run fails.
        """
        engine_options = dict(settings.engine_options)
        funding = None
        if isinstance(engine_options.get("funding_rates"), (list, FundingColumns)):
            funding = engine_options.pop("funding_rates")  # sent once, as columns
        options = {"initial_capital": settings.initial_capital, "fee_rate": settings.fee_rate,
                   "engine_options": engine_options, "warmup": warmup}
        return result_from_data(self._sandbox().run(TRIAL_JOB, candles, dict(params), options,
                                                    funding=funding or None))

    def _sandbox(self) -> Sandbox:
        if self._box is None or self._box._owner != os.getpid():
            self._box = Sandbox(self.code, class_name=self.class_name, filename=self.filename,
                                limits=self.limits, trust=self.trust)
        return self._box

    def close(self) -> None:
        """Stop this process's child (the next backtest starts another)."""
        if self._box is not None:
            self._box.close()
            self._box = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_box": None}

    def __repr__(self) -> str:
        return f"<sandboxed strategy {self.__name__} from {self.filename}>"


#: What JSON may bring for a plain field of each type (a float may come as an int).
_PLAIN = {float: (float, int), int: (int,), str: (str,), bool: (bool,)}


def trial_job(strategy: Any, candles: Any, *, initial_capital: float, fee_rate: float,
              engine_options: dict[str, Any], warmup: int = 0,
              funding: FundingColumns | None = None) -> dict[str, Any]:
    """In the child: one trial's backtest as plain data: :meth:`BacktestResult.to_dict`
    but with the equity curve and timestamps as numpy arrays and the records as columns
    (what costs most to encode travels as raw bytes). ``funding``: the engine's funding,
    as the child keeps it (see :meth:`~flint.strategy.sandbox.Sandbox.run`)."""
    from flint.optimization.objective import RunSettings, run_engine

    if funding is not None:
        engine_options = {**engine_options, "funding_rates": funding}
    settings = RunSettings(initial_capital, fee_rate, engine_options)
    result = run_engine(strategy, candles, settings, warmup)
    rest = dataclasses.replace(result, equity_curve=[], timestamps=np.empty(0, dtype=np.int64),
                               **{key: [] for key in RECORD_FIELDS})
    data: dict[str, Any] = rest.to_dict()
    data["equity_curve"] = np.asarray(result.equity_curve, dtype=np.float64)
    data["timestamps"] = np.asarray(result.timestamps, dtype=np.int64)
    for key in RECORD_FIELDS:
        data[key] = _columns(getattr(result, key))
    return data


def _columns(records: list[Any]) -> dict[str, list[Any]]:
    """Dataclass records as ``{field: [values]}`` (enum members as their values)."""
    if not records:
        return {}
    columns = {}
    for field in dataclasses.fields(records[0]):
        values = list(map(attrgetter(field.name), records))
        if isinstance(values[0], enum.Enum):
            values = list(map(attrgetter("value"), values))
        columns[field.name] = values
    return columns


def _records(cls: type, columns: Any) -> list[Any]:
    """``cls`` records from :func:`_columns`, each column's values checked against
    the field's type (an enum field's values must name its members)."""
    if type(columns) is not dict:
        raise TypeError(f"{cls.__name__} records are not columns")
    if not columns:
        return []
    columns = dict(columns)
    types = {field.name: field.type for field in dataclasses.fields(cls)}
    for name, values in columns.items():
        if name not in types or type(values) is not list:
            raise TypeError(f"{cls.__name__} has no column {name!r} of values")
        kind = types[name]
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            members = {member.value: member for member in kind}
            if not set(map(type, values)) <= {str} or not set(values) <= set(members):
                raise ValueError(f"{cls.__name__}.{name} holds values that are not {kind.__name__}")
            columns[name] = list(map(members.__getitem__, values))
        elif not set(map(type, values)) <= set(_PLAIN.get(kind, (object,))):
            raise TypeError(f"{cls.__name__}.{name} holds values that are not {kind}")
    if len(set(map(len, columns.values()))) != 1:
        raise ValueError(f"{cls.__name__} columns are of different lengths")
    names = list(columns)
    if names == list(types)[:len(names)]:  # positional: several times faster
        return list(map(cls, *columns.values()))
    return [cls(**dict(zip(names, row, strict=True)))
            for row in zip(*columns.values(), strict=True)]


def result_from_data(data: Any) -> Any:
    """The :class:`~flint.backtest.result.BacktestResult` that :func:`trial_job` sent.

    The child may be compromised: anything but what :func:`trial_job` sends raises
    :class:`~flint.strategy.sandbox.StrategyExecutionError`.
    """
    from flint.backtest.result import BacktestResult
    from flint.models import Fill, Position

    try:
        if type(data) is not dict:
            raise TypeError("it is not an object")
        fields = dict(data)
        for field in dataclasses.fields(BacktestResult):
            allowed = _PLAIN.get(field.type)
            if allowed and type(fields.get(field.name)) not in allowed:
                raise TypeError(f"{field.name} is not {field.type}")
        fields["positions"] = _records(Position, data["positions"])
        fields["open_positions"] = _records(Position, data["open_positions"])
        fields["fills"] = _records(Fill, data["fills"])
        for key in ("borrow_payments", "funding_payments"):
            fields[key] = [tuple(row) for row in data[key]]
        fields["timestamps"] = _numbers("timestamps", data["timestamps"], int)
        fields["equity_curve"] = _numbers("equity_curve", data["equity_curve"], float).tolist()
        return BacktestResult(**fields)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise StrategyExecutionError(
            f"the sandbox sent a malformed trial result: {type(exc).__name__}: {exc}"
        ) from None


def _numbers(name: str, values: Any, kind: type) -> np.ndarray:
    """``values`` (a numpy array of ``kind``'s dtype, or a list of ``kind``) as an array."""
    dtype = np.dtype(np.int64 if kind is int else np.float64)
    if isinstance(values, np.ndarray) and values.dtype == dtype and values.ndim == 1:
        return values
    if type(values) is not list or not set(map(type, values)) <= set(_PLAIN[kind]):
        raise TypeError(f"{name} is not a list of numbers")
    return np.asarray(values, dtype=dtype)
