"""docs/writing-plugins.md works verbatim for a third party, in a fresh virtualenv.

The test copies the checkout to a temporary folder (as the ``flint/`` the document
expects), runs every ``bash`` block of the document in order in one shell (a block
after ``<!-- snippet-skip: reason -->`` is left out), then checks, with the new
virtualenv's Python, what the document promises: the plugin made from the template
registers a venue, a fill model, an indicator and a strategy; the fill model is its
venue's default; the indicator works from a sandboxed strategy file through the cached
path. pip's cache is reused and flint-sdk is built pure (no mypyc). It takes minutes, so
nox runs it in a session of its own (``nox -s plugin_guide``).
"""

import re
import subprocess
import textwrap

import pytest

pytestmark = pytest.mark.fresh_venv

BLOCK = re.compile(r"(?:<!-- snippet-skip: [^>]*? -->\n)?```bash\n(.*?)```", re.S)

#: A strategy file using the plugin's indicator (as a user writes one).
STRATEGY_FILE = '''
from flint import indicators
from flint.models import Signal
from flint.strategy.base import Strategy

class Follow(Strategy):
    def __init__(self, period=14):
        self.period = period
        self.typical = indicators.get("typical_price")

    @property
    def name(self):
        return "follow"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < self.period:
            return Signal.HOLD
        return Signal.BUY if candle.close > self.typical(history, self.period) else Signal.SELL

    def reset(self):
        pass
'''

CHECKS = '''
import sys
from pathlib import Path

import numpy as np

import flint

from flint.backtest.engine import BacktestEngine
from flint.models import CandleSeries
from flint.plugins import get_fill_model, get_host, get_indicator
from flint.strategy.loader import load_user_strategy, validate_strategy_code
from flint.strategy.sandbox import run_in_sandbox

assert flint.__file__.startswith(sys.prefix), flint.__file__  # installed, not the checkout
info = get_host().plugins["myvenue"]
assert info.status == "loaded" and info.dist == "flint-myvenue", info
assert info.registered == {
    "venue_configs": ["example"], "fill_models": ["example_spread"],
    "indicators": ["typical_price"], "strategies": ["typical_price_reversion"],
}, info.registered

n = 400
close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, n)))
bars = CandleSeries(np.arange(n) * 3600, close, close * 1.01, close * 0.99, close,
                    np.full(n, 50.0), "EX-PERP", 3600, "example")

# the fill model is the example venue's default
assert type(get_fill_model(venue="example")).__name__ == "SpreadFill"
STRATEGY = Path(sys.argv[1]).read_text()  # a strategy file, loaded by the sandbox
assert validate_strategy_code(STRATEGY) == (True, None)
result = BacktestEngine(load_user_strategy(STRATEGY)).run(bars)
assert result.fills and {f.impact_bps for f in result.fills} == {2.0}, result.fills[:3]

# the sandboxed file's indicator read the series cached on the run's bars
series = get_indicator("typical_price").series
assert [key for key in bars.cache if key[0] is series] == [(series, 14)], list(bars.cache)

# and the same file runs in the sandbox's child process
counts = run_in_sandbox(STRATEGY, bars)
assert counts["buy"] > 0 and counts["sell"] > 0, counts
print("checked")
'''


def test_the_guide_builds_a_working_plugin_in_a_fresh_venv(repo_root, tmp_path, checkout_copy,
                                                          clean_env):
    guide = (repo_root / "docs" / "writing-plugins.md").read_text()
    blocks = [m.group(1) for m in BLOCK.finditer(guide) if not m.group(0).startswith("<!--")]
    assert len(blocks) >= 4, "the guide lost its commands"
    work = checkout_copy.parent
    env = clean_env
    script = "set -euo pipefail\n" + "\n".join(blocks)
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert "myvenue" in done.stdout, done.stdout[-2000:]
    checks = tmp_path / "checks.py"  # the sandbox spawns a child: guard the main module
    checks.write_text("def main():\n" + textwrap.indent(CHECKS, "    ") + "\n\n"
                      "if __name__ == '__main__':\n    main()\n")
    strategy = tmp_path / "follow.py"
    strategy.write_text(STRATEGY_FILE)
    python = work / ".venv" / "bin" / "python"
    done = subprocess.run([str(python), "-I", str(checks), str(strategy)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and "checked" in done.stdout, done.stdout + done.stderr
