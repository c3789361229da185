"""Whether this installation of the kernel runs mypyc-compiled code."""

import importlib
from importlib.machinery import EXTENSION_SUFFIXES

from flint_core._hot import HOT_MODULES


def compiled_modules() -> dict[str, bool]:
    """Map each hot kernel module to whether it was loaded from an extension module."""
    result: dict[str, bool] = {}
    for name in HOT_MODULES:
        path = getattr(importlib.import_module(name), "__file__", None) or ""
        result[name] = any(path.endswith(suffix) for suffix in EXTENSION_SUFFIXES)
    return result


def is_compiled() -> bool:
    """True when every hot module is compiled (a partial build counts as not compiled)."""
    return all(compiled_modules().values())
