"""Search spaces from a strategy's ``parameters()`` schema."""

from typing import Any

import numpy as np
import optuna


def suggest(trial: optuna.Trial, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Draw one value per parameter of ``schema`` from ``trial``."""
    params: dict[str, Any] = {}
    for name, spec in schema.items():
        kind = spec["type"]
        if kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
        elif kind == "int":
            step = int(spec.get("step") or 1)
            params[name] = trial.suggest_int(
                name, int(spec["low"]), int(spec["high"]), step=step,
                log=bool(spec.get("log")) and step == 1,
            )
        else:
            step = spec.get("step")
            log = bool(spec.get("log"))
            params[name] = trial.suggest_float(
                name, float(spec["low"]), float(spec["high"]),
                step=None if log else step, log=log,
            )
    return params


def grid(schema: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """Every grid point of ``schema``; floats need a ``step`` to be gridded."""
    out: dict[str, list[Any]] = {}
    for name, spec in schema.items():
        kind = spec["type"]
        if kind == "categorical":
            out[name] = list(spec["choices"])
        elif kind == "int":
            out[name] = list(range(int(spec["low"]), int(spec["high"]) + 1,
                                   int(spec.get("step") or 1)))
        else:
            step = spec.get("step")
            if not step:
                raise ValueError(
                    f"parameter '{name}' is a float without 'step': the grid sampler needs one"
                )
            count = round((spec["high"] - spec["low"]) / step) + 1
            out[name] = [float(v) for v in np.round(spec["low"] + step * np.arange(count), 12)]
    return out


def grid_size(schema: dict[str, dict[str, Any]]) -> int:
    """Number of points in the grid of ``schema``."""
    size = 1
    for values in grid(schema).values():
        size *= len(values)
    return size
