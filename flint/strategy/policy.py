"""What user strategy code may use: modules, names, builtins and attributes.

This is the policy half of the strategy sandbox; :mod:`flint.strategy.loader`
enforces it (statically on the source, and at run time).

* Imports: only :data:`ALLOWED_ROOTS`, and within them only the modules of
  :func:`is_allowed_module`. An import never yields the real module: it yields a
  curated stand-in (:func:`module_proxy`) holding just the names
  :func:`exposed_names` lists, so ``statistics.sys``, ``numpy.load`` or
  ``dataclasses.make_dataclass`` do not exist for a strategy.
* Builtins: the curated :func:`safe_builtins`; :data:`FORBIDDEN_NAMES` say why
  the others are missing.
* Attributes: dunders are never accessible; :data:`DENIED_ATTRIBUTES` are
  refused on any object (frames, code, raw memory, file output);
  :data:`GUARDED_ATTRIBUTES` (the ways to bars after the current one) only work on
  the strategy's own objects.
"""

import __future__

import enum
import functools
import importlib
import types
from collections.abc import Callable
from typing import Any

import numpy as np

#: Top-level modules a strategy may import.
ALLOWED_ROOTS = (
    "flint", "numpy", "math", "statistics", "collections", "dataclasses", "typing", "enum",
    "abc", "functools", "itertools", "operator", "__future__",
)

#: Allowed modules below the roots (a root allows itself only).
ALLOWED_SUBMODULES = frozenset({
    "flint.models", "flint.indicators", "flint.strategy", "flint.strategy.base",
    "collections.abc",
    "numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial", "numpy.ma", "numpy.emath",
    "numpy.exceptions", "numpy.dtypes", "numpy.char", "numpy.strings", "numpy.typing",
})

_FILE = "reads or writes files"
_MEMORY = "gives raw memory access"
_REFLECT = "evaluates strings as code or reaches interpreter internals"
_CLASSES = "builds classes from name -> value mappings (use a class statement)"

#: Names removed from allowed modules, with the reason a strategy gets.
_REMOVED: dict[str, dict[str, str]] = {
    "numpy": {
        **dict.fromkeys(
            ("load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt",
             "genfromtxt", "fromfile", "fromregex", "DataSource", "dump", "dumps"), _FILE),
        "memmap": "maps files into memory",
        **dict.fromkeys(("frombuffer", "recarray"), "builds arrays over raw memory"),
        "ctypeslib": _MEMORY,
        "lib": "exposes numpy internals (file formats, stride tricks)",
        "core": "exposes numpy internals",
        "rec": "includes file readers (rec.fromfile)",
        "f2py": "compiles and runs code",
        "testing": "runs subprocesses and builds extensions",
        **dict.fromkeys(("show_config", "show_runtime", "info", "get_include"), "is not needed"),
    },
    "typing": dict.fromkeys(("ForwardRef", "get_type_hints", "get_args", "get_overloads"),
                            _REFLECT),
    "operator": dict.fromkeys(("attrgetter", "methodcaller"), "reads attributes by name"),
}

#: Modules exposing only an explicit list of names.
_ONLY: dict[str, tuple[str, ...]] = {
    "flint": ("models", "indicators", "strategy"),
    "flint.strategy": ("Strategy", "base"),
    "flint.strategy.base": ("Strategy",),
    "abc": ("ABC", "abstractmethod"),
    "functools": ("cache", "cached_property", "cmp_to_key", "lru_cache", "partial",
                  "partialmethod", "reduce", "total_ordering"),
    "dataclasses": ("Field", "FrozenInstanceError", "InitVar", "KW_ONLY", "MISSING", "asdict",
                    "astuple", "dataclass", "field", "fields", "is_dataclass", "replace"),
    "enum": ("Enum", "Flag", "IntEnum", "IntFlag", "StrEnum", "auto", "unique"),
    "__future__": tuple(__future__.all_feature_names),
}

#: Why a name is not in an ``_ONLY`` module, when someone asks for it.
_ONLY_REASONS = {
    "dataclasses": {"make_dataclass": _CLASSES},
    "enum": dict.fromkeys(("EnumType", "EnumMeta"), "is a metaclass"),
    "abc": {"ABCMeta": "is a metaclass"},
    "functools": dict.fromkeys(("update_wrapper", "wraps"), "copies attributes by name")
    | dict.fromkeys(("singledispatch", "singledispatchmethod"), _REFLECT),
}

#: Attribute names refused on every object, with the reason.
DENIED_ATTRIBUTES: dict[str, str] = {
    **dict.fromkeys(
        ("gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "cr_origin",
         "ag_frame", "ag_code", "ag_await", "f_back", "f_globals", "f_locals", "f_builtins",
         "f_code", "f_trace", "tb_frame", "tb_next", "co_code", "co_consts", "co_names",
         "func_globals", "func_code", "func_closure", "im_func", "im_self", "mro"),
        "reaches interpreter frames, code or class internals",
    ),
    **dict.fromkeys(("tofile", "dump", "dumps"), _FILE),
    **dict.fromkeys(("ctypes", "cffi", "as_strided"), _MEMORY),
    "resize": "can free memory still in use (use np.resize(a, shape))",
    "byteswap": "rewrites the raw bytes of an array in place (object arrays hold addresses)",
    "setflags": "would make read-only market data writable",
    "format_map": "reads attributes named in the format string",
}

