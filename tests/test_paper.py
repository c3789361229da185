"""Paper trading: sessions on real candles, resumed after kill -9 like an uninterrupted
run; parity with the backtest (exact for ClosePriceFill and a seeded FillPipeline)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flint import indicators
from flint.backtest.parity import ParityTest, compare_session
from flint.indicators import sma
from flint.models import Candle, CandleSeries, Side, Signal
from flint.paper.session import Bars, PaperConfig, PaperSession, SessionError
from flint.paper.venue import SavedState
from flint.providers.files import FileProvider
from flint.store import FlintStore
from flint.strategy.base import Strategy
from flint.testing.processes import wait_until

DATA = Path(os.environ.get("FLINT_TEST_DATA", Path(__file__).parents[1] / ".." / "shared" / "data"))
CANDLES = DATA / "hyperliquid-SOL-3600.csv"
FUNDING = DATA / "hyperliquid-SOL-funding.csv"
pytestmark = pytest.mark.skipif(not CANDLES.exists(), reason=f"no test data at {DATA} "
                                "(set FLINT_TEST_DATA)")
H = 3600
PIPELINE = {"latency_seed": 11, "base_latency_s": 0.3, "latency_jitter_s": 0.25}

PROBE = '''
from flint.indicators import sma
from flint.models import Side, Signal
from flint.strategy.base import Strategy


class PaperProbe(Strategy):
    """Limits to enter, a stop and a take-profit to protect, market closes to exit."""

    name = "paper_probe"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        if len(history) < 20:
            return Signal.HOLD
        fast, slow = sma(history, 5), sma(history, 20)
        held = ctx.position(candle.market)
        if held is None:
            ctx.cancel_all()  # an entry that did not fill, or a protection left over
            if fast > slow:
                ctx.limit_order(candle.market, Side.LONG, 3.0, candle.close * 0.999)
        elif held is not None and fast < slow:
            ctx.close_position(candle.market)
            ctx.cancel_all()
        elif held is not None and len(ctx.pending_orders) == 0:
            ctx.stop_order(candle.market, Side.SHORT, held.size, held.entry_price * 0.97)
            ctx.take_profit_order(candle.market, Side.SHORT, held.size, held.entry_price * 1.02)
        return Signal.HOLD
'''


class Cross(Strategy):
    """A v1 strategy: all-in long above the slow average, short below."""

    name = "cross"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        if len(history) < 25:
            return Signal.HOLD
        return Signal.BUY if sma(history, 5) > sma(history, 20) else Signal.SELL


def probe():
    namespace = {}
    exec(compile(PROBE, "probe", "exec"), namespace)
    return namespace["PaperProbe"]()


@pytest.fixture(scope="module")
def candles():
    return list(FileProvider(CANDLES).fetch_candles("SOL-PERP", H, 0, 2**40))


@pytest.fixture(scope="module")
def funding():
    return FileProvider(FUNDING).fetch_funding("SOL-PERP", 0, 2**40)


@pytest.mark.parametrize("model,options", [("close", {}), ("pipeline", PIPELINE)])
@pytest.mark.parametrize("make,short", [(Cross, True), (probe, False)])
def test_parity_test_is_exact_on_real_candles(candles, funding, model, options, make, short):
    report = ParityTest(make(), "SOL-PERP", candles[1000:1500], funding_rates=funding,
                        fill_model=model, fill_options=options, warmup=100,
                        allow_short=short).run()
    assert report.exact, report.summary()
    assert sum(map(len, report.paper_fills.values())) >= 6  # it traded
    assert report.paper_equity == report.backtest_equity
    assert report.passed


def started(store, candles, config, strategy, session):
    """Paper session ``session`` of ``strategy`` started on ``store``, the first 100
    candles stored as its warm-up."""
    store.upsert_candles(candles[:100])
    out = PaperSession.create(store, config, strategy, session=session)
    out.start()
    return out


def test_parity_names_the_first_diverging_bar(candles):
    store = FlintStore(":memory:")
    store.upsert_candles(candles[:100])
    config = PaperConfig("cross", "hyperliquid", "SOL-PERP", fill_model="close", warmup_bars=100,
                         allow_short=True)
    session = PaperSession.create(store, config, Cross())
    session.start()
    for bar in candles[100:300]:
        session.step(bar)
    session.close()

    class Later(Cross):  # the same strategy, except it sits out bar 150
        def on_candle(self, candle, history, ctx=None):
            if candle.ts == candles[150].ts:
                return Signal.HOLD
            return super().on_candle(candle, history, ctx)

    assert compare_session(store, session.id, Cross()).exact
    report = compare_session(store, session.id, Later())
    fills_at_150 = report.paper_fills.get(candles[150].ts)
    if fills_at_150:
        assert report.first_divergence == candles[150].ts
    else:
        assert report.first_divergence is None or report.first_divergence > candles[150].ts
    store.close()


def test_refuses_to_start_without_enough_warmup(candles):
    store = FlintStore(":memory:")
    store.upsert_candles(candles[:50])
    config = PaperConfig("cross", "hyperliquid", "SOL-PERP", warmup_bars=200)
    with pytest.raises(SessionError, match="not enough warm-up history: 50 stored"):
        PaperSession.create(store, config, Cross())
    store.close()


def test_resume_in_process_continues_like_one_run(candles):
    config = PaperConfig("probe", "hyperliquid", "SOL-PERP", fill_model="pipeline",
                         fill_options=PIPELINE, warmup_bars=100)
    states = []
    for cut in (None, 170):
        store = FlintStore(":memory:")
        session = started(store, candles, config, probe(), "s")
        for i, bar in enumerate(candles[100:300]):
            if i == cut:  # a restart: a new venue, broker and strategy from the store
                session.close()
                session = PaperSession.resume(store, "s", config, probe())
                session.start()
            session.step(bar)
        states.append((session.venue.snapshot(), session.view(), session.ctx.account))
        session.close()
        store.close()
    assert states[0] == states[1]


def test_older_whole_snapshots_merge_with_the_changes_after_them(candles):
    """Sessions journaled the venue's whole state after each change; a session's
    changes merged after such a snapshot give the venue's state as it is."""
    config = PaperConfig("probe", "hyperliquid", "SOL-PERP", warmup_bars=100)
    store = FlintStore(":memory:")
    session = started(store, candles, config, probe(), "s")
    for i, bar in enumerate(candles[100:400]):
        if i == 150:
            whole = session.venue.snapshot()
            changes = len([e for e in session.journal.events() if e["kind"] == "venue"])
        session.step(bar)
    saved = SavedState()
    saved.merge({"state": json.loads(json.dumps(whole))})
    for event in [e for e in session.journal.events() if e["kind"] == "venue"][changes:]:
        saved.merge(event["detail"])
    now = json.loads(json.dumps(session.venue.snapshot()))
    assert now["fills"] and json.loads(json.dumps(saved.snapshot())) == now
    session.close()
    store.close()


