"""funding_arb live across the fake Hyperliquid and the fake Binance, through the
router, then parity of the session's recorded inputs against the backtest.

Both fakes serve real SOL candles and funding from ``FLINT_TEST_DATA``; the data
clock moves one bar as soon as the session has run the last, and the test plays the
venues' market: before each bar runs, each fake's mark moves to its own close and it
settles the funding due in the bar (as the backtest does, at the same point). Orders
go through the real SDKs to the fakes (both live opt-ins given: ``dry_run=False`` on
testnet-style fakes). Parity then replays the recording: the strategy's orders bar
by bar, the fills, positions, cash and funding must match.
"""

import secrets
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("flint_strategies")
pytest.importorskip("flint_hyperliquid")
pytest.importorskip("flint_binance")

from click.testing import CliRunner
from eth_account import Account
from flint_binance.live import KEY_VAR as BINANCE_KEY
from flint_binance.live import SECRET_VAR as BINANCE_SECRET
from flint_binance.testing.fake import FakeBinance
from flint_hyperliquid.adapter import KEY_VAR as HL_KEY
from flint_hyperliquid.testing import FakeHyperliquid
from flint_hyperliquid.testing.fake import _read_rows

from flint.backtest.parity import compare_live_session
from flint.cli.main import cli
from flint.config import FlintConfig
from flint.execution.multi_venue_live import MultiVenueLiveContext
from flint.live.feed import VenueFeeds
from flint.live.journal import OrderJournal
from flint.live.risk_settings import risk_engine, risk_settings
from flint.live.session import LiveConfig, LiveSession, read_recording
from flint.paper.feed import ProviderFeed
from flint.plugins import get_data_provider, get_execution_context
from flint.store import FlintStore
from flint.strategy import FundingArbStrategy

H = 3600
WARMUP, BARS = 50, 300
PARAMS = {"min_spread_bps": 1.0, "exit_spread_bps": 0.5, "max_hold_hours": 12.0,
          "position_size_usd": 1000.0, "min_spread_duration": 1.0}


def _closes(path: Path) -> dict[int, float]:
    return {int(r[0]): float(r[4]) for r in _read_rows(path)}


@pytest.fixture
def venues(flint_test_data, tmp_path, monkeypatch):
    """Both fakes on the real data, trading for new accounts; the period both cover."""
    data = flint_test_data
    files = ("hyperliquid-SOL-3600.csv", "hyperliquid-SOL-funding.csv",
             "binance-SOLUSDT-3600.csv", "binance-SOLUSDT-funding.csv")
    missing = [f for f in files if not (data / f).is_file()]
    if missing:
        pytest.skip(f"no {', '.join(missing)} in {data}")
    hl, bn = _closes(data / files[0]), _closes(data / files[2])
    common = sorted(set(hl) & set(bn))
    needed = WARMUP + BARS + 60  # room to end flat
    runs = [common[i:i + needed] for i in range(len(common) - needed, -1, -1)
            if common[i + needed - 1] - common[i] == (needed - 1) * H]
    if not runs:
        pytest.skip(f"no {needed} consecutive hours both venues have in {data}")
    period = runs[0]
    # the venue's rates are the backtest's: Hyperliquid's fake charges 3.5 bps taker
    (tmp_path / "flint.yaml").write_text("venues:\n  hyperliquid:\n    taker_fee_bps: 3.5\n")
    monkeypatch.chdir(tmp_path)
    hl_key, bn_key, bn_secret = "0x" + secrets.token_hex(32), secrets.token_hex(16), \
        secrets.token_hex(32)
    user = "0x" + secrets.token_hex(20)
    with FakeHyperliquid.from_data(data, coins=("SOL",), candle_window=None) as hl_fake, \
            FakeBinance.from_data(data, symbols=("SOLUSDT",)) as bn_fake:
        exchange = hl_fake.trade(user, [str(Account.from_key(hl_key).address)])
        account = bn_fake.enable_trading(bn_key, bn_secret, data)
        for name, value in ((HL_KEY, hl_key), (BINANCE_KEY, bn_key),
                            (BINANCE_SECRET, bn_secret),
                            ("FLINT_HYPERLIQUID_API_URL", hl_fake.url),
                            ("FLINT_BINANCE_API_URL", bn_fake.url)):
            monkeypatch.setenv(name, value)
        yield {"hl": hl_fake, "bn": bn_fake, "exchange": exchange, "account": account,
               "user": user, "period": period, "closes": {"hyperliquid": hl, "binance": bn},
               "keys": (hl_key, hl_key[2:], bn_key, bn_secret), "tmp": tmp_path}