#: Public attribute names checked at run time: readable on the strategy's own
#: objects and on modules, refused elsewhere (they reach bars outside ``history``).
GUARDED_ATTRIBUTES: dict[str, str] = {
    "root": "reaches every bar of the series, later ones included",
    "window": "opens windows onto bars outside history",
    "move_to": "moves the engine's history window",
    "cache": "is the engine's indicator cache",
    "base": "reaches the whole array a view was taken from",
    "data": "is the raw memory of an array (object arrays hold addresses)",
}

#: Builtins a strategy cannot use, with the reason.
FORBIDDEN_NAMES: dict[str, str] = {
    **dict.fromkeys(("eval", "exec", "compile"), "runs code from strings"),
    **dict.fromkeys(("getattr", "setattr", "delattr", "hasattr"),
                    "accesses attributes by name (write obj.attr)"),
    **dict.fromkeys(("globals", "locals", "vars", "dir"), "exposes namespaces"),
    **dict.fromkeys(("open", "input", "breakpoint", "help", "exit", "quit", "copyright",
                     "credits", "license"), "does I/O or stops the process"),
    "memoryview": _MEMORY,
    "id": "exposes memory addresses",
    "type": "builds classes from strings with three arguments (use isinstance)",
    **dict.fromkeys(("aiter", "anext"), "async code is not supported"),
}

#: Builtins a strategy gets.
SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "classmethod", "complex", "dict", "divmod", "enumerate", "filter", "float", "format",
    "frozenset", "hash", "hex", "int", "isinstance", "issubclass", "iter", "len", "list",
    "map", "max", "min", "next", "object", "oct", "ord", "pow", "print", "property", "range",
    "repr", "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum", "super",
    "tuple", "zip", "NotImplemented", "Ellipsis",
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "Exception",
    "FloatingPointError", "IndexError", "KeyError", "LookupError", "NotImplementedError",
    "OverflowError", "RuntimeError", "StopIteration", "TypeError", "ValueError", "Warning",
    "ZeroDivisionError",
)

#: Dunder methods a strategy may define (and call through ``super()``).
DEFINABLE_DUNDERS = frozenset({
    "__init__", "__post_init__", "__repr__", "__str__", "__len__", "__iter__", "__next__",
    "__contains__", "__getitem__", "__setitem__", "__bool__", "__call__", "__enter__",
    "__exit__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
    "__add__", "__sub__", "__mul__", "__truediv__", "__neg__", "__abs__",
})

#: Dunder names a class body may assign.
ASSIGNABLE_DUNDERS = frozenset({"__slots__", "__hash__"})


def is_dunder(name: str) -> bool:
    """``__x__``-style name."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_allowed_module(name: str) -> bool:
    """Whether a strategy may import module ``name``."""
    return name in ALLOWED_ROOTS or name in ALLOWED_SUBMODULES


def is_dynamic_strategy_name(module: str, name: str) -> bool:
    """Built-in strategy classes ``flint.strategy`` resolves on demand (flint-strategies)."""
    return module == "flint.strategy" and name.endswith(("Strategy", "Monitor"))


def _real_module(module: str) -> types.ModuleType:
    parent, _, last = module.rpartition(".")
    if parent:  # some submodules are attributes only (numpy.emath)
        value = getattr(importlib.import_module(parent), last, None)
        if isinstance(value, types.ModuleType):
            return value
    return importlib.import_module(module)


@functools.cache
def exposed_names(module: str) -> frozenset[str]:
    """Every name a strategy can read on allowed module ``module`` (none on others)."""
    if not is_allowed_module(module):
        return frozenset()
    if module in _ONLY:
        return frozenset(_ONLY[module])
    real = _real_module(module)
    public = getattr(real, "__all__", None) or [n for n in vars(real) if not n.startswith("_")]
    removed = _REMOVED.get(module.partition(".")[0] if module.startswith("numpy") else module, {})
    names = {sub.rpartition(".")[2] for sub in ALLOWED_SUBMODULES
             if sub.rpartition(".")[0] == module}
    for name in public:
        if name in removed or name.startswith("_"):
            continue
        value = getattr(real, name, None)
        if isinstance(value, types.ModuleType) and not is_allowed_module(f"{module}.{name}"):
            continue
        names.add(name)
    return frozenset(names)


def why_missing(module: str, name: str) -> str:
    """Why ``module.name`` is not available to strategies."""
    root = module.partition(".")[0] if module.startswith("numpy") else module
    reason = _REMOVED.get(root, {}).get(name) or _ONLY_REASONS.get(module, {}).get(name)
    return f"{module}.{name} is not available to strategies" + (f": it {reason}" if reason else "")


class ModuleProxy(types.ModuleType):
    """The stand-in a strategy gets for an allowed module: curated names only."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(why_missing(self.__name__, name))