class RestFarBelow(Strategy):
    """One limit buy far below the market on its first bar, left resting for good."""

    name = "rest_far_below"

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        if not ctx.pending_orders:
            ctx.limit_order(candle.market, Side.LONG, 1.0, candle.close * 0.5)
        return Signal.HOLD


def test_a_resting_order_is_journaled_when_it_changes_not_every_bar(candles):
    """A bar's venue change holds what changed: an order resting untouched is in the
    changes of the bars it was placed and first matched on, and no later one."""
    config = PaperConfig("rest", "hyperliquid", "SOL-PERP", warmup_bars=100)
    store = FlintStore(":memory:")
    session = started(store, candles, config, RestFarBelow(), "s")
    for bar in candles[100:110]:
        session.step(bar)
    listed = [len(e["detail"]["change"]["orders"]) for e in session.journal.events()
              if e["kind"] == "venue"]
    assert len(session.venue.open_orders()) == 1
    assert sum(listed) == 2 and listed[-5:] == [0] * 5, listed
    session.close()
    store.close()


def test_the_paper_venue_keeps_only_the_events_not_yet_read(candles):
    """The venue's user events are dropped once the context has read them: a session's
    memory does not grow with its bars (its orders and fills still book, as above)."""
    config = PaperConfig("probe", "hyperliquid", "SOL-PERP", warmup_bars=100)
    store = FlintStore(":memory:")
    session = started(store, candles, config, probe(), "s")
    kept = []
    for bar in candles[100:400]:
        session.step(bar)
        kept.append(len(session.venue._log))
    fills = len(session.venue.fills)
    session.close()
    store.close()
    assert fills > 10  # the probe traded
    assert max(kept) <= 8  # one bar's events at most, not the session's


