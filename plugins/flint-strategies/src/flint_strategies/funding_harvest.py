"""funding_harvest: collect funding by taking the side it pays (defi, v2 orders).

Averages the last ``lookback`` funding rates per hour of the market's own venue
(``ctx.get_funding_rates``; positive = longs pay shorts). When flat, an average above
``entry_threshold`` opens a short (shorts are paid) and one below ``-entry_threshold``
a long, each with 90 % of the cash and a stop ``stop_loss_pct`` away. The position is
closed, and its stop cancelled, once the average's size falls below
``exit_threshold``. It decides on at least 3 rates; with no funding data at all after
``WARMUP_BARS`` bars it says so once, as a warning. Needs an execution context.
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy

CASH_FRACTION = 0.9
MIN_RATES = 3
WARMUP_BARS = 48


class FundingHarvestStrategy(Strategy):
    """Hold the side of the perp that receives funding while funding stays rich (v2)."""

    def __init__(
        self,
        entry_threshold: float = 0.00003,
        exit_threshold: float = 0.000005,
        stop_loss_pct: float = 0.05,
        lookback: int = 8,
    ) -> None:
        if not 0 <= exit_threshold <= entry_threshold:
            raise ValueError(
                f"need 0 <= exit_threshold <= entry_threshold, got {exit_threshold} and "
                f"{entry_threshold}"
            )
        if not 0 < stop_loss_pct < 1:
            raise ValueError(f"stop_loss_pct must be within (0, 1), got {stop_loss_pct}")
        if lookback < MIN_RATES:
            raise ValueError(f"lookback must be >= {MIN_RATES}, got {lookback}")
        self.entry_threshold = entry_threshold
        self.exit_threshold = exit_threshold
        self.stop_loss_pct = stop_loss_pct
        self.lookback = lookback
        self._bars_without_funding = 0

    @property
    def name(self) -> str:
        return "funding_harvest"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        rates = ctx.get_funding_rates(market, self.lookback)
        if len(rates) < MIN_RATES:
            if not rates:
                self._bars_without_funding += 1
                if self._bars_without_funding == WARMUP_BARS:
                    ctx.log(f"WARNING: funding_harvest has seen no funding rate of {market} "
                            f"in {WARMUP_BARS} bars; it trades on funding data only")
            return Signal.HOLD
        average = sum(rate for _, rate in rates) / len(rates)
        if ctx.position(market) is not None:
            if abs(average) < self.exit_threshold:
                ctx.cancel_all(market)  # the stop (resting; the close executes regardless)
                ctx.close_position(market)
            return Signal.HOLD
        close = candle.close
        size = CASH_FRACTION * ctx.account.cash / close
        if size <= 0:
            return Signal.HOLD  # no cash left to trade with
        if average > self.entry_threshold:
            ctx.market_order(market, Side.SHORT, size)
            ctx.stop_order(market, Side.LONG, size, close * (1.0 + self.stop_loss_pct))
        elif average < -self.entry_threshold:
            ctx.market_order(market, Side.LONG, size)
            ctx.stop_order(market, Side.SHORT, size, close * (1.0 - self.stop_loss_pct))
        return Signal.HOLD

    def reset(self) -> None:
        self._bars_without_funding = 0

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "entry_threshold": {"type": "float", "low": 0.00001, "high": 0.0005,
                                "default": 0.00003, "log": True},
            "exit_threshold": {"type": "float", "low": 0.0, "high": 0.00001,
                               "default": 0.000005},
            "stop_loss_pct": {"type": "float", "low": 0.01, "high": 0.2, "default": 0.05},
            "lookback": {"type": "int", "low": 3, "high": 48, "default": 8, "step": 1},
        }
