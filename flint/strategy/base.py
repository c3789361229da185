"""The base class of every strategy.

A strategy sees one bar at a time: ``on_candle(candle, history, ctx)`` where
``history`` holds the earlier bars only (newest last, never ``candle`` itself).
v1 strategies return a :class:`~flint.models.Signal`; v2 strategies place orders
through ``ctx`` (an execution context) and return ``Signal.HOLD``. The same class
runs unchanged in backtest, paper and live trading.
"""

import abc
from collections.abc import Sequence
from typing import Any

from flint.execution.context import ExecutionContext
from flint_core.enums import Signal
from flint_core.records import Candle

PARAMETER_TYPES = frozenset({"int", "float", "categorical"})


class Strategy(abc.ABC):
    """Subclass this; implement ``name``, ``on_candle`` and ``reset``."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Identifier shown in results and listings."""

    @abc.abstractmethod
    def on_candle(
        self,
        candle: Candle,
        history: Sequence[Candle],
        ctx: ExecutionContext | None = None,
    ) -> Signal:
        """Decide on ``candle`` given the earlier bars in ``history``."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all state; called before every run."""

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        """Optimisable hyperparameters: ``{kwarg: {"type": "int"|"float"|"categorical", ...}}``.

        int/float entries take ``low``, ``high`` and optional ``default``, ``step``, ``log``;
        categorical entries take ``choices`` and optional ``default``. Empty = not optimisable.
        """
        return {}


def check_parameters(schema: dict[str, dict[str, Any]]) -> list[str]:
    """Problems with a ``parameters()`` schema (empty when it is valid)."""
    problems: list[str] = []
    for key, spec in schema.items():
        kind = spec.get("type")
        if kind not in PARAMETER_TYPES:
            problems.append(f"{key}: type must be one of {sorted(PARAMETER_TYPES)}, got {kind!r}")
            continue
        if kind == "categorical":
            choices = spec.get("choices")
            if not choices:
                problems.append(f"{key}: categorical parameter needs non-empty 'choices'")
            elif "default" in spec and spec["default"] not in choices:
                problems.append(f"{key}: default {spec['default']!r} is not among the choices")
            continue
        low, high = spec.get("low"), spec.get("high")
        if low is None or high is None:
            problems.append(f"{key}: {kind} parameter needs 'low' and 'high'")
            continue
        if low > high:
            problems.append(f"{key}: low {low} is above high {high}")
        default = spec.get("default")
        if default is not None and not low <= default <= high:
            problems.append(f"{key}: default {default} is outside [{low}, {high}]")
        if spec.get("log") and low <= 0:
            problems.append(f"{key}: a log-scaled parameter needs low > 0")
        step = spec.get("step")
        if step is not None and step <= 0:
            problems.append(f"{key}: step must be > 0")
    return problems
