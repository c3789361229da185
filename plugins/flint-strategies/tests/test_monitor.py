"""mev_arb_monitor logs opportunities and never trades."""

import numpy as np

from flint.models import ArbRoute, Signal
from flint.strategy import MevArbMonitor


def gaps(bars, funding, bps_by_bar, n=40):
    base = np.array([100.0 + ((i % 4) - 1.5) / 3 for i in range(n)])
    rich = base.copy()
    for bar, bps in bps_by_bar.items():
        rich[bar] *= 1 + bps / 10_000
    candles = {"binance:SOL-PERP": bars(base, venue="binance"),
               "hyperliquid:SOL-PERP": bars(rich, venue="hyperliquid")}
    rates = funding([0.0] * n) + funding([0.0] * n, venue="hyperliquid")
    return candles, rates


def test_logs_each_cross_venue_gap_once_when_it_opens(bars, funding, backtest):
    candles, rates = gaps(bars, funding, {10: 20, 11: 25, 12: 22, 20: 30, 30: 5})
    result = backtest(MevArbMonitor(), candles, rates)
    lines = [line for line in result.logs if line.startswith("[")]
    assert len(lines) == 2  # bars 10-12 are one opening, bar 20 another, 5 bps is too little
    assert "buy on binance" in lines[0] and "sell on hyperliquid" in lines[0]
    assert lines[0].endswith("20.0 bps") and lines[1].endswith("30.0 bps")
    assert result.fills == [] and result.total_pnl == 0
    assert not any("arb" in w for w in result.strategy_warnings)


def test_alerts_become_warnings(bars, funding, backtest):
    candles, rates = gaps(bars, funding, {10: 20})
    result = backtest(MevArbMonitor(alert_enabled=True), candles, rates)
    assert [w for w in result.strategy_warnings if "arb SOL-PERP" in w] == [
        "strategy: WARNING: arb SOL-PERP: buy on binance at 100.167, sell on hyperliquid at "
        "100.367: 20.0 bps"
    ]


class RouteContext:
    """A context with an on-chain route finder, and no other venues."""

    def __init__(self, routes):
        self.routes = routes
        self.lines = []

    def get_arb_routes(self, market, max_hops):
        return [r for r in self.routes if len(r.pools) <= max_hops]

    def get_funding_by_venue(self, market=None, lookback=24):
        return {}

    def log(self, message):
        self.lines.append(message)


def test_logs_profitable_routes_when_the_context_finds_them(bars):
    routes = [
        ArbRoute(("p1", "p2"), ("SOL", "USDC", "SOL"), 10.0, 10.02, 0.02, 20.0),
        ArbRoute(("p1", "p3"), ("SOL", "USDT", "SOL"), 10.0, 10.005, 0.005, 5.0),
        ArbRoute(("p1", "p2", "p3", "p4"), ("SOL", "A", "B", "C", "SOL"), 10, 11, 1, 1000.0),
    ]
    ctx = RouteContext(routes)
    candle = bars([100.0])[0]
    assert MevArbMonitor(max_hops=3).on_candle(candle, [], ctx) is Signal.HOLD
    assert ctx.lines == ["arb route SOL -> USDC -> SOL via 2 pools: 20.0 bps"]
    assert MevArbMonitor().on_candle(candle, [], None) is Signal.HOLD