class _StrategyModuleProxy(ModuleProxy):
    """``flint.strategy`` for strategies: the base class plus the installed built-ins."""

    def __getattr__(self, name: str) -> Any:
        if is_dynamic_strategy_name("flint.strategy", name):
            real = importlib.import_module("flint.strategy")
            return getattr(real, name)
        return super().__getattr__(name)


class _GuardedEnumType(enum.EnumType):
    """Enum metaclass without the functional API (``Enum("Name", names)``)."""

    def __call__(cls, value: Any, names: Any = None, *args: Any, **kwargs: Any) -> Any:
        if names is not None or args or kwargs:
            raise PermissionError(
                "the functional Enum API (Enum('Name', names)) is not available to "
                "strategies: define the enum with a class statement"
            )
        return super().__call__(value)


class Enum(enum.Enum, metaclass=_GuardedEnumType):
    """``enum.Enum`` for strategies."""


class IntEnum(enum.IntEnum, metaclass=_GuardedEnumType):
    """``enum.IntEnum`` for strategies."""


class StrEnum(enum.StrEnum, metaclass=_GuardedEnumType):
    """``enum.StrEnum`` for strategies."""


class Flag(enum.Flag, metaclass=_GuardedEnumType):
    """``enum.Flag`` for strategies."""


class IntFlag(enum.IntFlag, metaclass=_GuardedEnumType):
    """``enum.IntFlag`` for strategies."""


class _ArrayType(type):
    """Metaclass of the strategies' ``numpy.ndarray``: every real array is an instance."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, np.ndarray) if cls is ndarray else super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, np.ndarray) if cls is ndarray else super().__subclasscheck__(sub)


class ndarray(np.ndarray, metaclass=_ArrayType):
    """``numpy.ndarray`` for strategies: no arrays over a raw ``buffer``."""

    def __new__(cls, shape: Any, dtype: Any = float, buffer: Any = None, offset: int = 0,
                strides: Any = None, order: Any = None) -> Any:
        if buffer is not None:
            raise PermissionError(
                "numpy.ndarray(..., buffer=...) is not available to strategies: it builds "
                "arrays over raw memory (use np.array, np.zeros or np.empty)"
            )
        base = np.ndarray if cls is ndarray else cls
        return np.ndarray.__new__(base, shape, dtype, None, offset, strides, order)


ndarray.__module__ = "numpy"

_REPLACED: dict[str, dict[str, object]] = {
    "enum": {"Enum": Enum, "IntEnum": IntEnum, "StrEnum": StrEnum, "Flag": Flag,
             "IntFlag": IntFlag},
    "numpy": {"ndarray": ndarray},
    "numpy.typing": {"NDArray": types.GenericAlias(ndarray, (Any, np.dtype[Any]))},
}


@functools.cache
def module_proxy(module: str) -> ModuleProxy:
    """The curated stand-in for allowed module ``module`` (one per process)."""
    proxy_class = _StrategyModuleProxy if module == "flint.strategy" else ModuleProxy
    proxy = proxy_class(module)
    real = _real_module(module)
    replaced = _REPLACED.get(module, {})
    for name in exposed_names(module):
        if is_allowed_module(f"{module}.{name}"):
            value: object = module_proxy(f"{module}.{name}")
        else:
            value = replaced.get(name, getattr(real, name))
        setattr(proxy, name, value)
    return proxy


def restricted_import(
    name: str,
    globals: object = None,
    locals: object = None,
    fromlist: object = (),
    level: int = 0,
) -> ModuleProxy | None:
    """The ``__import__`` of strategies: allowed modules only, as curated stand-ins.

    Extension modules import their own submodules through the current frame's
    ``__import__`` (CPython's ``PyImport_Import``, with ``fromlist=[]``, a list no
    import statement passes);
    such an import of a private submodule of an allowed package is carried out and
    answered with None: the caller reads ``sys.modules`` and the strategy gets nothing.
    """
    if level:
        raise ImportError("relative imports are not allowed in strategies")
    if not is_allowed_module(name) and fromlist == [] and _is_internal(name):
        # C code importing its own module while a strategy frame runs (numpy imports
        # numpy._core._methods on a first .mean()): it reads sys.modules, not our result
        importlib.import_module(name)
        return None
    if not is_allowed_module(name):
        raise ImportError(
            f"import of '{name}' is not allowed in strategies "
            f"(allowed: {', '.join(ALLOWED_ROOTS)})"
        )
    return module_proxy(name if fromlist else name.partition(".")[0])


def _is_internal(name: str) -> bool:
    """A private submodule (``numpy._core._methods``) of an allowed top-level package."""
    root, _, rest = name.partition(".")
    return root in ALLOWED_ROOTS and any(part.startswith("_") for part in rest.split("."))


def safe_builtins(**extra: Callable[..., Any]) -> dict[str, Any]:
    """A fresh builtins dict for one strategy module (``extra`` adds loader hooks)."""
    import builtins

    table: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
    table["__build_class__"] = builtins.__build_class__
    table["__import__"] = restricted_import
    table.update(extra)
    return table
