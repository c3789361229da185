"""``flint live`` on the fake Hyperliquid (real candles replayed fast, the fake exchange
verifying the agent's EIP-712 signatures): a dry run sends nothing, ``--send`` reaches
the order endpoint, mainnet is refused without both opt-ins, ``stop`` keeps the
position and ``kill`` flattens it, and the agent key appears in no output, log or
journal row."""

import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from eth_account import Account
from flint_hyperliquid.adapter import KEY_VAR
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid
from flint_hyperliquid.testing.fake import _read_rows

from flint.live.journal import OrderJournal
from flint.live.session import read_recording, read_session
from flint.store import FlintStore
from flint.testing.commands import flint_process
from flint.testing.session_files import journal_text, warm_stores, written_files
from flint.testing.strategy_files import holder_strategy

H = 3600


def _flint(*args):
    return [sys.executable, "-m", "flint.cli.main", *args]


@pytest.fixture
def venue(fake_data, tmp_path, monkeypatch):
    """A fake Hyperliquid serving real SOL candles and trading for a new account; a
    store warmed up to ``start``; the ``flint live`` arguments and environment."""
    rows = _read_rows(fake_data / "hyperliquid-SOL-3600.csv")
    bars = [int(r[0]) for r in rows]
    warm, start = bars[-80], bars[-30]
    key = "0x" + secrets.token_hex(32)
    user = "0x" + secrets.token_hex(20)
    with FakeHyperliquid.from_data(fake_data, coins=("SOL",), candle_window=None) as fake:
        exchange = fake.trade(user, [str(Account.from_key(key).address)])
        exchange.set_mark("SOL", float(rows[bars.index(start)][4]))
        monkeypatch.setenv("FLINT_HYPERLIQUID_API_URL", fake.url)
        monkeypatch.chdir(tmp_path)
        warmup = HyperliquidProvider(clock=lambda: start).fetch_candles(
            "SOL-PERP", H, warm, start - H)
        warm_stores(tmp_path, ("dry", "live"), warmup)
        db = tmp_path / "live.duckdb"
        strategy = tmp_path / "holder.py"
        strategy.write_text(holder_strategy(1.0, 2))
        venue_args = ("--venue-option", f"hyperliquid.url={fake.url}", "--venue-option",
                      f"hyperliquid.account_address={user}", "--venue-option",
                      "hyperliquid.rate_limit=false", "--venue-option", "hyperliquid.poll_s=0.05")
        run = ("live", str(strategy), "--trust", "--venue", "hyperliquid", "--market",
               "SOL-PERP", "--db", str(db), "--warmup", "40", "--start", str(start),
               "--speed", str(H * 20), "--end", str(bars[-26]), "--poll", "0.02",
               "--no-view", "--provider-option", "rate_limit=false", *venue_args)
        env = {**os.environ, KEY_VAR: key}
        yield {"exchange": exchange, "db": db, "run": run, "venue_args": venue_args,
               "env": env, "key": key, "tmp": tmp_path}


def _call(venue, *args, input=None):
    return flint_process(venue["env"], *args, input=input)


def _assert_no_key(venue, *texts):
    key = venue["key"]
    for text in (*texts, journal_text(venue["tmp"])):
        assert key not in text and key[2:] not in text
    for path, text in written_files(venue["tmp"]).items():
        assert key[2:] not in text, path