def test_stop_keeps_positions_and_kill_flattens(candles):
    config = PaperConfig("cross", "hyperliquid", "SOL-PERP", fill_model="close", warmup_bars=100)
    store = FlintStore(":memory:")
    session = started(store, candles, config, Cross(), "k")
    bar = next(b for b in candles[100:400] if (session.step(b) or session.ctx.positions))
    assert session.ctx.positions, bar
    session.ctx.limit_order("SOL-PERP", Side.LONG, 1.0, bar.close * 0.5)
    session.stop()
    assert session.ctx.positions and not session.ctx.pending_orders
    session.kill()
    assert not session.ctx.positions and session.status == "killed"
    assert session.venue.slot.size == 0.0
    session.close()
    store.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(1, 120), seed=st.integers(0, 10**6), v1=st.booleans(),
       with_strategy=st.booleans())
def test_a_resumed_session_killed_at_any_point_ends_flat(candles, cut, seed, v1,
                                                          with_strategy):
    """create, step, close, resume (as ``flint paper kill`` does, or to run on), kill:
    no position and no resting order, in the session and in the store, whatever the
    last recorded bar did (a kill's close is a new order, not the bar's first order)."""
    make = Cross if v1 else (lambda: RandomOrders(seed))
    config = PaperConfig("x", "hyperliquid", "SOL-PERP", fill_model="close", warmup_bars=40,
                         allow_short=True)
    store = FlintStore(":memory:")
    store.upsert_candles(candles[1000:1040])
    session = PaperSession.create(store, config, make(), session="k")
    session.start()
    for bar in candles[1040:1040 + cut]:
        session.step(bar)
    session.close()
    session = PaperSession.resume(store, "k", config, make() if with_strategy else None)
    session.start()
    session.kill("test")
    assert session.status == "killed"
    assert not session.ctx.positions and not session.ctx.pending_orders
    assert session.venue.slot.size == 0.0 and not session.venue.open_orders()
    session.close()
    stored = PaperSession.resume(store, "k", config, None).view()
    assert stored["status"] == "killed" and not stored["positions"] and not stored["orders"]
    store.close()


# The command line, killed with SIGKILL midway


def _flint(*args, **kwargs):
    return [sys.executable, "-m", "flint.cli.main", *args]


def _run_args(db, session, data, start, end):
    return _flint("paper", str(data / "probe.py"), "--trust", "--venue", "hyperliquid",
                  "--market", "SOL-PERP", "--db", str(db), "--session", session,
                  "--provider", "file", "--provider-option", f"path={data}",
                  "--fill-model", "pipeline", *[f"--fill-option={k}={v}" for k, v in
                                               PIPELINE.items()],
                  "--warmup", "100", "--start", str(start), "--speed", str(H * 25),
                  "--end", str(end), "--poll", "0.02", "--no-view")


