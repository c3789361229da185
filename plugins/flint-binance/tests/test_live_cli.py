"""``flint live`` on the fake Binance USD-M (real BTCUSDT candles replayed fast, every
signed request's HMAC verified): a dry run sends nothing, ``--send`` reaches the order
endpoint, ``stop`` keeps the position, ``kill`` flattens it, and neither key appears in
any output, file or journal row."""

import os

import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing.fake import _read_rows
from flint_binance.testing.harness import BinanceHarness

from flint.testing.commands import flint_process
from flint.testing.session_files import journal_text, warm_stores, written_files
from flint.testing.strategy_files import holder_strategy

H = 3600


def test_live_on_the_fake_binance(fake_data, tmp_path, monkeypatch, bounded):
    bounded(240)
    rows = _read_rows(fake_data / "binance-BTCUSDT-3600.csv")
    bars = [int(r[0]) // 1000 if int(r[0]) > 10**11 else int(r[0]) for r in rows]
    warm, start = bars[-80], bars[-30]
    harness = BinanceHarness(fake_data)
    try:
        harness.set_mark(harness.market, float(rows[bars.index(start)][4]))
        monkeypatch.setenv("FLINT_BINANCE_API_URL", harness.fake.url)
        monkeypatch.chdir(tmp_path)
        warmup = BinanceProvider(clock=lambda: start).fetch_candles(
            harness.market, H, warm, start - H)
        warm_stores(tmp_path, ("dry", "live"), warmup)
        db = tmp_path / "live.duckdb"
        (tmp_path / "holder.py").write_text(holder_strategy(0.01, 1))
        venue_args = ("--venue-option", f"binance.api_url={harness.fake.url}",
                      "--venue-option", f'binance.markets=["{harness.market}"]',
                      "--venue-option", 'binance.adapter_options={"poll_s": 0.05}')
        run = ("live", str(tmp_path / "holder.py"), "--trust", "--venue", "binance",
               "--market", harness.market, "--db", str(db), "--warmup", "40", "--start",
               str(start), "--speed", str(H * 20), "--end", str(bars[-26]), "--poll", "0.02",
               "--no-view", *venue_args)
        env = {**os.environ, **harness.env()}
        dry = flint_process(env, *run, "--session", "dry", "--db", str(tmp_path / "dry.duckdb"))
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert harness.submissions() == 0 and harness.venue_position(harness.market) == 0
        sent = flint_process(env, *run, "--session", "real", "--send")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert harness.submissions() == 2
        assert harness.venue_position(harness.market) == pytest.approx(0.01)
        stop = flint_process(env, "live", "stop", "real", "--db", str(db), *venue_args)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert harness.venue_position(harness.market) == pytest.approx(0.01)
        assert not [o for o in harness.venue_orders().values() if o[0].value == "confirmed"]
        kill = flint_process(env, "live", "kill", "real", "--db", str(db), *venue_args)
        assert kill.returncode == 0, kill.stdout + kill.stderr
        assert harness.venue_position(harness.market) == 0
        journal = journal_text(tmp_path)
        assert "dry run" in journal
        texts = [r.stdout + r.stderr for r in (dry, sent, stop, kill)] + [journal]
        texts += written_files(tmp_path).values()
        for secret in harness.secret_values():
            assert not any(secret in text for text in texts)
    finally:
        harness.close()
