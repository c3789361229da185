"""Paper trading on the fake Hyperliquid serving real candles and funding: killed with
SIGKILL midway and resumed, the session ends like an uninterrupted one, and its replay
through the backtest is exact (seeded FillPipeline at Hyperliquid's own terms)."""

import json
import os
import signal
import subprocess
import sys
import time

from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid
from flint_hyperliquid.testing.fake import _read_rows

from flint.store import FlintStore

H = 3600
STRATEGY = '''
from flint.indicators import sma
from flint.models import Side, Signal
from flint.strategy.base import Strategy


class Probe(Strategy):
    name = "probe"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        if len(history) < 20:
            return Signal.HOLD
        fast, slow = sma(history, 5), sma(history, 20)
        held = ctx.position(candle.market)
        if held is None:
            ctx.cancel_all()
            if fast > slow:
                ctx.limit_order(candle.market, Side.LONG, 2.0, candle.close * 0.999)
        elif fast < slow:
            ctx.close_position(candle.market)
            ctx.cancel_all()
        elif not ctx.pending_orders:
            ctx.stop_order(candle.market, Side.SHORT, held.size, held.entry_price * 0.97)
        return Signal.HOLD
'''


def _flint(*args):
    return [sys.executable, "-m", "flint.cli.main", *args]


def test_paper_on_the_fake_feed_survives_kill_9(fake_data, tmp_path, bounded, monkeypatch):
    bounded(280)
    bars = [int(r[0]) for r in _read_rows(fake_data / "hyperliquid-SOL-3600.csv")]
    warm, start = bars[-600], bars[-400]
    end = bars[-400 + 199]  # 200 live bars
    strategy = tmp_path / "probe.py"
    strategy.write_text(STRATEGY)
    with FakeHyperliquid.from_data(fake_data, coins=("SOL",), candle_window=None) as fake:
        monkeypatch.setenv("FLINT_HYPERLIQUID_API_URL", fake.url)
        env = dict(os.environ)
        finals = {}
        for name in ("straight", "killed"):
            db = tmp_path / f"{name}.duckdb"
            with FlintStore(db) as store:  # warm-up: the stored history before the session
                store.upsert_candles(HyperliquidProvider(clock=lambda: start).fetch_candles(
                    "SOL-PERP", H, warm, start - H))
            run = _flint("paper", str(strategy), "--trust", "--venue", "hyperliquid",
                         "--market", "SOL-PERP", "--db", str(db), "--session", name,
                         "--fill-model", "pipeline", "--fill-option", "latency_seed=5",
                         "--warmup", "150", "--start", str(start), "--speed", str(H * 20),
                         "--end", str(end), "--poll", "0.02", "--no-view",
                         "--provider-option", "rate_limit=false")  # 20 bars a second
            if name == "killed":
                proc = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                status = db.with_name(db.name + ".paper") / f"{name}.status.json"
                while True:
                    assert proc.poll() is None, "the session ended before it was killed"
                    try:
                        if json.loads(status.read_text())["bars"] >= 90:
                            break
                    except (OSError, ValueError):
                        pass
                    time.sleep(0.01)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            done = subprocess.run(run, env=env, check=False, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            state = subprocess.run(_flint("paper", "status", name, "--db", str(db), "--json"),
                                   env=env, check=True, capture_output=True, text=True)
            finals[name] = json.loads(state.stdout)
            parity = subprocess.run(_flint("parity", name, "--db", str(db), "--trust"),
                                    env=env, check=False, capture_output=True, text=True)
            assert parity.returncode == 0 and "parity exact" in parity.stdout, (
                parity.stdout + parity.stderr)
    straight, killed = finals["straight"], finals["killed"]
    assert straight["bars"] == killed["bars"] == 200
    for key in ("status", "cash", "equity", "positions", "last_bar"):
        assert straight[key] == killed[key], key
    ids = [[o.pop("id").split("-", 2)[2] for o in run["orders"]] for run in (straight, killed)]
    assert ids[0] == ids[1] and straight["orders"] == killed["orders"]