def _status(db, session):
    done = subprocess.run(_flint("paper", "status", session, "--db", str(db), "--json"),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_kill_9_midway_then_resume_ends_like_an_uninterrupted_run(tmp_path, candles):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CANDLES, data)
    shutil.copy(FUNDING, data)
    (data / "probe.py").write_text(PROBE)
    first = candles[2000]
    start, end = first.ts, candles[2000 + 299].ts  # 300 live bars
    finals = {}
    for name in ("straight", "killed"):
        db = tmp_path / f"{name}.duckdb"
        with FlintStore(db) as store:
            store.upsert_candles(candles[1800:2000])
        args = _run_args(db, name, data, start, end)
        if name == "killed":
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            status = db.with_name(db.name + ".paper") / f"{name}.status.json"
            deadline = time.monotonic() + 120
            while True:
                assert time.monotonic() < deadline and proc.poll() is None, "no progress"
                try:
                    if json.loads(status.read_text())["bars"] >= 130:
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(1.0)  # bars keep closing while it is down: replayed on restart
        done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        finals[name] = _status(db, name)
        parity = subprocess.run(_flint("parity", name, "--db", str(db), "--trust"),
                                check=False, capture_output=True, text=True, timeout=300)
        assert parity.returncode == 0, parity.stdout + parity.stderr
        assert "parity exact" in parity.stdout
    straight, killed = finals["straight"], finals["killed"]
    assert straight["status"] == killed["status"] == "ended"
    assert straight["bars"] == killed["bars"] == 300
    for key in ("cash", "equity", "positions", "last_bar"):
        assert straight[key] == killed[key], key
    ids = [[o.pop("id").split("-", 2)[2] for o in run["orders"]] for run in (straight, killed)]
    assert ids[0] == ids[1] and straight["orders"] == killed["orders"]


KILLED_INSIDE_A_BAR = '''
import os, signal, sys
from flint.paper.session import PaperConfig, PaperSession
from flint.providers.files import FileProvider
from flint.store import FlintStore

db, probe_file, candles_file, bars, after = sys.argv[1:6]
namespace = {}
exec(open(probe_file).read(), namespace)


class KilledProbe(namespace["PaperProbe"]):
    """The probe, killed (SIGKILL) inside its first bar past ``after`` that placed an
    order: after the order reached the paper venue, before the bar's fills."""

    def on_candle(self, candle, history, ctx=None):
        before = len(ctx.tracker.orders)
        signal_ = super().on_candle(candle, history, ctx)
        if candle.ts > int(after) and len(ctx.tracker.orders) > before:
            os.kill(os.getpid(), signal.SIGKILL)
        return signal_


candles = list(FileProvider(candles_file).fetch_candles("SOL-PERP", 3600, 0, 2**40))
config = PaperConfig("paper_probe", "hyperliquid", "SOL-PERP", fill_model="pipeline",
                     fill_options={PIPELINE!r}, warmup_bars=100)
with FlintStore(db, durable_journal=False) as store:
    store.upsert_candles(candles[:100])
    session = PaperSession.create(store, config, KilledProbe(), session="s")
    session.start()
    for bar in candles[100:100 + int(bars)]:
        session.step(bar)
'''.replace("{PIPELINE!r}", repr(PIPELINE))


