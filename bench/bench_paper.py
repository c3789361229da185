"""Paper and live overheads: order latency to the wire, and the cost of a paper bar.

    python bench/bench_paper.py            # --orders 300 --bars 300 --data ../shared/data

1. **Order to the wire**: a :class:`~flint.execution.live_base.LiveExecutionContext`
   over the simulated venue (:class:`~flint.testing.sim_venue.SimVenue` on
   127.0.0.1, through :class:`~flint.testing.sim_adapter.SimAdapter`) with its journal
   in a store file: from the moment the strategy's order call starts to the moment the
   request's first byte is written to the socket, so the risk check, the write-ahead
   journal append (on disk before the send) and building and signing the request are
   in it. Then the same through each installed venue plugin's adapter and its fake
   (the venue SDK's request building and signing added), and from ``on_candle``
   returning a v1 signal in a live session (:class:`~flint.live.session.LiveSession`)
   to its first order's first byte (the session turning the signal into orders added).
2. **A paper bar**: :meth:`flint.paper.session.PaperSession.step` on real hourly SOL
   candles with a store file: a strategy that never trades (the floor: the bar and
   the venue's change are one journal write) and a v1 crossing strategy that
   trades every few bars; each also without the time of the strategy's own
   ``on_candle`` (what paper trading adds around the strategy).
3. **One journal append** (one event into the write-ahead file, synced to disk):
   the floor under both; and **one mirror round** (the background copy of a bar's
   journal batches into DuckDB, off the order path).

Between two samples the journal's background copy into DuckDB is drained and its
thread left idle (outside the timing), as between two bars of a live or paper
session (the copy starts 50 ms after a bar's first append), so a sample is the order
path or the bar alone; the copy's own cost is the "mirror round" line.
Medians and 99th percentiles of wall time and of the process's CPU time (which other
jobs on a shared machine do not inflate; the wait for the disk is not in it).
"""

import argparse
import contextlib
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from flint.execution.live_base import LiveExecutionContext
from flint.indicators import sma
from flint.live.journal import Event, Kind, OrderJournal
from flint.live.session import LiveConfig, LiveSession
from flint.models import Candle, Side, Signal
from flint.paper.session import PaperConfig, PaperSession
from flint.providers.files import FileProvider
from flint.store import FlintStore
from flint.store.journal_log import MIRROR_DELAY_S
from flint.testing.live_contracts import VenueHarness
from flint.testing.sim_harness import SimHarness

H = 3600


def _stats(samples: list[tuple[float, float]]) -> str:
    out = []
    for what, column in (("wall", 0), ("cpu", 1)):
        ms = sorted(s[column] * 1000 for s in samples)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        out.append(f"{what} median {statistics.median(ms):.3f} ms, p99 {p99:.3f} ms")
    return "; ".join(out) + f" (n={len(samples)})"


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _now()
    return wall - start[0], cpu - start[1]


def _settle(store: FlintStore) -> None:
    """Copy the journal into DuckDB and let the mirror thread go idle, as between bars."""
    store.flush_live_journal()
    time.sleep(MIRROR_DELAY_S + 0.01)


class FirstByte:
    """Notes when this thread writes to any socket (whatever HTTP client does it: the
    venue fakes answer from their own threads, which are not counted)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, float]] = []
        self._thread = threading.get_ident()
        self._send, self._sendall = socket.socket.send, socket.socket.sendall

    def __enter__(self) -> "FirstByte":
        def clocked(original):  # type: ignore[no-untyped-def]
            def write(sock, *args):  # type: ignore[no-untyped-def]
                if threading.get_ident() == self._thread:
                    self.sent.append(_now())
                return original(sock, *args)
            return write

        socket.socket.send = clocked(self._send)  # type: ignore[method-assign]
        socket.socket.sendall = clocked(self._sendall)  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.send, socket.socket.sendall = self._send, self._sendall  # type: ignore[method-assign]


def order_to_wire(harness: VenueHarness, orders: int, folder: Path) -> list[tuple[float, float]]:
    """Seconds from the order call to the request's first byte, per order, through the
    harness's adapter to its venue (fake) on 127.0.0.1."""
    store = FlintStore(folder / f"live-{harness.venue}.duckdb")
    ctx = LiveExecutionContext(harness.adapter(), store)
    try:
        ctx.start(background=False)
        ctx.set_mark(harness.market, harness.price)
        samples = []
        with FirstByte() as clock:
            for i in range(orders):
                side = Side.LONG if i % 2 == 0 else Side.SHORT
                _settle(store)
                clock.sent.clear()
                start = _now()
                ctx.market_order(harness.market, side, 1.0)
                samples.append((clock.sent[0][0] - start[0], clock.sent[0][1] - start[1]))
        return samples
    finally:
        ctx.stop()
        store.close()
        harness.close()