def _contexts(store, venues, risk, dry_run):
    """The live contexts of both venues, as ``flint live --send`` makes them."""
    hl = get_execution_context(
        "hyperliquid", "live", store=store, network="testnet", dry_run=dry_run,
        risk=risk_engine(risk), url=venues["hl"].url, account_address=venues["user"],
        rate_limit=False, poll_s=0.02)
    bn = get_execution_context(
        "binance", "live", store=store, network="testnet", dry_run=dry_run,
        risk=risk_engine(risk), api_url=venues["bn"].url, markets=["SOL-PERP"])
    return MultiVenueLiveContext({"hyperliquid": hl, "binance": bn}, "hyperliquid")


class Clock:
    """The data clock: a bar closes when the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _run(venues, session_id, *, dry_run=False, bars=BARS, end_flat=True):
    """funding_arb live on both fakes for ``bars`` bars (then until flat, at most 55
    more, with ``end_flat``): the store, the session, its context and the funding the
    venues charged."""
    period = venues["period"]
    store = FlintStore(venues["tmp"] / f"{session_id}.duckdb")
    clock = Clock(period[WARMUP])  # the last warm-up bar has just closed
    feeds = VenueFeeds({
        venue: ProviderFeed(get_data_provider(venue, clock=clock, rate_limit=False),
                            "SOL-PERP", H, venue=venue, clock=clock)
        for venue in ("hyperliquid", "binance")})
    for venue in ("hyperliquid", "binance"):  # the warm-up, as `flint data download` stores it
        store.upsert_candles(feeds.feeds[venue].provider.fetch_candles(
            "SOL-PERP", H, period[0], period[WARMUP - 1], venue=venue))
    risk = risk_settings(FlintConfig())
    config = LiveConfig("funding_arb", ["hyperliquid", "binance"], "SOL-PERP", H, PARAMS,
                        WARMUP, network="testnet", dry_run=dry_run, risk=risk)
    session = LiveSession.open(store, config, FundingArbStrategy(**PARAMS), session=session_id,
                               feed=feeds)
    session.ctx = ctx = _contexts(store, venues, risk, dry_run)
    exchange, account = venues["exchange"], venues["account"]
    paid: dict[str, float] = defaultdict(float)
    session.start()
    try:
        while session.bars < bars or (end_flat and ctx.positions and session.bars < bars + 55):
            clock.now += H
            for step in feeds.closed_bars(session.last_ts):
                for venue, candle in step.candles.items():  # the venues' market moves
                    if venue == "hyperliquid":
                        exchange.set_mark("SOL", candle.close)
                    else:
                        account.set_mark("SOLUSDT", candle.close)
                due = feeds.settlements(step.ts, step.ts + H)
                for rate in due:  # and they settle the funding due in the bar
                    price = (rate.oracle_price or rate.mark_price
                             or step.candles[rate.source].close)
                    if rate.source == "hyperliquid":
                        paid["hyperliquid"] += exchange.settle_funding("SOL", rate.rate, price)
                    else:
                        paid["binance"] += float(account.settle_funding("SOLUSDT", rate.rate,
                                                                        price))
                session.step(step, due)
        session.end()
    finally:
        session.close()
    return store, session, ctx, paid


def test_funding_arb_runs_live_on_both_fakes_and_replays_exactly(venues, bounded):
    bounded(120)
    store, session, ctx, venue_paid = _run(venues, "farb")
    exchange, account = venues["exchange"], venues["account"]
    assert session.bars >= BARS and not ctx.positions, "the session must end flat"
    assert exchange.position("SOL") == 0.0
    assert float(account.positions.get("SOLUSDT", [0, 0])[0]) == 0.0
    last = {venue: c.current_candle for venue, c in ctx.contexts.items()}
    assert last["hyperliquid"].ts == last["binance"].ts  # each venue marked from its own bar
    for venue, candle in last.items():
        assert candle.venue == venue
        assert candle.close == venues["closes"][venue][candle.ts]

    recording = read_recording(store, "farb")
    assert len(recording.steps) == session.bars and recording.segments == 1
    assert recording.config["risk"] == risk_settings(FlintConfig())
    placed = [p for step in recording.steps for p in step.placed]
    on = {venue: sum(1 for v, _ in placed if v == venue) for venue in ("hyperliquid",
                                                                       "binance")}
    assert on["hyperliquid"] >= 4 and on["binance"] >= 4, on  # pairs opened and closed
    assert len(exchange.submitted) == on["hyperliquid"]  # each order reached the venue once
    assert len(venues["bn"].submissions()) == on["binance"]

    report = compare_live_session(store, "farb", FundingArbStrategy(**PARAMS))
    assert report.exact, report.summary()
    assert report.paper_intents == report.backtest_intents
    assert {ts: [f[:3] for f in fills] for ts, fills in report.paper_fills.items()} == {
        ts: [f[:3] for f in fills] for ts, fills in report.backtest_fills.items()}
    assert sum(map(len, report.paper_fills.values())) >= on["hyperliquid"] + on["binance"]
    assert report.paper_equity == pytest.approx(report.backtest_equity, abs=1e-6)
    assert report.backtest_funding.keys() <= venue_paid.keys()
    for venue, paid in venue_paid.items():  # what the venues charged, the backtest charged
        assert report.backtest_funding.get(venue, 0.0) == pytest.approx(paid, abs=1e-6)
    assert any(venue_paid.values())

    other = compare_live_session(store, "farb", FundingArbStrategy(
        **{**PARAMS, "min_spread_bps": 2.0}))  # another strategy does not replay it
    assert not other.exact and "order intents" in other.divergence
    store.close()
    done = CliRunner().invoke(cli, ["live", "parity", "farb", "--db",
                                    str(venues["tmp"] / "farb.duckdb")])
    assert done.exit_code == 0 and done.output.startswith("parity exact: "), done.output


def test_a_dry_run_reaches_no_order_endpoint(venues, bounded):
    bounded(60)
    store, session, ctx, _ = _run(venues, "dry", dry_run=True, bars=40, end_flat=False)
    assert venues["exchange"].submitted == [] and venues["bn"].submissions() == []
    assert not ctx.positions and session.status == "ended"
    text = "\n".join(str(e) for account in store.live_accounts()
                     for e in OrderJournal(store, account).events())
    assert "dry run" in text
    for secret in venues["keys"]:
        assert secret not in text
    store.close()


def test_venue_fills_give_each_venue_only_its_own_fills():
    from flint.backtest.parity import VenueFills
    from flint_core.records import Candle

    ts = 3600
    fills = VenueFills({("hyperliquid", ts): [(1, 100.0, 1.0)]})
    fills.reset()

    def bar(venue):
        return Candle(ts, 1.0, 1.0, 1.0, 1.0, 1.0, "SOL-PERP", 3600, venue)

    refused = fills.quote(1, 1.0, 99.0, bar("binance"), None, None)  # binance filled nothing
    assert refused.size == 0.0
    taken = fills.quote(1, 1.0, 99.0, bar("hyperliquid"), None, None)
    assert (taken.price, taken.size) == (100.0, 1.0)
    assert fills.quote(1, 1.0, 99.0, bar("hyperliquid"), None, None).size == 0.0  # used once