def test_kill_9_inside_a_bar_loses_the_bar_whole_and_resume_runs_it(tmp_path, candles):
    """A paper bar is journaled in one write at its end: ``kill -9`` inside it (here
    after an order reached the venue) leaves nothing of it, and the resumed session
    runs it as a bar missed while down, ending like an uninterrupted run (no order or
    fill lost or doubled)."""
    config = PaperConfig("paper_probe", "hyperliquid", "SOL-PERP", fill_model="pipeline",
                         fill_options=PIPELINE, warmup_bars=100)
    bars = candles[100:300]
    ends = []
    for killed in (False, True):
        db = tmp_path / f"{killed}.duckdb"
        if killed:
            (tmp_path / "probe.py").write_text(PROBE)
            (tmp_path / "killed.py").write_text(KILLED_INSIDE_A_BAR)
            done = subprocess.run([sys.executable, str(tmp_path / "killed.py"), str(db),
                                   str(tmp_path / "probe.py"), str(CANDLES), str(len(bars)),
                                   str(bars[80].ts)], check=False, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == -signal.SIGKILL, done.stderr
            store = FlintStore(db)
            session = PaperSession.resume(store, "s", config, probe())
            recorded = session.last_ts
            assert recorded is not None and bars[80].ts <= recorded < bars[-1].ts
            # nothing of the killed bar (the one after the last recorded) was journaled
            assert max(e["ts"] for e in session.ctx.journal.events()) <= recorded + H
            assert len(session.ctx.journal.fills()) == len(
                {f["trade_id"] for f in session.ctx.journal.fills()})
        else:
            store = FlintStore(db)
            store.upsert_candles(candles[:100])
            session = PaperSession.create(store, config, probe(), session="s")
            recorded = bars[0].ts - H
        session.start()
        for bar in bars:
            if bar.ts > recorded:
                session.step(bar)
        fills = [(f["trade_id"], f["price"], f["size"], f["fee"])
                 for f in session.ctx.journal.fills()]
        ends.append((session.venue.snapshot(), session.view(), session.ctx.account,
                     sorted(session.ctx.tracker.orders), fills))
        session.close()
        store.close()
    assert ends[0][4] and ends[0] == ends[1]


@pytest.mark.parametrize("broken", [CANDLES, FUNDING], ids=["candles", "funding"])
def test_a_feed_that_fails_says_so_once_and_again_when_it_answers(tmp_path, candles, broken):
    data = tmp_path / "data"
    data.mkdir()
    (data / "probe.py").write_text(PROBE)
    for path in (CANDLES, FUNDING):
        if path != broken:
            shutil.copy(path, data)
    (data / broken.name).write_text("ts,open\n1\n")  # a file the feed cannot read
    db = tmp_path / "feed.duckdb"
    with FlintStore(db) as store:
        store.upsert_candles(candles[1800:2000])
    args = _run_args(db, "feed", data, candles[2000].ts, candles[2009].ts)
    status = db.with_name(db.name + ".paper") / "feed.status.json"

    def failed() -> bool:
        try:
            return json.loads(status.read_text())["feed_errors"] > 0
        except (OSError, ValueError, KeyError):
            return False

    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(failed, 120), "the feed never failed"
        shutil.copy(broken, data)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    failures = [line for line in lines if line.startswith("feed: ") and "polling again" in line]
    assert len(failures) == 1, out
    assert lines.index(failures[0]) < lines.index("feed: answering again"), out
    assert _status(db, "feed")["bars"] == 10


# The live gate and the session commands' errors


def _cli(*args, input=None, env=None):
    from click.testing import CliRunner

    from flint.cli.main import cli

    return CliRunner(env=env).invoke(cli, list(args), input=input)


def test_live_without_a_venue_plugin_is_a_clear_error():
    done = _cli("live", "cross", "--venue", "nowhere", "--market", "SOL-PERP")
    assert done.exit_code == 1
    assert "no installed plugin offers live trading on 'nowhere'" in done.output


def test_real_money_needs_the_setting_and_a_confirmation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("live", "cross", "--venue", "nowhere", "--market", "SOL-PERP", "--network",
            "mainnet", "--send")
    done = _cli(*args)
    assert done.exit_code == 1 and "network: mainnet" in done.output
    (tmp_path / "flint.yaml").write_text("live:\n  network: mainnet\n")
    done = _cli(*args, input="yes\n")
    assert done.exit_code == 1 and "not confirmed; nothing was sent" in done.output
    done = _cli(*args, input="real money\n")  # confirmed: on to the venue (none installed)
    assert "no installed plugin offers live trading" in done.output
    done = _cli(*args, "--i-understand-real-money")
    assert "REAL MONEY" not in done.output and "no installed plugin" in done.output


def test_session_commands_name_what_is_missing(tmp_path, candles):
    db = tmp_path / "s.duckdb"
    with FlintStore(db) as store:
        store.upsert_candles(candles[:10])
    for args in (("paper", "status", "nope"), ("paper", "stop", "nope"), ("parity", "nope")):
        done = _cli(*args, "--db", str(db))
        assert done.exit_code == 1 and "no paper session 'nope'" in done.output, args
    probe_file = tmp_path / "probe.py"
    probe_file.write_text(PROBE)
    done = _cli("paper", str(probe_file), "--venue", "hyperliquid", "--market", "SOL-PERP",
                "--db", str(db))
    assert done.exit_code == 1 and "pass --trust" in done.output
    done = _cli("paper", str(probe_file), "--trust", "--venue", "hyperliquid", "--market",
                "SOL-PERP", "--db", str(db), "--provider", "file", "--provider-option",
                f"path={CANDLES}")
    assert done.exit_code == 1 and "not enough warm-up history: 10 stored" in done.output


def test_stop_and_kill_of_a_session_that_is_not_running(tmp_path, candles):
    db = tmp_path / "s.duckdb"
    config = PaperConfig(str(tmp_path / "probe.py"), "hyperliquid", "SOL-PERP",
                         fill_model="close", warmup_bars=100)
    with FlintStore(db) as store:
        store.upsert_candles(candles[:100])
        session = PaperSession.create(store, config, probe(), session="p")
        session.start()
        for bar in candles[100:260]:
            session.step(bar)
        held = bool(session.ctx.positions)
        session.close()
    assert held, "the probe holds a position by then"
    done = _cli("paper", "stop", "p", "--db", str(db))
    assert done.exit_code == 0 and "stopped" in done.output
    state = json.loads(_cli("paper", "status", "p", "--db", str(db), "--json").output)
    assert state["status"] == "stopped" and state["positions"] and not state["orders"]
    done = _cli("paper", "kill", "p", "--db", str(db))
    assert done.exit_code == 0 and "killed" in done.output
    state = json.loads(_cli("paper", "status", "p", "--db", str(db), "--json").output)
    assert state["status"] == "killed" and not state["positions"]
    assert "killed" in _cli("paper", "status", "p", "--db", str(db)).output


def test_risk_settings_are_stored_and_replayed_by_parity(tmp_path, monkeypatch, candles):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flint.yaml").write_text("risk:\n  max_notional_per_order: 300\n")
    config = PaperConfig("probe", "hyperliquid", "SOL-PERP", fill_model="close",
                         warmup_bars=100, risk=True)
    store = FlintStore(":memory:")
    session = started(store, candles, config, probe(), "r")
    for bar in candles[100:220]:
        session.step(bar)
    denied = [e for e in session.journal.events() if e["kind"] == "risk"]
    assert denied and all(e["detail"]["reason"] == "NOTIONAL_EXCEEDS_MAX_PER_ORDER" for e in denied)
    assert any("NOTIONAL" in w for w in session.ctx.strategy_warnings)
    assert not session.venue.orders  # nothing reached the venue
    session.close()
    (tmp_path / "flint.yaml").write_text("risk:\n  max_notional_per_order: 0\n")
    report = compare_session(store, "r", probe())  # the stored settings, not flint.yaml's
    assert report.exact, report.summary()
    resumed = PaperSession.resume(store, "r", config, probe())
    resumed.start()
    for bar in candles[220:300]:
        resumed.step(bar)
    resumed.close()
    again = [e for e in resumed.journal.events() if e["kind"] == "risk"]
    assert len(again) > len(denied)  # the stored limit still denies after the resume
    assert compare_session(store, "r", probe()).exact
    store.close()


def test_kill_a_running_session_from_another_process(tmp_path, candles):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CANDLES, data)
    (data / "probe.py").write_text(PROBE)
    db = tmp_path / "run.duckdb"
    with FlintStore(db) as store:
        store.upsert_candles(candles[1800:2000])
    args = _run_args(db, "live1", data, candles[2000].ts, candles[-1].ts)
    args[args.index("--speed") + 1] = str(H * 5)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "no progress"
            try:
                state = _status(db, "live1")
            except (subprocess.CalledProcessError, ValueError):
                state = {}
            if state.get("status") == "running" and state.get("bars", 0) >= 40:
                break
            time.sleep(0.1)
        done = _cli("paper", "kill", "live1", "--db", str(db))
        assert done.exit_code == 0 and "kill done" in done.output, done.output
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    state = _status(db, "live1")
    assert state["status"] == "killed" and not state["positions"] and not state["orders"]
    assert state["trading_state"] == "halted"