def venue_harnesses(data: Path) -> list[VenueHarness]:
    """The venue plugins' fakes that are installed (their SDKs' request building and
    signing are then in the order path)."""
    found: list[VenueHarness] = []
    with contextlib.suppress(ImportError):
        from flint_hyperliquid.testing.harness import HyperliquidHarness
        found.append(HyperliquidHarness(timeout_s=5.0))
    with contextlib.suppress(ImportError):
        from flint_binance.testing.harness import BinanceHarness
        found.append(BinanceHarness(data, timeout_s=5.0))
    return found


class Flip:
    """v1: long, then short, then long... (every signal after the first is a close and
    an open); notes when each ``on_candle`` returns."""

    name = "flip"

    def __init__(self) -> None:
        self.returned = 0.0
        self.bars = 0

    def reset(self) -> None:
        self.bars = 0

    def on_candle(self, candle: object, history: object) -> Signal:
        self.bars += 1
        signal = Signal.BUY if self.bars % 2 else Signal.SELL
        self.returned = time.perf_counter()
        return signal


def live_bar_to_wire(bars: int, data: Path, folder: Path) -> list[float]:
    """Seconds from ``on_candle`` returning a signal to its first order's first byte on
    the wire, in a live session (:class:`~flint.live.session.LiveSession`) on real
    hourly SOL candles, trading on the simulated venue."""
    harness = SimHarness(timeout_s=5.0)
    candles = [Candle(c.ts, c.open, c.high, c.low, c.close, c.volume, harness.market, H,
                      harness.venue)
               for c in FileProvider(data / "hyperliquid-SOL-3600.csv").fetch_candles(
                   "SOL-PERP", H, 0, 2**40)]
    store = FlintStore(folder / "live-session.duckdb")
    store.upsert_candles(candles[:50])
    strategy = Flip()
    config = LiveConfig(strategy.name, [harness.venue], harness.market, H, warmup_bars=50,
                        allow_short=True, dry_run=False)
    session = LiveSession.open(store, config, strategy)
    session.ctx = LiveExecutionContext(harness.adapter(), store)
    samples = []
    try:
        session.start()
        with FirstByte() as clock:
            for bar in candles[50:50 + bars]:
                harness.set_mark(harness.market, bar.close)  # the venue's market moves
                _settle(store)
                clock.sent.clear()
                session.step(bar)
                samples.append(clock.sent[0][0] - strategy.returned)
        return samples
    finally:
        session.stop()
        session.close()
        store.close()
        harness.close()


def journal_append(events: int, folder: Path) -> tuple[list[tuple[float, float]],
                                                       list[tuple[float, float]]]:
    """Seconds of one journal event's append (the floor of both measurements above),
    and of one mirror round copying three such batches into DuckDB."""
    store = FlintStore(folder / "journal.duckdb")
    journal = OrderJournal(store, "bench")
    appends, rounds = [], []
    with store.hold_open():
        for i in range(events):
            start = _now()
            journal.append([Event(Kind.STATE, f"c{i}", "confirmed", {"reason": "bench"})])
            appends.append(_since(start))
            if i % 3 == 2:
                start = _now()
                store.flush_live_journal()
                rounds.append(_since(start))
    store.close()
    return appends, rounds


class Hold:
    """Never trades."""

    name = "hold"

    def reset(self) -> None:
        pass

    def on_candle(self, candle: object, history: object) -> Signal:
        return Signal.HOLD


