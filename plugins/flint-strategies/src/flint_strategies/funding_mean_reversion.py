"""funding_mean_reversion: fade funding-rate extremes (defi, v2 orders).

Bollinger bands (mean plus and minus ``bb_std`` population standard deviations) of
the ``bb_lookback`` funding rates per hour before the latest one, from the market's
own venue. When flat, a latest rate below the lower band opens a long and one above
the upper band a short, sized ``position_size_pct`` of the equity. A long is closed
once the rate is back at or above the middle, a short at or below it, or either
after ``max_hold_hours``. Needs an execution context (it holds without one).
"""

from typing import Any

from flint.models import Side, Signal
from flint.strategy.base import Strategy

HOUR = 3600


class FundingMeanReversionStrategy(Strategy):
    """Bet that an extreme funding rate returns to its recent mean (v2)."""

    def __init__(
        self,
        bb_lookback: int = 24,
        bb_std: float = 2.0,
        max_hold_hours: float = 12.0,
        position_size_pct: float = 0.5,
    ) -> None:
        if bb_lookback < 2:
            raise ValueError(f"bb_lookback must be >= 2, got {bb_lookback}")
        if not bb_std > 0 or not max_hold_hours > 0:
            raise ValueError(
                f"bb_std and max_hold_hours must be > 0, got {bb_std} and {max_hold_hours}"
            )
        if not 0 < position_size_pct <= 1:
            raise ValueError(f"position_size_pct must be within (0, 1], got {position_size_pct}")
        self.bb_lookback = bb_lookback
        self.bb_std = bb_std
        self.max_hold_hours = max_hold_hours
        self.position_size_pct = position_size_pct
        self._opened_ts: int | None = None

    @property
    def name(self) -> str:
        return "funding_mean_reversion"

    def on_candle(self, candle: Any, history: Any, ctx: Any = None) -> Signal:
        if ctx is None:
            return Signal.HOLD
        market = candle.market
        rates = ctx.get_funding_rates(market, self.bb_lookback + 1)
        held = ctx.position(market)
        if held is None:
            self._opened_ts = None
        elif self._opened_ts is not None and (
            ctx.timestamp - self._opened_ts >= self.max_hold_hours * HOUR
        ):
            ctx.close_position(market)
            return Signal.HOLD
        if len(rates) <= self.bb_lookback:
            return Signal.HOLD
        window = [rate for _, rate in rates[:-1]]
        mean = sum(window) / len(window)
        std = (sum((x - mean) ** 2 for x in window) / len(window)) ** 0.5
        latest = rates[-1][1]
        if held is not None:
            if (held.side == Side.LONG and latest >= mean) or (
                held.side == Side.SHORT and latest <= mean
            ):
                ctx.close_position(market)
            return Signal.HOLD
        size = self.position_size_pct * ctx.account.equity / candle.close
        if not std > 0 or size <= 0:
            return Signal.HOLD
        if latest < mean - self.bb_std * std:
            ctx.market_order(market, Side.LONG, size)
            self._opened_ts = ctx.timestamp
        elif latest > mean + self.bb_std * std:
            ctx.market_order(market, Side.SHORT, size)
            self._opened_ts = ctx.timestamp
        return Signal.HOLD

    def reset(self) -> None:
        self._opened_ts = None

    @classmethod
    def parameters(cls) -> dict[str, dict[str, Any]]:
        return {
            "bb_lookback": {"type": "int", "low": 6, "high": 168, "default": 24, "step": 1},
            "bb_std": {"type": "float", "low": 0.5, "high": 4.0, "default": 2.0},
            "max_hold_hours": {"type": "float", "low": 1.0, "high": 168.0, "default": 12.0},
            "position_size_pct": {"type": "float", "low": 0.05, "high": 1.0, "default": 0.5},
        }
