"""Risk controls shared by backtest, paper and live trading.

- :mod:`flint.risk.engine`: :class:`RiskEngine` (pure accept/deny decisions), the
  trading states and the denial reasons.
- :mod:`flint.risk.guards`: the guards and :func:`default_guards` (from the settings).
- :mod:`flint.risk.monitor`: :class:`EquityMonitor`, the kill switch.
"""

from flint.risk.engine import (
    Exposure,
    Holding,
    Mark,
    OrderIntent,
    Reason,
    RiskDecision,
    RiskEngine,
    RiskGuard,
    RiskView,
    TradingState,
)
from flint.risk.guards import (
    DailyLossLimit,
    MaxDrawdownCircuitBreaker,
    MaxLeverage,
    MaxNotionalPerOrder,
    MaxOpenPositions,
    MaxOrdersPerMinute,
    MaxPositionSize,
    PerMarketPositionLimit,
    PriceBand,
    RiskManager,
    default_guards,
    engine_from_config,
)
from flint.risk.monitor import EquityMonitor

__all__ = [
    "DailyLossLimit", "EquityMonitor", "Exposure", "Holding", "Mark",
    "MaxDrawdownCircuitBreaker", "MaxLeverage", "MaxNotionalPerOrder", "MaxOpenPositions",
    "MaxOrdersPerMinute", "MaxPositionSize", "OrderIntent", "PerMarketPositionLimit",
    "PriceBand", "Reason", "RiskDecision", "RiskEngine", "RiskGuard", "RiskManager",
    "RiskView", "TradingState", "default_guards", "engine_from_config",
]
