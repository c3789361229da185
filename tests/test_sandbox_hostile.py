"""Hostile strategy files against the whole sandbox (Python checks on): refused or contained.

Two families got past the Python-level checks before: pattern matching that reads
attributes by name (``__match_args__``, keyword patterns, a ``str.format`` bound
method fetched by a pattern) and numpy arrays over raw memory that forge object
references. Each case below would do a harm if it got through (the harm is in the
code: fork, write or read a file, read the environment, open a socket, raise a
limit); each must be refused with its line, and nothing may happen. The harms that
need no escape (sleeping, spinning, printing) must be stopped by the limits. The
same harms with the checks off are in ``test_sandbox_isolation.py``.
"""

from dataclasses import dataclass

import pytest

from flint.models import Candle, CandleSeries
from flint.strategy.isolation import REQUIRED, host_support
from flint.strategy.loader import StrategyLoadError, validate_strategy_code
from flint.strategy.sandbox import (
    SandboxLimits,
    StrategyExecutionError,
    StrategyOutputError,
    StrategyTimeoutError,
    run_in_sandbox,
)

pytestmark = pytest.mark.skipif(
    not all(s.available for s in host_support() if s.name in REQUIRED),
    reason="this host lacks Landlock or seccomp: untrusted code is refused here",
)

HEADER = """\
import dataclasses, typing
import numpy as np
from flint.models import Signal
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

#: What an escape reaching the real builtins would do with them (MARKER: a path).
HARM = "b['open'](MARKER, 'w').write('escaped')"


@dataclass(frozen=True)
class Hostile:
    id: str
    code: str
    refusal: str
    line: int
    stage: str = "validate"  # or "load": the Python check refuses it while running


CORPUS = [
    # structural pattern matching reads attributes by name
    Hostile("dataclass-match-args-frame", """\
@typing.runtime_checkable
class Frame(typing.Protocol):
    gi_frame: typing.Any

@dataclasses.dataclass
class Walk(Frame):
    gi_frame: typing.Any

def g():
    yield 1

match g():
    case Walk(fr):
        b = fr.f_back.f_builtins
        """ + HARM, "positional class patterns are not allowed", 13),
    Hostile("namedtuple-match-args", """\
Point = typing.NamedTuple("Point", [("f_globals", dict)])
match Point({}):
    case Point(glob):
        b = glob
""", "positional class patterns are not allowed", 3),
    Hostile("keyword-pattern-frame", """\
def g():
    yield 1
match g():
    case object(gi_frame=object(f_back=object(f_builtins=b))):
        """ + HARM, "class pattern attribute 'gi_frame'", 4),
    Hostile("keyword-pattern-format", """\
match "{0.gi_frame.f_back.f_builtins}":
    case str(format=fmt):
        leak = fmt((lambda: (yield))())
""", "class pattern attribute 'format'", 2),
    Hostile("keyword-pattern-format-map", """\
match "{g.gi_frame}":
    case str(format_map=fm):
        leak = fm({"g": 1})
""", "class pattern attribute 'format_map'", 2),
    Hostile("keyword-pattern-private", """\
match np.mean:
    case object(_implementation=impl):
        pass
""", "class pattern attribute '_implementation'", 2),
    # format strings reaching attributes
    Hostile("format-through-alias", "fmt = '{0.gi_frame.f_back}'.format\nleak = fmt(1)",
            "str.format is only allowed", 1),
    Hostile("format-unbound-alias", "fmt = str.format\nleak = fmt('{0.gi_frame}', 1)",
            "str.format is only allowed", 1),
    Hostile("format-super", "class S(str):\n    def f(self):\n        return super().format(1)",
            "str.format is only allowed", 3),
    Hostile("format-map-alias", "fm = '{x.gi_frame}'.format_map", "attribute '.format_map'", 1),
    Hostile("format-nested-spec", "leak = '{0:{1.gi_frame}}'.format(1, 2)",
            "str.format is only allowed", 1),
    # numpy arrays over raw memory forge object references
    Hostile("ndarray-buffer-object", """\
addresses = np.array([0], dtype=np.int64)
forged = np.ndarray((1,), object, addresses)
""", "numpy.ndarray(..., buffer=...) is not available", 2, "load"),
    Hostile("ndarray-buffer-keyword", """\
forged = np.ndarray(shape=(1,), dtype=[("m", "O")], buffer=np.zeros(1))
""", "numpy.ndarray(..., buffer=...) is not available", 1, "load"),
    Hostile("ndarray-generic-alias", """\
forged = np.typing.NDArray((1,), object, np.zeros(1, dtype=np.int64))
""", "numpy.ndarray(..., buffer=...) is not available", 1, "load"),
    Hostile("ndarray-subclass-buffer", """\
class Mine(np.ndarray):
    pass
