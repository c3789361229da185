"""Search spaces from a strategy's ``parameters()`` schema.

``int``/``float`` entries take ``low``, ``high`` and either a ``step`` or ``log: true``
(Optuna cannot combine them); ``categorical`` entries take ``choices``. A step that
does not divide ``high - low`` ends the range at the last whole step below ``high``,
the same in every sampler. Overrides (:func:`merge`) narrow or replace entries; a
plain value fixes a parameter.
"""

import math
from collections.abc import Mapping
from typing import Any

import optuna

from flint.strategy.base import check_parameters

Schema = dict[str, dict[str, Any]]


def check(schema: Schema) -> None:
    """``ValueError`` naming every problem of ``schema`` (nothing to tune is one)."""
    if not schema:
        raise ValueError("the search space is empty: parameters() declares nothing to tune")
    problems = check_parameters(schema)
    for name, spec in schema.items():
        if spec.get("type") in ("int", "float") and spec.get("log") and spec.get("step") not in (
            None, 1,
        ):
            problems.append(f"{name}: 'log' and 'step' cannot be combined")
    if problems:
        raise ValueError("invalid search space: " + "; ".join(problems))


def merge(schema: Schema, overrides: Mapping[str, Any]) -> Schema:
    """``schema`` with ``overrides`` applied and checked.

    An override is a dict of fields (``{"low": 5, "step": 5}`` narrows the entry; one
    with ``type`` replaces it) or a plain value, which fixes the parameter.
    """
    out = {name: dict(spec) for name, spec in schema.items()}
    for name, value in overrides.items():
        if name not in out:
            known = ", ".join(out) or "none"
            raise ValueError(f"unknown parameter '{name}' in the search space (known: {known})")
        if isinstance(value, Mapping):
            out[name] = dict(value) if "type" in value else {**out[name], **value}
        else:
            out[name] = {"type": "categorical", "choices": [value]}
    check(out)
    return out


def _steps(spec: Mapping[str, Any]) -> int:
    """Whole steps from ``low`` to the last value at or below ``high``."""
    return math.floor((spec["high"] - spec["low"]) / spec["step"] + 1e-9)


def _high(spec: Mapping[str, Any]) -> Any:
    if not spec.get("step"):
        return spec["high"]
    return spec["low"] + _steps(spec) * spec["step"]


def suggest(trial: optuna.Trial, schema: Schema) -> dict[str, Any]:
    """Draw one value per parameter of ``schema`` from ``trial``."""
    params: dict[str, Any] = {}
    for name, spec in schema.items():
        kind = spec["type"]
        if kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
        elif kind == "int":
            step = int(spec.get("step") or 1)
            params[name] = trial.suggest_int(
                name, int(spec["low"]), int(_high({**spec, "step": step})), step=step,
                log=bool(spec.get("log")),
            )
        else:
            step = spec.get("step")
            params[name] = trial.suggest_float(
                name, float(spec["low"]), float(_high(spec)),
                step=float(step) if step else None, log=bool(spec.get("log")),
            )
    return params


def grid(schema: Schema) -> dict[str, list[Any]]:
    """Every grid point of ``schema``; floats need a ``step`` to be gridded."""
    out: dict[str, list[Any]] = {}
    for name, spec in schema.items():
        kind = spec["type"]
        if kind == "categorical":
            out[name] = list(spec["choices"])
        elif kind == "int":
            step = int(spec.get("step") or 1)
            out[name] = list(range(int(spec["low"]), int(spec["high"]) + 1, step))
        else:
            step = spec.get("step")
            if not step:
                raise ValueError(
                    f"parameter '{name}' is a float without 'step': the grid sampler needs one"
                )
            out[name] = [round(spec["low"] + i * step, 12) for i in range(_steps(spec) + 1)]
    return out


def grid_size(schema: Schema) -> int:
    """Number of points in the grid of ``schema``."""
    return math.prod(len(values) for values in grid(schema).values())