class RandomOrders(Strategy):
    """Orders of every kind drawn per bar from ``seed`` and the bar's time, so both paths
    draw the same ones (given the same positions and orders)."""

    name = "random_orders"

    def __init__(self, seed):
        self.seed = seed

    def reset(self):
        pass

    def on_candle(self, candle, history, ctx=None):
        import random

        rng = random.Random(self.seed * 1_000_003 + candle.ts)
        market, close = candle.market, candle.close
        held = ctx.position(market)
        for _ in range(rng.randint(0, 2)):
            side = rng.choice([Side.LONG, Side.SHORT])
            size = rng.choice([0.5, 1.0, 2.5])
            kind = rng.random()
            if kind < 0.3:
                ctx.market_order(market, side, size, reduce_only=rng.random() < 0.2)
            elif kind < 0.6:
                away = 1 + (-1 if side is Side.LONG else 1) * rng.uniform(-0.002, 0.01)
                ctx.limit_order(market, side, size, close * away,
                                reduce_only=rng.random() < 0.2)
            elif kind < 0.75 and held is not None:
                closing = Side.SHORT if held.side is Side.LONG else Side.LONG
                ctx.stop_order(market, closing, held.size, close * rng.uniform(0.98, 1.02))
            elif kind < 0.9 and held is not None:
                closing = Side.SHORT if held.side is Side.LONG else Side.LONG
                ctx.take_profit_order(market, closing, held.size,
                                      close * rng.uniform(0.98, 1.02))
            elif ctx.pending_orders:
                ctx.cancel(rng.choice(ctx.pending_orders).order_id)
        if rng.random() < 0.05:
            ctx.close_position(market)
            ctx.cancel_all()
        return Signal.HOLD


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), start=st.integers(0, 7000), pipeline=st.booleans())
def test_random_order_streams_have_exact_parity(candles, funding, seed, start, pipeline):
    model, options = ("pipeline", PIPELINE) if pipeline else ("close", {})
    report = ParityTest(RandomOrders(seed), "SOL-PERP", candles[start:start + 140],
                        funding_rates=funding, fill_model=model, fill_options=options,
                        warmup=40).run()
    assert report.exact, report.summary()
    assert report.paper_equity == report.backtest_equity


def test_the_sessions_bars_are_one_root_that_grows_past_its_buffers_with_exact_indicators():
    candles = [Candle(3600 * i, 100.0 + i % 13, 101.0 + i % 11, 99.0 - i % 5, 100.0 + i % 17,
                      float(i % 4)) for i in range(2300)]
    bars = Bars()
    bars.extend(candles[:100])
    root, history = bars.series(), bars.history(500)
    for i in range(100, len(candles)):
        bars.extend([candles[i]])  # past 1024 and 2048 bars the columns move
        assert bars.history(500) is history and bars.series() is root and len(root) == i + 1
        assert (history.start, history.stop) == (max(i - 500, 0), i)
        if i % 97 == 0 or i in (1023, 1024, 1025, 2047, 2048, 2049):
            whole = CandleSeries.from_candles(candles[: i + 1]).window(history.start, i)
            for name, args in (("sma", (20,)), ("ema", (30,)), ("macd", (12, 26, 9)),
                               ("adx", (14,)), ("bollinger", (20,))):
                indicator = getattr(indicators, name)
                assert indicator(history, *args, candle=candles[i]) == indicator(
                    whole, *args, candle=candles[i]), (name, i)
    assert root == CandleSeries.from_candles(candles)