forged = Mine((1,), object, np.zeros(1, dtype=np.int64))
""", "numpy.ndarray(..., buffer=...) is not available", 3, "load"),
    Hostile("recarray-buf", "forged = np.recarray((1,), dtype=[('m', 'O')], buf=np.zeros(1))",
            "numpy.recarray is not available", 1),
    Hostile("frombuffer-over-object-array", """\
objects = np.array([None], dtype=object)
pointers = np.frombuffer(objects, dtype=np.int64)
""", "numpy.frombuffer is not available", 2),
    Hostile("object-array-data-memoryview", """\
objects = np.array([None], dtype=object)
raw = objects.data.cast("B").cast("Q")
""", "'.data' of a ndarray is not accessible", 2, "load"),
    Hostile("byteswap-pointers", "objects = np.array([None, 1], dtype=object)\n"
            "objects.byteswap(inplace=True)", "attribute '.byteswap' is not allowed", 2),
    Hostile("id-addresses", "where = id(np)", "'id' is not available", 1),
    Hostile("dtype-assignment", "a = np.zeros(1, dtype=np.int64)\na.dtype = object",
            "only set or delete attributes of their own objects", 2, "load"),
    # the harms themselves, asked for directly
    Hostile("harm-fork", "import os\nos.fork()", "import of 'os' is not allowed", 1),
    Hostile("harm-file-write", "open(MARKER, 'w').write('x')", "'open' is not available", 1),
    Hostile("harm-file-read", "np.loadtxt('/etc/passwd')", "numpy.loadtxt", 1),
    Hostile("harm-environment", "from flint import config", "flint.config is not available", 1),
    Hostile("harm-network", "import socket", "import of 'socket' is not allowed", 1),
    Hostile("harm-raise-limit", "import resource", "import of 'resource' is not allowed", 1),
    Hostile("harm-sleep", "import time\ntime.sleep(3600)", "import of 'time' is not allowed", 1),
]


@pytest.fixture(scope="module")
def bars():
    return CandleSeries.from_candles(
        Candle(3600 * i, 100.0, 101.0, 99.0, 100.0 + i % 7, 5.0, "SOL-PERP", 3600, "drift")
        for i in range(50)
    )


def test_the_corpus_covers_both_families_and_every_harm():
    ids = {case.id for case in CORPUS}
    assert len(ids) == len(CORPUS) >= 25
    for harm in ("fork", "file-write", "file-read", "environment", "network", "raise-limit",
                 "sleep"):
        assert f"harm-{harm}" in ids


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_hostile_code_is_refused_saying_where_and_does_nothing(case, bars, tmp_path):
    marker = tmp_path / "escaped.txt"
    source = HEADER + f"MARKER = {str(marker)!r}\n" + case.code + TRAILER
    line = HEADER.count("\n") + 1 + case.line
    ok, error = validate_strategy_code(source)
    if case.stage == "validate":
        assert not ok and case.refusal in error and f"line {line}: " in error, error
    else:
        assert ok, error
    with pytest.raises(StrategyLoadError) as info:
        run_in_sandbox(source, bars)
    assert case.refusal in str(info.value) and f"line {line}: " in str(info.value)
    assert not marker.exists()


SPIN = TRAILER.replace("        return Signal.HOLD", "        while True:\n            pass")
FLOOD = TRAILER.replace("        return Signal.HOLD",
                        "        while True:\n            print('x' * 4096)")
DEEP = TRAILER.replace("        return Signal.HOLD",
                       "        return eval_deep(2000)") + """
def eval_deep(n):
    return Signal.HOLD if n == 0 else eval_deep(n - 1)
"""


def test_spinning_past_the_cpu_limit_is_stopped(bars):
    with pytest.raises(StrategyTimeoutError, match="used up its 1 s of CPU time"):
        run_in_sandbox(HEADER + SPIN, bars, limits=SandboxLimits(cpu_seconds=1, wall_seconds=60))


def test_printing_past_the_output_limit_is_stopped(bars):
    printed = []
    with pytest.raises(StrategyOutputError, match="more than 16 KiB"):
        run_in_sandbox(HEADER + FLOOD, bars, limits=SandboxLimits(max_output_kb=16),
                       output=printed.append)
    assert 0 < sum(map(len, printed)) <= 16 * 1024


def test_deep_recursion_is_an_error_with_its_line_not_a_crash(bars):
    with pytest.raises(StrategyExecutionError, match="RecursionError"):
        run_in_sandbox(HEADER + DEEP, bars)


def test_untrusted_code_is_refused_when_a_required_layer_is_missing(bars, monkeypatch):
    from flint.strategy import isolation, sandbox

    monkeypatch.setattr(isolation, "REQUIRED", (*isolation.REQUIRED, "no-such-layer"))
    with pytest.raises(sandbox.SandboxUnavailableError, match=r"no-such-layer.*--trust"):
        run_in_sandbox(HEADER + TRAILER, bars)
    assert run_in_sandbox(HEADER + TRAILER, bars, trust=True)["hold"] == len(bars)
