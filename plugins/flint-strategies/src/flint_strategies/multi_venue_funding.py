"""multi_venue_funding: harvest funding on the venues' consensus (defi, v2 orders).

For each venue with at least 3 funding rates of the market, the mean of its last
``lookback`` rates per hour (``ctx.get_funding_by_venue``); the consensus is the mean
of those venue means, once at least ``min_venues`` venues qualify. When flat, a
consensus above ``entry_threshold`` opens a short (shorts are paid) and one below
``-entry_threshold`` a long, with 90 % of the cash on the market's default venue; the
position is closed once the consensus's size falls below ``exit_threshold``. A venue's
own rate can be an outlier; the consensus trades only what the market agrees on.
Needs an execution context.
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9
MIN_RATES = 3
WARMUP_BARS = 48


class MultiVenueFundingStrategy(Strategy):
    """Take the side funding pays when the venues agree funding is rich (v2)."""

    def __init__(
        self,
        entry_threshold: float = 0.00003,
        exit_threshold: float = 0.000005,
        lookback: int = 12,
        min_venues: int = 2,
    ) -> None:
        if not 0 <= exit_threshold <= entry_threshold:
            raise ValueError(
                f"need 0 <= exit_threshold <= entry_threshold, got {exit_threshold} and "
                f"{entry_threshold}"
            )
        if lookback < MIN_RATES:
            raise ValueError(f"lookback must be >= {MIN_RATES}, got {lookback}")
        if min_venues < 1:
            raise ValueError(f"min_venues must be >= 1, got {min_venues}")
        self.entry_threshold = entry_threshold
        self.exit_threshold = exit_threshold
        self.lookback = lookback
        self.min_venues = min_venues
        self._bars_short_of_venues = 0

    @property
    def name(self) -> str:
        return "multi_venue_funding"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        means = [
            sum(rate for _, rate in rates) / len(rates)
            for rates in ctx.get_funding_by_venue(market, self.lookback).values()
            if len(rates) >= MIN_RATES
        ]
        if len(means) < self.min_venues:
            self._bars_short_of_venues += 1
            if self._bars_short_of_venues == WARMUP_BARS:
                ctx.log(f"WARNING: multi_venue_funding found funding of {market} on fewer "
                        f"than {self.min_venues} venues on {WARMUP_BARS} bars; it trades on "
                        f"their consensus only")
            return Signal.HOLD
        consensus = sum(means) / len(means)
        size = CASH_FRACTION * ctx.account.cash / candle.close
        if ctx.position(market) is not None:
            if abs(consensus) < self.exit_threshold:
                ctx.close_position(market)
        elif size <= 0:
            pass  # no cash left to trade with
        elif consensus > self.entry_threshold:
            ctx.market_order(market, Side.SHORT, size)
        elif consensus < -self.entry_threshold:
            ctx.market_order(market, Side.LONG, size)
        return Signal.HOLD

    def reset(self) -> None:
        self._bars_short_of_venues = 0

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "entry_threshold": {"type": "float", "low": 0.00001, "high": 0.0005,
                                "default": 0.00003, "log": True},
            "exit_threshold": {"type": "float", "low": 0.0, "high": 0.00001,
                               "default": 0.000005},
            "lookback": {"type": "int", "low": 3, "high": 48, "default": 12, "step": 1},
            "min_venues": {"type": "int", "low": 1, "high": 4, "default": 2, "step": 1},
        }
