"""The live candle feed against the fake Hyperliquid's websocket: closed bars in order,
no gap and no duplicate across dropped connections and a silent stream."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flint_hyperliquid.feed import HyperliquidBookFeed, HyperliquidCandleFeed, ws_url
from flint_hyperliquid.provider import HyperliquidProvider
from flint_hyperliquid.testing import FakeHyperliquid
from flint_hyperliquid.testing.fake import _read_rows

from flint.providers.feeds import Backoff
from flint.store import FlintStore
from flint.testing.feeds import Received, until

H = 3600


@pytest.fixture
def fake(fake_data):
    with FakeHyperliquid.from_data(fake_data, coins=("SOL",), candle_window=None) as server:
        yield server


def test_websocket_url_follows_the_api_url():
    assert ws_url("https://api.hyperliquid.xyz") == "wss://api.hyperliquid.xyz/ws"
    assert ws_url("http://127.0.0.1:5000") == "ws://127.0.0.1:5000/ws"


def test_closed_bars_arrive_in_order_across_drops_and_silence(fake, fake_data, bounded):
    bounded(60)
    rows = _read_rows(fake_data / "hyperliquid-SOL-3600.csv")
    bars = [int(r[0]) for r in rows]
    closes = {int(r[0]): float(r[4]) for r in rows}
    i = 200
    fake.now = bars[i] + 1800  # bar i is forming
    received = Received()
    provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)
    feed = HyperliquidCandleFeed("SOL-PERP", H, received, provider=provider, last_ts=bars[i - 5],
                                 watchdog_s=0.5, ping_s=0.2, backoff=Backoff(0.05, 0.2),
                                 clock=lambda: fake.now).start()
    try:
        until(lambda: received.ts() == bars[i - 4:i])  # missed before the start: from REST
        until(lambda: fake.subscribed == 1)
        fake.push_candle("SOL", H, bars[i], c="1.0", h="1e9", l="0.5")  # an early state
        fake.push_candle("SOL", H, bars[i])  # its final state
        fake.now = bars[i + 1] + 60
        fake.push_candle("SOL", H, bars[i + 1])  # the next bar starts: bar i closed
        until(lambda: received.ts()[-1:] == [bars[i]])

        fake.drop_sockets()  # the venue drops the connection; three bars pass meanwhile
        fake.now = bars[i + 4] + 60
        until(lambda: fake.subscribed == 2)  # reconnected and subscribed again
        until(lambda: received.ts()[-1:] == [bars[i + 3]])  # missed bars from REST
        fake.push_candle("SOL", H, bars[i + 4])
        fake.push_candle("SOL", H, bars[i + 3])  # a late update of a closed bar: ignored

        fake.muted = True  # the stream goes silent (no pong either): the watchdog
        fake.now = bars[i + 6] + 60
        until(lambda: feed.connections >= 3)
        fake.muted = False
        until(lambda: fake.subscribed >= 3)
        until(lambda: received.ts()[-1:] == [bars[i + 5]])
        fake.push_candle("SOL", H, bars[i + 6])
        fake.now = bars[i + 7] + 60
        fake.push_candle("SOL", H, bars[i + 7])
        until(lambda: received.ts()[-1:] == [bars[i + 6]])
    finally:
        feed.stop()
    assert received.ts() == bars[i - 4:i + 7]  # no gap, no duplicate
    assert [c.close for c in received.candles] == [closes[t] for t in bars[i - 4:i + 7]]
    assert {c.venue for c in received.candles} == {"hyperliquid"}


def test_book_feed_hands_over_each_pushed_book_across_drops_and_silence(fake, bounded):
    bounded(60)
    books = []
    provider = HyperliquidProvider(fake.url, history_limit=None, rate_limit=False,
                                   clock=lambda: fake.now)
    feed = HyperliquidBookFeed("SOL-PERP", books.append, provider=provider, watchdog_s=0.5,
                               ping_s=0.2, backoff=Backoff(0.05, 0.2)).start()
    try:
        until(lambda: fake.subscribed == 1)
        fake.push_book("BTC")  # another coin: not this feed's
        assert fake.push_book("SOL") == 1
        until(lambda: len(books) == 1)
        fake.drop_sockets()
        until(lambda: fake.subscribed == 2)  # reconnected and subscribed again
        fake.muted = True  # silent: the watchdog reconnects
        until(lambda: feed.connections >= 3)
        fake.muted = False
        until(lambda: fake.subscribed >= 3)
        fake.now += 5
        fake.push_book("SOL")
        until(lambda: len(books) == 2)
    finally:
        feed.stop()
    expected = provider.l2_book("SOL-PERP")  # the same book over REST
    assert books[1] == expected and books[1].ts == int(fake.now)
    assert books[0].ts == books[1].ts - 5
    assert (books[0].bids, books[0].asks, books[0].venue) == (expected.bids, expected.asks,
                                                              "hyperliquid")


def test_flint_data_collect_stores_closed_bars_until_ctrl_c(tmp_path, bounded):
    bounded(150)
    # `forming` must still be forming when the collector has started and caught up: start
    # in the first third of a minute (the fake and the collector read the real clock)
    if time.time() % 60 > 20:
        time.sleep(60 - time.time() % 60 + 0.5)
    forming = int(time.time()) // 60 * 60
    rows = [(t, "100", "101", "99", "100.5", "2.0")
            for t in range(forming - 1800, forming + 120, 60)]
    with FakeHyperliquid({("SOL", 60): rows}, now=time.time()) as fake:
        (tmp_path / "flint.yaml").write_text("providers:\n  hyperliquid:\n    rate_limit: false\n")
        env = {**os.environ, "FLINT_HYPERLIQUID_API_URL": fake.url, "FLINT_CONFIG": ""}
        db = tmp_path / "live.duckdb"
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "flint"), "data", "collect", "--venue",
             "hyperliquid", "--market", "SOL-PERP", "--books", "--db", str(db)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            until(lambda: fake.subscribed >= 2, 60)  # candles and books
            until(lambda: fake.count_type("metaAndAssetCtxs") >= 1)  # a market snapshot
            assert fake.push_book("SOL") == 1
            fake.push_candle("SOL", 60, forming, c="100.25")
            fake.push_candle("SOL", 60, forming + 60)  # the next bar starts: `forming` closed
            until(lambda: process.stdout.readline().startswith("hyperliquid SOL-PERP candles"),
                  30)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    with FlintStore(db, read_only=True) as store:
        candles = store.query_candles("SOL-PERP", 60, venue="hyperliquid")
        assert candles.timestamps[-1] == forming and candles.closes[-1] == 100.25
        assert len(candles) >= 30  # the half hour before, downloaded first
        [(_, end)] = store.coverage("hyperliquid", "SOL-PERP", "candles", 60)
        assert end == forming + 60
        [book] = store.query_orderbook_snapshots("SOL-PERP", venue="hyperliquid")
        assert len(book.bids) == len(book.asks) == 10
        [snapshot] = store.query_market_snapshots("SOL-PERP", venue="hyperliquid")
        assert snapshot.open_interest == 12345.6 and snapshot.mark_price == 100.5


def test_flint_data_collect_ends_with_the_error_of_a_feed_that_died(tmp_path, bounded):
    bounded(120)
    # the forming hour must stay forming until the bad bar is pushed: not in its last minute
    if time.time() % H > H - 60:
        time.sleep(H - time.time() % H + 0.5)
    forming = int(time.time()) // H * H
    rows = [(t, "100", "101", "99", "100.5", "2.0") for t in range(forming - 48 * H,
                                                                    forming + 2 * H, H)]
    with FakeHyperliquid({("SOL", H): rows}, now=time.time()) as fake:
        (tmp_path / "flint.yaml").write_text("providers:\n  hyperliquid:\n    rate_limit: false\n")
        env = {**os.environ, "FLINT_HYPERLIQUID_API_URL": fake.url, "FLINT_CONFIG": ""}
        db = tmp_path / "live.duckdb"
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "flint"), "data", "collect", "--venue",
             "hyperliquid", "--market", "SOL-PERP", "--resolution", str(H), "--db", str(db)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            until(lambda: fake.subscribed >= 1, 60)
            fake.push_candle("SOL", H, forming, h="1", l="200")  # a bar the store refuses
            fake.push_candle("SOL", H, forming + H)  # the next starts: the bad one closed
            out, err = process.communicate(timeout=30)  # ends by itself, no Ctrl-C
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 1, out + err
    assert "the SOL-PERP feed stopped: InvalidRowError: " in err, err
    assert "high 1.0 is below low 200.0; nothing from this batch was written" in err
    assert "stored 0 closed candle(s) live" in out  # the feeds stopped, the store closed
    with FlintStore(db, read_only=True) as store:  # the bars downloaded first are kept
        candles = store.query_candles("SOL-PERP", H, venue="hyperliquid")
        assert candles.timestamps[-1] == forming - H
