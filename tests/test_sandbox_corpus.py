"""Escape techniques against the strategy sandbox: every one must be refused, saying where.

Each case is a snippet placed between the usual imports and a valid strategy
class. ``stage="validate"`` cases must be refused by the static check (nothing
runs); ``stage="load"`` cases pass it by design (aliasing, indirection) and must
be refused when the code runs, with the line in the message.
"""

from dataclasses import dataclass

import pytest

from flint.strategy.loader import StrategyLoadError, load_user_strategy, validate_strategy_code

HEADER = """\
import abc, collections, dataclasses, enum, functools, itertools, math, operator
import statistics, typing
import numpy as np
from flint.models import CandleSeries, Signal
from flint.strategy import Strategy
"""

TRAILER = """

class Probe(Strategy):
    name = "probe"

    def on_candle(self, candle, history, ctx=None):
        return Signal.HOLD

    def reset(self):
        pass
"""


@dataclass(frozen=True)
class Escape:
    id: str
    code: str
    refusal: str  # a fragment of the expected message
    line: int = 1  # line of the offence inside ``code``
    stage: str = "validate"


CORPUS = [
    # attribute chains to __subclasses__ and friends
    Escape("subclasses-via-class-bases", "x = ().__class__.__bases__[0].__subclasses__()",
           "dunder attribute '.__class__'"),
    Escape("subclasses-via-mro-tuple", "x = [].__class__.__mro__[-1].__subclasses__()",
           "dunder attribute '.__mro__'"),
    Escape("mro-method", "x = int.mro()[-1]", "attribute '.mro' is not allowed"),
    Escape("object-reduce", "x = (1).__reduce_ex__(2)", "dunder attribute '.__reduce_ex__'"),
    Escape("function-globals", "def f():\n    pass\ng = f.__globals__", "'.__globals__'", 3),
    Escape("py2-func-globals", "def f():\n    pass\ng = f.func_globals", "'.func_globals'", 3),
    Escape("builtins-name", "b = __builtins__", "dunder name '__builtins__'"),
    Escape("class-body-dunder", "class A:\n    q = __qualname__", "dunder name '__qualname__'", 2),
    Escape("lambda-default", "f = lambda x=().__class__: x", "dunder attribute '.__class__'"),
    Escape("exception-traceback",
           "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__",
           "dunder attribute '.__traceback__'", 4),
    Escape("dunder-keyword", "d = dict(__class__=1)", "dunder keyword argument"),
    Escape("global-builtins", "def f():\n    global __builtins__", "dunder name '__builtins__'", 2),
    Escape("name-mangling", "class A:\n    def f(self):\n        return self.__secret",
           "name-mangled attribute", 3),
    Escape("match-class-attribute", "match 1:\n    case int(__class__=c):\n        pass",
           "class pattern attribute '__class__'", 2),
    Escape("match-args-reads-dunders",
           "class E(Exception):\n    __match_args__ = ('__traceback__',)",
           "dunder name '__match_args__'", 2),
    Escape("match-class-root", "match 1:\n    case CandleSeries(root=r):\n        pass",
           "class pattern attribute 'root'", 2),
    # format strings
    Escape("format-attribute", "s = '{0.__class__}'.format(1)", "str.format is only allowed"),
    Escape("format-index", "s = '{0[__builtins__]}'.format({})", "str.format is only allowed"),
    Escape("format-nested-spec", "s = '{0:{1.__class__}}'.format(1, 2)",
           "str.format is only allowed"),
    Escape("format-unbound", "s = str.format('{0.__class__}', 1)", "str.format is only allowed"),
    Escape("format-built-string", "fmt = '{0.' + '__class__}'\ns = fmt.format(1)",
           "str.format is only allowed", 2),
    Escape("format-map", "s = '{x.real}'.format_map({'x': 1})", "attribute '.format_map'"),
    Escape("fstring-attribute", "s = f'{(1).__class__}'", "dunder attribute '.__class__'"),
    Escape("fstring-nested-spec", "s = f'{1:{(1).__class__}}'", "dunder attribute '.__class__'"),
    # frames, generators, coroutines, tracebacks
    Escape("generator-frame", "def g():\n    yield 1\nx = g().gi_frame.f_back.f_globals",
           "attribute '.gi_frame'", 3),
    Escape("coroutine", "async def c():\n    pass", "async code is not supported"),
    Escape("traceback-frame", "def f(tb):\n    return tb.tb_frame.f_globals",
           "attribute '.tb_frame'", 2),
    Escape("code-object", "def f(fn):\n    return fn.co_consts", "attribute '.co_consts'", 2),
    # numpy file, memory-map, ctypes, internals
    Escape("numpy-load-pickle", "a = np.load('x.npy', allow_pickle=True)", "numpy.load"),
    Escape("numpy-save", "np.save('escape.bin', np.zeros(1))", "numpy.save"),
    Escape("numpy-savez", "np.savez('escape.bin', a=np.zeros(1))", "numpy.savez"),
    Escape("numpy-fromfile", "a = np.fromfile('/etc/passwd')", "numpy.fromfile"),
    Escape("numpy-genfromtxt", "a = np.genfromtxt('/etc/passwd')", "numpy.genfromtxt"),
    Escape("numpy-loadtxt-from-import", "from numpy import loadtxt", "numpy.loadtxt"),
    Escape("numpy-memmap", "a = np.memmap('escape.bin', mode='w+', shape=(4,))", "numpy.memmap"),
    Escape("numpy-datasource", "d = np.DataSource()", "numpy.DataSource"),
    Escape("numpy-ctypeslib", "p = np.ctypeslib.as_array", "numpy.ctypeslib"),
    Escape("numpy-ctypes-pointer", "p = np.zeros(3).ctypes.data", "attribute '.ctypes'"),
    Escape("bit-generator-cffi", "f = np.random.PCG64().cffi", "attribute '.cffi'"),
    Escape("numpy-tofile", "np.zeros(3).tofile('escape.bin')", "attribute '.tofile'"),
    Escape("numpy-dumps-pickle", "b = np.zeros(2).dumps()", "attribute '.dumps'"),
    Escape("numpy-lib-format", "m = np.lib.format.open_memmap('x')", "numpy.lib"),
    Escape("numpy-stride-tricks", "from numpy.lib.stride_tricks import as_strided",
           "import from 'numpy.lib.stride_tricks' is not allowed"),
    Escape("numpy-f2py", "np.f2py.compile('x', 'y')", "numpy.f2py"),
    Escape("numpy-rec-fromfile", "r = np.rec.fromfile('/etc/passwd')", "numpy.rec"),
    Escape("numpy-resize-dangling", "a = np.zeros(2)\na.resize(10 ** 6, refcheck=False)",
           "attribute '.resize'", 2),
    Escape("numpy-ma-dump", "np.ma.dump(np.ma.zeros(2), 'escape.bin')", "numpy.ma.dump"),
    # pickling and other modules
    Escape("pickle", "import pickle", "import of 'pickle' is not allowed"),
    Escape("marshal", "import marshal", "import of 'marshal' is not allowed"),
    Escape("copyreg", "from copyreg import _reconstructor", "import from 'copyreg'"),
    Escape("os", "import os", "import of 'os' is not allowed"),
    Escape("ctypes", "import ctypes", "import of 'ctypes' is not allowed"),
    # import tricks
    Escape("import-side-effects-at-validation", "import antigravity\nantigravity.geohash",
           "import of 'antigravity' is not allowed"),
    Escape("importlib", "import importlib", "import of 'importlib' is not allowed"),
    Escape("dunder-import", "os = __import__('os')", "dunder name '__import__'"),
    Escape("builtins-module", "import builtins", "import of 'builtins' is not allowed"),
    Escape("from-flint-plugins", "from flint import plugins", "flint.plugins is not available"),
    Escape("from-flint-strategy-loader", "from flint.strategy import loader",
           "flint.strategy.loader is not available"),
    Escape("flint-cli-module", "import flint.cli.main", "import of 'flint.cli.main'"),
    Escape("flint-attribute-chain", "import flint\nh = flint.plugins.get_host()",
           "flint.plugins is not available", 2),
    Escape("relative-import", "from . import secrets", "relative imports are not allowed"),
    Escape("import-in-function", "def f():\n    import subprocess",
           "import of 'subprocess' is not allowed", 2),
    Escape("star-import", "from numpy import *", "'from numpy import *' is not allowed"),
    Escape("private-name-import", "from collections import _sys", "private name '_sys'"),
    Escape("module-private-attribute", "m = collections._sys", "collections._sys"),
    Escape("statistics-sys", "s = statistics.sys.modules", "statistics.sys is not available"),
    Escape("dataclasses-inspect", "i = dataclasses.inspect", "dataclasses.inspect"),
    # builtins that run code, reach namespaces or read attributes by name
    Escape("eval", "eval('1 + 1')", "'eval' is not available"),
    Escape("exec-compile", "exec(compile('x = 1', 's', 'exec'))", "'exec' is not available"),
    Escape("open", "open('/etc/passwd').read()", "'open' is not available"),
    Escape("globals", "g = globals()", "'globals' is not available"),
    Escape("vars", "v = vars(np)", "'vars' is not available"),
    Escape("breakpoint", "breakpoint()", "'breakpoint' is not available"),
    Escape("getattr-string-building", "c = getattr(1, '__cl' + 'ass__')",
           "'getattr' is not available"),
    Escape("setattr", "setattr(np, 'mean', max)", "'setattr' is not available"),
    Escape("memoryview", "m = memoryview(b'abc')", "'memoryview' is not available"),
    Escape("type-three-args", "X = type('X', (), {'__array_interface__': {}})",
           "'type' is not available"),
    Escape("operator-attrgetter", "f = operator.attrgetter('__class__')",
           "operator.attrgetter is not available"),
    Escape("operator-methodcaller-import", "from operator import methodcaller",
           "operator.methodcaller"),
    Escape("functools-partial-getattr", "f = functools.partial(getattr, 1)",
           "'getattr' is not available"),
    Escape("functools-reduce-getattr", "x = functools.reduce(getattr, ['real'], 1)",
           "'getattr' is not available"),
    Escape("functools-update-wrapper", "functools.update_wrapper", "functools.update_wrapper"),
    Escape("singledispatch-evaluates-annotations", "@functools.singledispatch\ndef f(x):\n    pass",
           "functools.singledispatch"),
    Escape("typing-get-type-hints", "h = typing.get_type_hints", "typing.get_type_hints"),
    Escape("typing-forwardref", "from typing import ForwardRef", "typing.ForwardRef"),
    Escape("make-dataclass", "X = dataclasses.make_dataclass('X', [('a', int)])",
           "dataclasses.make_dataclass"),
    Escape("abcmeta", "X = abc.ABCMeta('X', (), {})", "abc.ABCMeta"),
    # decorators, metaclasses, class bodies
    Escape("decorator-eval", "@eval\ndef f():\n    pass", "'eval' is not available"),
    Escape("metaclass", "class M(Strategy, metaclass=abc.ABCMeta):\n    pass",
           "class keywords (metaclass=...)"),
    Escape("dangerous-dunder-method", "class A:\n    def __getattr__(self, name):\n        pass",
           "defining '__getattr__' is not allowed", 2),
    Escape("array-interface-in-class-body", "class A:\n    __array_interface__ = {}",
           "dunder name '__array_interface__'", 2),
    # unicode identifiers (NFKC turns them into the names above)
    Escape("fullwidth-eval", "\uff45\uff56\uff41\uff4c('1')", "non-ASCII identifier"),
    Escape("fullwidth-dunder-attribute", "x = ().__\uff43\uff4c\uff41\uff53\uff53__",
           "dunder attribute '.__class__'"),
    Escape("fullwidth-builtins", "b = __\uff42\uff55\uff49\uff4c\uff54\uff49\uff4e\uff53__",
           "dunder name '__builtins__'"),
    Escape("mathematical-italic-open", "\U0001d45c\U0001d45d\U0001d452\U0001d45b('/etc/passwd')",
           "'open' is not available"),
    # refused at run time: indirection the static check cannot follow
    Escape("aliased-numpy-load", "m = np\nm.load('x.npy')", "numpy.load is not available", 2,
           "load"),
    Escape("aliased-statistics-sys", "s = statistics\nx = s.sys", "statistics.sys is not available",
           2, "load"),
    Escape("private-through-self-parameter", "def peek(self):\n    return self._core\npeek(np)",
           "private attribute '_core' of module numpy", 2, "load"),
    Escape("private-through-unbound-method",
           "class A:\n    def peek(self):\n        return self._abc_impl\nA.peek(Strategy)",
           "private attribute '_abc_impl' of class Strategy", 3, "load"),
    Escape("monkeypatch-flint-class", "Strategy.reset = None",
           "only set or delete attributes of their own objects", 1, "load"),
    Escape("monkeypatch-numpy-alias", "m = np\nm.mean = max",
           "only set or delete attributes of their own objects, not of module numpy", 2, "load"),
    Escape("ndarray-strides", "a = np.zeros(2)\na.strides = (10 ** 9,)",
           "not of a ndarray", 2, "load"),
    Escape("enum-functional-dunder",
           "E = enum.Enum('E', [('__array_interface__', {'data': (0, False)}), ('A', 1)])",
           "functional Enum API", 1, "load"),
    # look-ahead: bars after the current one stay out of reach
    Escape("history-root", "s = CandleSeries.from_candles([])\nfuture = s.root",
           "'.root' of a CandleSeries is not accessible", 2, "load"),
    Escape("history-window-beyond-stop", "s = CandleSeries.from_candles([])\nw = s.window(0, 0)",
           "'.window' of a CandleSeries", 2, "load"),
    Escape("view-base-array", "a = np.zeros(4)[:2]\nwhole = a.base",
           "'.base' of a ndarray", 2, "load"),
    Escape("indicator-cache-poisoning", "s = CandleSeries.from_candles([])\ns.cache.clear()",
           "'.cache' of a CandleSeries", 2, "load"),
    Escape("int-enum-functional-alias", "make = enum.IntEnum\nE = make('E', 'A B')",
           "functional Enum API", 2, "load"),
]


