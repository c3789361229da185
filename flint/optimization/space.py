"""Search spaces from a strategy's ``parameters()`` schema.

``int``/``float`` entries take ``low``, ``high`` and either a ``step`` or ``log: true``
(Optuna cannot combine them); ``categorical`` entries take ``choices``. A step that
does not divide ``high - low`` ends the range at the last whole step below ``high``,
the same in every sampler. Overrides (:func:`merge`) narrow or replace entries; a
plain value fixes a parameter.

Constraint: an ``int``/``float`` entry with ``"greater_than": "other"`` only takes
values above the value drawn for ``other`` (a numeric parameter). ``other`` is drawn
first and the entry's range starts at its first value (on its step) above it, so no
sampler ever proposes a combination that breaks the constraint; the grid holds only
the points that keep it. A space where some value of ``other`` leaves the entry no
value is refused when it is checked.
"""

import itertools
import math
from collections.abc import Mapping
from typing import Any

import optuna

from flint.strategy.base import check_parameters

Schema = dict[str, dict[str, Any]]

#: The field of an entry naming the parameter its values must be above.
ABOVE = "greater_than"


def _numeric(spec: Mapping[str, Any]) -> bool:
    if spec.get("type") == "categorical":
        return all(isinstance(c, (int, float)) and not isinstance(c, bool)
                   for c in spec.get("choices") or ())
    return spec.get("type") in ("int", "float")


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
        other = spec.get(ABOVE)
        if other is None:
            continue
        if spec.get("type") not in ("int", "float"):
            problems.append(f"{name}: '{ABOVE}' needs an int or float parameter")
        elif other == name or other not in schema:
            problems.append(f"{name}: '{ABOVE}' must name another parameter, got {other!r}")
        elif not _numeric(schema[other]):
            problems.append(f"{name}: '{ABOVE}' names {other!r}, which is not numeric")
    if problems:
        raise ValueError("invalid search space: " + "; ".join(problems))
    _check_reachable(schema)


def order(schema: Schema) -> list[str]:
    """The parameters in drawing order: each after the one it must be above."""
    done: list[str] = []
    pending = list(schema)
    while pending:
        ready = [n for n in pending if schema[n].get(ABOVE) in (None, *done)]
        if not ready:
            raise ValueError(
                f"invalid search space: '{ABOVE}' constraints form a cycle among "
                f"{', '.join(pending)}"
            )
        done += ready
        pending = [n for n in pending if n not in ready]
    return done


def _check_reachable(schema: Schema) -> None:
    """``ValueError`` if some value of a parameter leaves the one above it no value."""
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    for name in order(schema):
        spec = schema[name]
        if spec["type"] == "categorical":
            lows[name], highs[name] = min(spec["choices"]), max(spec["choices"])
            continue
        other = spec.get(ABOVE)
        lows[name] = spec["low"] if other is None else above(spec, lows[other])
        highs[name] = _high(spec)
        if other is not None and above(spec, highs[other]) > highs[name]:
            raise ValueError(
                f"invalid search space: {name} must be above {other}, but {other} can reach "
                f"{highs[other]} and {name} stops at {highs[name]}: lower {other}'s high or "
                f"raise {name}'s"
            )


def above(spec: Mapping[str, Any], value: float) -> Any:
    """The first value of the int/float entry ``spec`` (on its step) above ``value``;
    it may lie beyond ``high``."""
    low = spec["low"]
    if value < low:
        return low
    step = spec.get("step") or (1 if spec["type"] == "int" else None)
    if step is None:
        return math.nextafter(float(value), math.inf)
    k = math.floor((value - low) / step + 1e-9) + 1
    return int(low + k * step) if spec["type"] == "int" else round(low + k * step, 12)


def allows(schema: Schema, params: Mapping[str, Any]) -> bool:
    """Whether ``params`` keep every constraint of ``schema``."""
    return all(params[name] > params[spec[ABOVE]]
               for name, spec in schema.items() if spec.get(ABOVE) is not None)


def merge(schema: Schema, overrides: Mapping[str, Any]) -> Schema:
    """``schema`` with ``overrides`` applied and checked.

    An override is a dict of fields (``{"low": 5, "step": 5}`` narrows the entry and
    drops its ``default``, which the search does not use; one with ``type`` replaces
    it) or a plain value, which fixes the parameter.
    """
    out = {name: dict(spec) for name, spec in schema.items()}
    for name, value in overrides.items():
        if name not in out:
            known = ", ".join(out) or "none"
            raise ValueError(f"unknown parameter '{name}' in the search space (known: {known})")
        if isinstance(value, Mapping):
            out[name].pop("default", None)
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
    high = spec["low"] + _steps(spec) * spec["step"]
    return high if spec["type"] == "int" else round(high, 12)


def suggest(trial: optuna.Trial, schema: Schema) -> dict[str, Any]:
    """Draw one value per parameter of ``schema`` from ``trial`` (in :func:`order`)."""
    params: dict[str, Any] = {}
    for name in order(schema):
        spec = schema[name]
        kind = spec["type"]
        if kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
            continue
        other = spec.get(ABOVE)
        low = spec["low"] if other is None else above(spec, params[other])
        if kind == "int":
            step = int(spec.get("step") or 1)
            params[name] = trial.suggest_int(
                name, int(low), int(_high({**spec, "step": step})), step=step,
                log=bool(spec.get("log")),
            )
        else:
            step = spec.get("step")
            params[name] = trial.suggest_float(
                name, float(low), float(_high(spec)),
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
    """Number of points in the grid of ``schema`` that keep its constraints."""
    values = grid(schema)
    return sum(1 for combo in itertools.product(*values.values())
               if allows(schema, dict(zip(values, combo, strict=True))))
