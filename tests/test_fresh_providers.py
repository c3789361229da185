"""The seed's provider example works in a fresh virtualenv holding flint and the three venue
plugins, against the plugins' fake venues pointed at by the endpoint variables
(``FLINT_DRIFT_DATA_API_URL``, ``FLINT_BINANCE_API_URL``, ``FLINT_HYPERLIQUID_API_URL``),
and brings exactly the rows of the real data files the fakes serve.

One virtualenv (pip's cache reused, flint-sdk built pure); it takes minutes, so nox runs
it with the other ``fresh_venv`` tests (``nox -s plugin_guide``).
"""

import csv
import json
import subprocess

import pytest

pytestmark = pytest.mark.fresh_venv

JANUARY_2025 = (1735689600, 1738368000)

#: Run by the new virtualenv's Python: the three fakes, serving the real data, until stdin
#: closes; prints the endpoint variables pointing at them.
SERVE = '''
import contextlib, json, sys
from pathlib import Path
from flint_binance.testing import FakeBinance
from flint_drift.testing import FakeDrift
from flint_hyperliquid.testing import FakeHyperliquid

data = Path(sys.argv[1])
with contextlib.ExitStack() as stack:
    drift = stack.enter_context(FakeDrift.from_data(data, coins=("SOL",)))
    binance = stack.enter_context(FakeBinance.from_data(data, symbols=("SOLUSDT",)))
    hyperliquid = stack.enter_context(
        FakeHyperliquid.from_data(data, coins=("SOL",), candle_window=None))
    print(json.dumps({"FLINT_DRIFT_DATA_API_URL": drift.url, "FLINT_DRIFT_DLOB_URL": drift.url,
                      "FLINT_BINANCE_API_URL": binance.url,
                      "FLINT_HYPERLIQUID_API_URL": hyperliquid.url}), flush=True)
    sys.stdin.read()
'''

#: The seed's example (python-sdk.md, "Providers"), then the registry's view.
SEED = '''
import json, sys
from flint.providers.drift_candles import DriftCandleProvider
from flint.providers.funding_rates import BinanceFundingProvider
from flint.providers.registry import ProviderRegistry

start_ts, end_ts = int(sys.argv[1]), int(sys.argv[2])
p = DriftCandleProvider()
candles = p.fetch_candles("SOL-PERP", 3600, start_ts, end_ts)
p.close()
f = BinanceFundingProvider()
funding = f.fetch_funding("SOL-PERP", start_ts, end_ts)
f.close()
registry = ProviderRegistry()
hl = registry.create("hyperliquid", history_limit=None)
hl_candles = hl.fetch_candles("SOL-PERP", 3600, start_ts, end_ts)
hl.close()
print(json.dumps({
    "drift": [[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in candles],
    "binance_funding": [[r.ts, r.rate] for r in funding],
    "hyperliquid_closes": [c.close for c in hl_candles],
    "venues": registry.venues(),
}))
'''


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))[1:]


def test_the_seed_provider_example_runs_against_the_fakes(checkout_copy, make_venv, clean_env,
                                                          flint_test_data, tmp_path):
    if not (flint_test_data / "hyperliquid-SOL-3600.csv").is_file():
        pytest.skip(f"no Hyperliquid data in {flint_test_data}")
    python = make_venv(
        tmp_path / "venv", "./flint[testing]", "./flint/plugins/flint-drift",
        "./flint/plugins/flint-binance", "./flint/plugins/flint-hyperliquid",
        cwd=checkout_copy.parent,
    )
    server = subprocess.Popen([str(python), "-I", "-c", SERVE, str(flint_test_data)],
                              env=clean_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        endpoints = json.loads(server.stdout.readline() or "{}")
        assert endpoints, server.stderr.read() if server.poll() is not None else "no endpoints"
        done = subprocess.run(
            [str(python), "-I", "-c", SEED, *map(str, JANUARY_2025)], cwd=tmp_path,
            env={**clean_env, **endpoints}, capture_output=True, text=True, timeout=300,
            check=False)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    got = json.loads(done.stdout)
    start, end = JANUARY_2025
    hourly = [r for r in _rows(flint_test_data / "hyperliquid-SOL-3600.csv")
              if start <= int(r[0]) <= end]
    assert got["drift"] == [[int(r[0]), *map(float, r[1:6])] for r in hourly]
    assert got["hyperliquid_closes"] == [float(r[4]) for r in hourly]
    funding = [r for r in _rows(flint_test_data / "binance-SOLUSDT-funding.csv")
               if start <= int(r[0]) <= end]
    assert got["binance_funding"] == [[int(r[0]), float(r[1])] for r in funding]
    assert {"binance", "drift", "hyperliquid"} <= set(got["venues"])