def test_the_corpus_is_large_and_unique():
    assert len(CORPUS) >= 40
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_every_escape_is_refused_saying_what_and_where(case):
    source = HEADER + case.code + TRAILER
    line = HEADER.count("\n") + case.line
    ok, error = validate_strategy_code(source)
    if case.stage == "validate":
        assert not ok
        assert case.refusal in error, error
        assert f"line {line}: " in error, error
        with pytest.raises(StrategyLoadError, match="is not an acceptable strategy"):
            load_user_strategy(source)
    else:
        assert ok, f"expected the static check to pass; the run-time guard is under test: {error}"
        with pytest.raises(StrategyLoadError) as info:
            load_user_strategy(source)
        message = str(info.value)
        assert case.refusal in message, message
        assert f"line {line}: " in message, message


def test_validation_imports_nothing_the_code_names():
    import sys

    code = HEADER + "import this\nimport antigravity\nx = this.s" + TRAILER
    before = set(sys.modules)
    assert not validate_strategy_code(code)[0]
    assert {"this", "antigravity"}.isdisjoint(set(sys.modules) - before)


def test_the_probe_itself_is_a_legitimate_strategy():
    assert validate_strategy_code(HEADER + TRAILER) == (True, None)
    assert load_user_strategy(HEADER + TRAILER).name == "probe"