def test_dry_run_sends_nothing_and_send_trades(venue, bounded):
    bounded(200)
    exchange = venue["exchange"]
    dry_db = str(venue["tmp"] / "dry.duckdb")
    done = _call(venue, *venue["run"], "--session", "dry", "--db", dry_db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DRY RUN" in done.stdout and "live session dry: ended" in done.stdout
    assert exchange.submitted == [] and exchange.position("SOL") == 0.0
    status = _call(venue, "live", "status", "dry", "--db", dry_db, "--json")
    assert '"bars": 5' in status.stdout, status.stdout + status.stderr

    sent = _call(venue, *venue["run"], "--session", "real", "--send")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(exchange.submitted) == 2  # the market order and the resting bid
    assert exchange.position("SOL") == pytest.approx(1.0)
    assert len(exchange.open_orders()) == 1

    stop = _call(venue, "live", "stop", "real", "--db", str(venue["db"]),
                 *venue["venue_args"])
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert exchange.open_orders() == [] and exchange.position("SOL") == pytest.approx(1.0)

    kill = _call(venue, "live", "kill", "real", "--db", str(venue["db"]),
                 *venue["venue_args"])
    assert kill.returncode == 0, kill.stdout + kill.stderr
    assert exchange.position("SOL") == 0.0
    status = _call(venue, "live", "status", "real", "--db", str(venue["db"]), "--json")
    assert '"status": "killed"' in status.stdout, status.stdout + status.stderr
    resume = _call(venue, "live", "resume", "real", "--db", str(venue["db"]),
                   *venue["venue_args"])
    assert resume.returncode == 0, resume.stdout + resume.stderr
    assert "dry run" in journal_text(venue["tmp"])
    _assert_no_key(venue, *(r.stdout + r.stderr for r in (done, sent, stop, kill, resume)))


def test_mainnet_needs_both_opt_ins(venue, bounded):
    bounded(120)
    run = (*venue["run"], "--session", "main", "--network", "mainnet", "--send")
    refused = _call(venue, *run)
    assert refused.returncode == 1 and "network: mainnet" in refused.stderr
    (venue["tmp"] / "flint.yaml").write_text("live:\n  network: mainnet\n")
    unconfirmed = _call(venue, *run, input="yes\n")
    assert unconfirmed.returncode == 1 and "not confirmed" in unconfirmed.stderr
    replay = _call(venue, *run, "--i-understand-real-money")
    assert replay.returncode == 1 and "testnet only" in replay.stderr
    assert venue["exchange"].submitted == []
    _assert_no_key(venue, *(r.stdout + r.stderr for r in (refused, unconfirmed, replay)))


def test_too_little_history_is_refused_with_the_reason(venue):
    done = _call(venue, *venue["run"], "--session", "short", "--warmup", "500")
    assert done.returncode == 1
    assert "not enough warm-up history: 50 stored" in done.stderr
    assert venue["exchange"].submitted == []


def test_a_running_session_obeys_resume_and_kill(venue, bounded):
    bounded(200)
    exchange, db = venue["exchange"], str(venue["db"])
    run = list(venue["run"])
    del run[run.index("--end"):run.index("--end") + 2]  # runs until killed
    proc = subprocess.Popen(_flint(*run, "--session", "bg", "--send"), env=venue["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status = venue["tmp"] / "live.duckdb.live" / "bg.status.json"
    while not (status.exists() and json.loads(status.read_text() or "{}").get("bars", 0) >= 3):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert exchange.position("SOL") == pytest.approx(1.0)
    resume = _call(venue, "live", "resume", "bg", "--db", db)
    assert resume.returncode == 0 and "resume done" in resume.stdout, resume.stderr
    assert proc.poll() is None  # resume does not end the session
    kill = _call(venue, "live", "kill", "bg", "--db", db)
    assert kill.returncode == 0 and "kill done" in kill.stdout, kill.stderr
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "live session bg: killed" in out
    assert exchange.position("SOL") == 0.0 and exchange.open_orders() == []
    _assert_no_key(venue, out + err, resume.stdout + resume.stderr, kill.stdout + kill.stderr)


ROUTER = '''
from flint.models import Side, Signal
from flint.strategy.base import Strategy


class Both(Strategy):
    """Long 1 SOL on Hyperliquid, short 1 SOL on Binance, on its first bar."""
    name = "both"

    def reset(self):
        self.bars = 0

    def on_candle(self, candle, history, ctx=None):
        self.bars += 1
        if self.bars == 1:
            ctx.market_order(candle.market, Side.LONG, 1.0, venue="hyperliquid")
            ctx.market_order(candle.market, Side.SHORT, 1.0, venue="binance")
        return Signal.HOLD
'''


def test_two_venues_trade_through_the_router(venue, fake_data, bounded):
    pytest.importorskip("flint_binance")
    from flint_binance.live import KEY_VAR as BINANCE_KEY
    from flint_binance.live import SECRET_VAR as BINANCE_SECRET
    from flint_binance.testing.fake import FakeBinance

    bounded(200)
    rows = _read_rows(fake_data / "binance-SOLUSDT-3600.csv")
    start = int(venue["run"][venue["run"].index("--start") + 1])
    close = next(float(r[4]) for r in rows if int(r[0]) == start)
    api_key, api_secret = secrets.token_hex(16), secrets.token_hex(32)
    with FakeBinance.from_data(fake_data, symbols=("SOLUSDT",)) as binance:
        account = binance.enable_trading(api_key, api_secret, fake_data,
                                         marks={"SOLUSDT": close})
        (venue["tmp"] / "both.py").write_text(ROUTER)
        run = list(venue["run"])
        run[1] = str(venue["tmp"] / "both.py")
        run += ["--venue", "binance", "--venue-option", f"binance.api_url={binance.url}",
                "--venue-option", 'binance.markets=["SOL-PERP"]', "--provider-option",
                "binance.rate_limit=false", "--send", "--session", "two"]
        env = {**venue["env"], BINANCE_KEY: api_key, BINANCE_SECRET: api_secret,
               "FLINT_BINANCE_API_URL": binance.url}  # its bars and funding too
        done = subprocess.run(_flint(*run), env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert venue["exchange"].position("SOL") == pytest.approx(1.0)
        assert float(account.positions["SOLUSDT"][0]) == pytest.approx(-1.0)
        with FlintStore(venue["db"], read_only=True) as store:  # each venue's own bars
            steps = read_recording(store, "two").steps
        closes = {int(r[0]): float(r[4]) for r in rows}
        assert steps and all(s.bars["binance"].close == closes[s.bars["binance"].ts]
                             for s in steps)
        assert any(s.bars["binance"].close != s.bars["hyperliquid"].close for s in steps)
        text = done.stdout + done.stderr + journal_text(venue["tmp"])
        assert api_key not in text and api_secret not in text
        _assert_no_key(venue, done.stdout + done.stderr)


def test_a_broken_feed_stops_the_session_and_says_why(venue, bounded):
    bounded(120)
    # a provider setting its candle requests cannot use: no poll will ever work
    done = _call(venue, *venue["run"], "--session", "broken", "--send", "--provider-option",
                 "history_limit=oops")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ALERT feed_failure" in done.stdout
    assert "the hyperliquid feed failed: TypeError" in done.stderr
    assert "live session broken: stopped" in done.stdout
    assert venue["exchange"].submitted == []
    _assert_no_key(venue, done.stdout + done.stderr)


def test_a_resumed_session_keeps_the_risk_settings_it_was_created_with(venue, bounded):
    bounded(200)
    (venue["tmp"] / "flint.yaml").write_text("risk:\n  max_notional_per_order: 50\n")
    first = _call(venue, *venue["run"], "--session", "capped", "--send")
    assert first.returncode == 0, first.stdout + first.stderr
    assert venue["exchange"].submitted == []  # the 1 SOL buy is over the cap: denied
    (venue["tmp"] / "flint.yaml").write_text("risk:\n  max_notional_per_order: 0\n")
    run = list(venue["run"])
    at = run.index("--end") + 1
    run[at] = str(int(run[at]) + 3 * H)  # three more bars; the strategy buys again on the first
    again = _call(venue, *run, "--session", "capped", "--send")
    assert again.returncode == 0, again.stdout + again.stderr
    assert venue["exchange"].submitted == []  # still capped: the stored settings
    with FlintStore(venue["db"], read_only=True) as store:
        config, _ = read_session(store, "capped")
        denied = [e for e in OrderJournal(store, "hyperliquid").events() if e["kind"] == "risk"]
    assert config.risk["risk_max_notional_per_order"] == 50
    assert len(denied) >= 4  # two orders on each run's first bar
