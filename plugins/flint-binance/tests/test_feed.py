"""The live candle feed (REST polling) against the fake Binance USD-M: closed bars once, in
order, through 5xx, 429, dropped connections and a venue that stops publishing."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flint_binance.provider import BinanceProvider
from flint_binance.testing import FakeBinance
from flint_binance.testing.fake import _read_rows

from flint.store import FlintStore
from flint.testing.feeds import PollingFeedContract
from flint.testing.venues import FAST_RETRY


class TestBinanceFeed(PollingFeedContract):
    @pytest.fixture(autouse=True)
    def _fake(self, fake_data, bounded):
        bounded(60)
        self.data = fake_data
        with FakeBinance.from_data(fake_data, symbols=("SOLUSDT",)) as fake:
            self.fake = fake
            yield

    def make_provider(self):
        return BinanceProvider(self.fake.url, rate_limit=False, retry=FAST_RETRY,
                               clock=lambda: self.fake.now)

    def bars(self):
        return [(int(r[0]), float(r[4]))
                for r in _read_rows(self.data / "binance-SOLUSDT-3600.csv")]


def test_flint_data_collect_polls_binance_until_ctrl_c(tmp_path, bounded):
    bounded(240)
    # The bar forming when flint starts; the next one when this one closes too soon for
    # flint to start first (else the catch-up download, not the feed, would store it).
    forming = int(time.time() + 25) // 60 * 60
    rows = [(t, "100", "101", "99", "100.5", "2.0") for t in range(forming - 1800, forming, 60)]
    rows.append((forming, "100", "101", "99", "100.25", "2.0"))
    with FakeBinance({("SOLUSDT", 60): rows}, now=time.time(), forming=True) as fake:
        (tmp_path / "flint.yaml").write_text("providers:\n  binance:\n    rate_limit: false\n")
        env = {**os.environ, "FLINT_BINANCE_API_URL": fake.url, "FLINT_CONFIG": ""}
        db = tmp_path / "live.duckdb"
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "flint"), "data", "collect", "--venue",
             "binance", "--market", "SOL-PERP", "--db", str(db)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stop = threading.Event()

        def venue_clock() -> None:  # the venue's clock is the real one
            while not stop.wait(0.05):
                fake.now = time.time()

        threading.Thread(target=venue_clock, daemon=True).start()
        try:
            for line in process.stdout:  # until the feed stores the bar that was forming
                if line.startswith("binance SOL-PERP candles") and "close 100.25" in line:
                    break
        finally:
            stop.set()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    with FlintStore(db, read_only=True) as store:
        candles = store.query_candles("SOL-PERP", 60, venue="binance")
        assert candles.timestamps[-1] == forming and candles.closes[-1] == 100.25
        assert list(candles.timestamps) == list(range(forming - 1800, forming + 60, 60))
        [(_, end)] = store.coverage("binance", "SOL-PERP", "candles", 60)
        assert end == forming + 60
        [snapshot] = store.query_market_snapshots("SOL-PERP", venue="binance")
        assert (snapshot.mark_price, snapshot.open_interest) == (100.25, 12345.6)
