"""VenueFeeds: every venue's own closed bars, aligned by bar time, and their funding."""

import pytest

from flint.live.feed import VenueFeeds
from flint.paper.feed import ProviderFeed
from flint.providers.errors import VenueUnreachable
from flint_core.records import Candle, FundingRate

H = 3600


def _bar(ts: int, venue: str, price: float = 1.0) -> Candle:
    return Candle(ts, price, price, price, price, 1.0, "SOL-PERP", H, venue)


class Listed:
    """A data provider over fixed lists (what a venue has served so far)."""

    def __init__(self, venue: str, bars: list[int], price: float, funding: list[int]) -> None:
        self.candles = [_bar(ts, venue, price) for ts in bars]
        self.funding = [FundingRate("SOL-PERP", ts, 1e-5, source=venue) for ts in funding]

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, venue=None):
        return [c for c in self.candles if start_ts <= c.ts <= end_ts]

    def fetch_funding(self, market, start_ts, end_ts, venue=None):
        return [r for r in self.funding if start_ts <= r.ts <= end_ts]


def _feeds(now, hl_bars, bn_bars, hl_funding=(), bn_funding=()):
    clock = [now]
    providers = {"hyperliquid": Listed("hyperliquid", hl_bars, 100.0, list(hl_funding)),
                 "binance": Listed("binance", bn_bars, 101.0, list(bn_funding))}
    feeds = VenueFeeds({venue: ProviderFeed(p, "SOL-PERP", H, venue=venue,
                                            clock=lambda: clock[0])
                        for venue, p in providers.items()})
    return feeds, clock, providers


def test_each_bar_time_carries_every_venue_own_bar():
    feeds, _, _ = _feeds(10 * H, list(range(0, 9 * H, H)), list(range(0, 9 * H, H)))
    steps = feeds.closed_bars(2 * H)
    assert [s.ts for s in steps] == [3 * H, 4 * H, 5 * H, 6 * H, 7 * H, 8 * H]
    for step in steps:
        assert list(step.candles) == ["hyperliquid", "binance"]  # the first venue's first
        assert step.primary is step.candles["hyperliquid"]
        assert (step.candles["hyperliquid"].close, step.candles["binance"].close) == (
            100.0, 101.0)
        assert {v: c.venue for v, c in step.candles.items()} == {
            "hyperliquid": "hyperliquid", "binance": "binance"}
    assert feeds.closed_bars(8 * H) == []


def test_a_bar_time_waits_for_a_late_venue_and_leaves_out_a_skipped_one():
    feeds, clock, providers = _feeds(6 * H, list(range(0, 5 * H, H)), [0, H, 2 * H])
    assert [s.ts for s in feeds.closed_bars(0)] == [H, 2 * H]  # 3 and 4: Binance may come
    providers["binance"].candles += [_bar(4 * H, "binance"), _bar(5 * H, "binance")]
    clock[0] = 7 * H
    providers["hyperliquid"].candles.append(_bar(5 * H, "hyperliquid"))
    steps = feeds.closed_bars(2 * H)
    assert [(s.ts, sorted(s.candles)) for s in steps] == [
        (3 * H, ["hyperliquid"]),  # Binance has later bars: it skipped this one
        (4 * H, ["binance", "hyperliquid"]), (5 * H, ["binance", "hyperliquid"])]


def test_funding_of_every_venue_oldest_first():
    feeds, _, _ = _feeds(10 * H, [0], [0], hl_funding=[H, 2 * H, 3 * H],
                         bn_funding=[0, 2 * H, 8 * H])
    rates = feeds.settlements(0, 3 * H)
    assert [(r.ts, r.source) for r in rates] == [
        (H, "hyperliquid"), (2 * H, "binance"), (2 * H, "hyperliquid"), (3 * H, "hyperliquid")]


class Broken(Listed):
    """A provider whose candle call fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__("binance", [], 1.0, [])
        self.error = error

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, venue=None):
        raise self.error


def _with_broken_binance(error):
    told: list[str] = []
    feeds = VenueFeeds({
        "hyperliquid": ProviderFeed(Listed("hyperliquid", [0, H], 1.0, []), "SOL-PERP", H,
                                    venue="hyperliquid", clock=lambda: 3 * H),
        "binance": ProviderFeed(Broken(error), "SOL-PERP", H, venue="binance",
                                clock=lambda: 3 * H)}, on_failure=told.append)
    with pytest.raises(type(error)):
        feeds.closed_bars(0)
    return feeds, told


def test_a_venue_error_is_passing_a_broken_feed_is_told():
    feeds, told = _with_broken_binance(VenueUnreachable("binance is down"))
    assert told == [] and feeds.failure == ""  # the loop polls again
    feeds, told = _with_broken_binance(KeyError("t"))  # a bug polling again will not mend
    assert feeds.failure == "the binance feed failed: KeyError: 't'" and told == [feeds.failure]