class Cross:
    """v1: long above the slow average, short below (trades every few bars)."""

    name = "cross"

    def reset(self) -> None:
        pass

    def on_candle(self, candle: object, history: object) -> Signal:
        if len(history) < 25:  # type: ignore[arg-type]
            return Signal.HOLD
        return Signal.BUY if sma(history, 5) > sma(history, 20) else Signal.SELL  # type: ignore[arg-type]


class Timed:
    """``strategy`` with the wall and CPU time of its ``on_candle`` calls added up."""

    def __init__(self, strategy: object) -> None:
        self.strategy = strategy
        self.name = strategy.name  # type: ignore[attr-defined]
        self.spent = (0.0, 0.0)

    def reset(self) -> None:
        self.strategy.reset()  # type: ignore[attr-defined]

    def on_candle(self, candle: object, history: object) -> Signal:
        start = _now()
        signal = self.strategy.on_candle(candle, history)  # type: ignore[attr-defined]
        took = _since(start)
        self.spent = (self.spent[0] + took[0], self.spent[1] + took[1])
        return signal


def paper_bars(strategy: object, bars: int, data: Path, folder: Path,
               warmup: int = 500) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Seconds of :meth:`PaperSession.step` per bar after ``warmup`` stored bars, and the
    same without the time the strategy's ``on_candle`` took (what paper trading adds
    around the strategy)."""
    candles = list(FileProvider(data / "hyperliquid-SOL-3600.csv").fetch_candles(
        "SOL-PERP", H, 0, 2**40))
    # as `flint paper` opens it: appends written, not synced (kill -9 safe, not power-loss)
    timed = Timed(strategy)
    store = FlintStore(folder / f"paper-{timed.name}.duckdb", durable_journal=False)
    if warmup + bars > len(candles):
        raise SystemExit(f"--warmup {warmup} + --bars {bars} is more than the "
                         f"{len(candles)} bars of the data file")
    store.upsert_candles(candles[:warmup])
    config = PaperConfig(timed.name, "hyperliquid", "SOL-PERP", fill_model="close",
                         warmup_bars=warmup, allow_short=True)
    session = PaperSession.create(store, config, timed)
    session.start()
    samples, overhead = [], []
    try:
        for bar in candles[warmup:warmup + bars]:
            _settle(store)
            timed.spent = (0.0, 0.0)
            start = _now()
            session.step(bar)
            took = _since(start)
            samples.append(took)
            overhead.append((took[0] - timed.spent[0], took[1] - timed.spent[1]))
        return samples, overhead
    finally:
        session.close()
        store.close()


def wire(args: argparse.Namespace, folder: Path) -> None:
    """Section 1: order calls to the wire, through each adapter and a live session."""
    print("order call to first byte on the wire:",
          _stats(order_to_wire(SimHarness(timeout_s=5.0), args.orders, folder)))
    for harness in venue_harnesses(args.data):
        print(f"- the same through {harness.venue}'s adapter (its SDK):",
              _stats(order_to_wire(harness, args.orders, folder)))
    live = sorted(1000 * s for s in live_bar_to_wire(args.bars, args.data, folder))
    print(f"live bar, on_candle returning to first byte on the wire: wall median "
          f"{statistics.median(live):.3f} ms, p99 "
          f"{live[min(len(live) - 1, round(0.99 * (len(live) - 1)))]:.3f} ms "
          f"(n={len(live)})")


def paper(args: argparse.Namespace, folder: Path) -> None:
    """Section 2: paper bars, without orders and trading."""
    for label, strategy in (("no orders", Hold()), ("v1 crossing", Cross())):
        whole, overhead = paper_bars(strategy, args.bars, args.data, folder, args.warmup)
        print(f"paper bar, {label}:", _stats(whole))
        print("- the same without on_candle (paper's overhead):", _stats(overhead))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--bars", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=500,
                        help="stored bars a paper session starts with (a longer session)")
    parser.add_argument("--only", choices=("wire", "journal", "paper"),
                        help="run one section only (default: all)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "FLINT_TEST_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "wire"):
            wire(args, folder)
        if args.only in (None, "journal"):
            appends, rounds = journal_append(args.orders, folder)
            print("one journal append alone:", _stats(appends))
            print("one mirror round (3 batches into DuckDB, off the path):", _stats(rounds))
        if args.only in (None, "paper"):
            paper(args, folder)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
