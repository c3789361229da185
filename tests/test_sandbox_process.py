"""Strategies submitted from outside run in a child process with CPU and memory limits."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flint.models import Candle, CandleSeries
from flint.strategy.loader import StrategyLoadError, load_user_strategy
from flint.strategy.sandbox import (
    SandboxLimits,
    StrategyExecutionError,
    StrategyMemoryError,
    StrategyTimeoutError,
    run_in_sandbox,
    signals,
)

CROSS = (Path(__file__).parent / "user_strategies" / "golden_cross.py").read_text()


@pytest.fixture(scope="module")
def bars():
    return CandleSeries.from_candles(
        Candle(3600 * i, 100.0, 101.0 + i % 13, 99.0 - i % 7, 100.0 + (i % 29) - (i % 17), 5.0,
               "SOL-PERP", 3600, "drift")
        for i in range(600)
    )


def test_a_legitimate_strategy_gives_the_same_result_as_in_process(bars):
    remote = run_in_sandbox(CROSS, bars, {"fast": 5, "slow": 20})
    local = signals(load_user_strategy(CROSS, {"fast": 5, "slow": 20}), bars)
    assert remote == local
    assert remote["buy"] > 0 and remote["sell"] > 0


def test_refused_code_is_reported_before_running(bars):
    with pytest.raises(StrategyLoadError, match="line 1: import of 'os' is not allowed"):
        run_in_sandbox("import os\n" + CROSS, bars)


def test_the_cpu_limit_stops_an_endless_loop(bars):
    spin = CROSS + "\nwhile True:\n    pass\n"
    with pytest.raises(StrategyTimeoutError, match="used up its 1 s of CPU time"):
        run_in_sandbox(spin, bars, limits=SandboxLimits(cpu_seconds=1, wall_seconds=30))


def test_the_memory_limit_stops_a_huge_allocation(bars):
    hog = CROSS + "\nhog = bytearray(8 * 1024 ** 3)\n"
    with pytest.raises(StrategyMemoryError, match="more than 512 MB"):
        run_in_sandbox(hog, bars, limits=SandboxLimits(memory_mb=512))


def test_errors_and_violations_while_trading_name_the_line(bars):
    failing = CROSS.replace("        fast, slow = sma(", "        1 / 0\n        fast, slow = sma(")
    with pytest.raises(StrategyExecutionError, match="line 23: ZeroDivisionError"):
        run_in_sandbox(failing, bars)
    prying = CROSS.replace("        fast, slow = sma(",
                           "        history._root\n        fast, slow = sma(")
    with pytest.raises(StrategyExecutionError,
                       match="line 23: private attribute '_root' of a CandleSeries"):
        run_in_sandbox(prying, bars)
    peeking = CROSS.replace("        fast, slow = sma(",
                            "        history.root.closes\n        fast, slow = sma(")
    with pytest.raises(StrategyExecutionError, match=r"line 23: '\.root' of a CandleSeries"):
        run_in_sandbox(peeking, bars)


def test_a_fork_server_started_early_is_the_one_every_sandbox_uses():
    """``prestart`` starts the process's only fork server; the first sandbox uses it."""
    script = (
        "import os\n"
        "from flint.strategy import forkserver, sandbox\n"
        "forkserver.prestart().join()\n"
        "early = forkserver.fork_server()\n"
        "forkserver.prestart().join()\n"
        "sandbox.Sandbox(None, trust=True).close()\n"
        "assert forkserver.fork_server() is early and early.alive()\n"
        "me = os.getpid()\n"
        "with open(f'/proc/{me}/task/{me}/children') as children:\n"
        "    print(children.read().split() == [str(early.process.pid)])\n"
    )
    if not Path(f"/proc/self/task/{os.getpid()}/children").exists():
        pytest.skip("this kernel does not list a process's children in /proc")
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
