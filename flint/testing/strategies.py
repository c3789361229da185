"""Hypothesis strategies (data generators, not trading strategies) for flint's records.

    from hypothesis import given
    from flint.testing.strategies import candle_lists, orderbooks, orders

    @given(candle_lists(min_size=30))
    def test_my_indicator_is_finite(bars): ...

Every candle is valid (``low <= open, close <= high``, positive prices, volume >= 0,
sometimes 0); lists and series are consecutive bars of one market, prices a random
walk; books have bids below asks, best first; orders are well formed (positive size,
a positive price for all but market orders).
"""

import math
from typing import Any

from hypothesis import strategies as st

from flint_core.enums import OrderType, Side, TimeInForce
from flint_core.records import Candle, Order, OrderbookLevel, OrderbookSnapshot
from flint_core.series import CandleSeries

__all__ = ["candle_lists", "candle_series", "candles", "orderbooks", "orders", "prices"]


def prices(low: float = 0.01, high: float = 1e6) -> st.SearchStrategy[float]:
    """Positive finite prices between ``low`` and ``high``."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _volumes() -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.floats(0.001, 1e9, allow_nan=False))


@st.composite
def _bar(draw: st.DrawFn, ts: int, reference: float, market: str, resolution_s: int,
         venue: str) -> Candle:
    """A valid bar at ``ts`` whose open and close lie within 10 % of ``reference``."""
    open_ = reference * math.exp(draw(st.floats(-0.1, 0.1)))
    close = reference * math.exp(draw(st.floats(-0.1, 0.1)))
    high = max(open_, close) * (1.0 + draw(st.floats(0.0, 0.05)))
    low = min(open_, close) * (1.0 - draw(st.floats(0.0, 0.05)))
    return Candle(ts, open_, high, low, close, draw(_volumes()), market, resolution_s, venue)


def candles(
    market: str = "TEST-PERP", venue: str = "default", resolution_s: int = 3600
) -> st.SearchStrategy[Candle]:
    """One valid candle at a whole number of ``resolution_s``."""
    return st.tuples(st.integers(0, 10**6), prices(1.0, 1e5)).flatmap(
        lambda drawn: _bar(drawn[0] * resolution_s, drawn[1], market, resolution_s, venue)
    )


@st.composite
def candle_lists(
    draw: st.DrawFn,
    min_size: int = 1,
    max_size: int = 120,
    market: str = "TEST-PERP",
    venue: str = "default",
    resolution_s: int = 3600,
    start_ts: int = 0,
) -> list[Candle]:
    """Consecutive valid bars (``ts = start_ts + i * resolution_s``), a random walk."""
    n = draw(st.integers(min_size, max_size))
    level = draw(prices(1.0, 1e5))
    bars: list[Candle] = []
    for i in range(n):
        bar = draw(_bar(start_ts + i * resolution_s, level, market, resolution_s, venue))
        bars.append(bar)
        level = bar.close
    return bars


def candle_series(
    min_size: int = 1, max_size: int = 120, **options: Any
) -> st.SearchStrategy[CandleSeries]:
    """:func:`candle_lists` as a :class:`~flint_core.series.CandleSeries`."""
    return candle_lists(min_size, max_size, **options).map(CandleSeries.from_candles)


@st.composite
def orderbooks(
    draw: st.DrawFn,
    market: str = "TEST-PERP",
    venue: str = "default",
    ts: int = 0,
    max_levels: int = 10,
) -> OrderbookSnapshot:
    """A book around a random mid: bids strictly below asks, each side best first,
    sizes > 0; either side may be empty."""
    mid = draw(prices(1.0, 1e5))

    def side(sign: int) -> list[OrderbookLevel]:
        steps = draw(st.lists(st.floats(1e-4, 0.01), max_size=max_levels))
        sizes = draw(st.lists(st.floats(1e-3, 1e6), min_size=len(steps), max_size=len(steps)))
        levels, distance = [], 0.0
        for step, size in zip(steps, sizes, strict=True):
            distance += step
            levels.append(OrderbookLevel(mid * (1.0 + sign * distance), size))
        return levels

    return OrderbookSnapshot(market, ts, tuple(side(-1)), tuple(side(1)), 0, venue)


@st.composite
def orders(
    draw: st.DrawFn, market: str = "TEST-PERP", venue: str = "default"
) -> Order:
    """A new order of any type and side: size > 0, a positive limit or trigger price
    except for market orders, any time in force, sometimes reduce-only."""
    kind = draw(st.sampled_from(list(OrderType)))
    price = 0.0 if kind is OrderType.MARKET else draw(prices(1.0, 1e5))
    return Order(
        market, draw(st.sampled_from(list(Side))), kind, draw(st.floats(1e-6, 1e4)), price,
        venue=venue, time_in_force=draw(st.sampled_from(list(TimeInForce))),
        reduce_only=draw(st.booleans()),
    )
