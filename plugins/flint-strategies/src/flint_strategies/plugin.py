"""Hook implementations of the flint-strategies plugin: the 20 built-in strategies."""

from flint import hookimpl
from flint_core.registry import Register
from flint_strategies.atr_breakout import ATRBreakoutStrategy
from flint_strategies.basis_trade import BasisTradeStrategy
from flint_strategies.bollinger import BollingerStrategy
from flint_strategies.breakout_momentum import BreakoutMomentumStrategy
from flint_strategies.dual_timeframe import DualTimeframeStrategy
from flint_strategies.ema_crossover import EMACrossoverStrategy
from flint_strategies.funding_arb import FundingArbStrategy
from flint_strategies.funding_harvest import FundingHarvestStrategy
from flint_strategies.funding_mean_reversion import FundingMeanReversionStrategy
from flint_strategies.grid_trader import GridTraderStrategy
from flint_strategies.ma_crossover import MACrossoverStrategy
from flint_strategies.macd_divergence import MACDDivergenceStrategy
from flint_strategies.mean_reversion import MeanReversionStrategy
from flint_strategies.mev_arb_monitor import MevArbMonitor
from flint_strategies.momentum import MomentumStrategy
from flint_strategies.momentum_breakout import MomentumBreakoutStrategy
from flint_strategies.multi_venue_funding import MultiVenueFundingStrategy
from flint_strategies.rsi import RSIStrategy
from flint_strategies.rsi_macd_combo import RSIMACDComboStrategy
from flint_strategies.vwap_reversion import VWAPReversionStrategy

CAPABILITIES = frozenset({"strategies"})

#: name -> (class, category, style): v1 returns signals, v2 places orders through ctx.
BUILTINS = {
    "ma_crossover": (MACrossoverStrategy, "trend", "v1"),
    "ema_crossover": (EMACrossoverStrategy, "trend", "v1"),
    "momentum": (MomentumStrategy, "trend", "v1"),
    "breakout_momentum": (BreakoutMomentumStrategy, "trend", "v1"),
    "momentum_breakout": (MomentumBreakoutStrategy, "trend", "v1"),
    "dual_timeframe": (DualTimeframeStrategy, "trend", "v1"),
    "macd_divergence": (MACDDivergenceStrategy, "trend", "v2"),
    "atr_breakout": (ATRBreakoutStrategy, "trend", "v2"),
    "rsi": (RSIStrategy, "mean-reversion", "v1"),
    "bollinger": (BollingerStrategy, "mean-reversion", "v1"),
    "mean_reversion": (MeanReversionStrategy, "mean-reversion", "v1"),
    "vwap_reversion": (VWAPReversionStrategy, "mean-reversion", "v2"),
    "rsi_macd_combo": (RSIMACDComboStrategy, "multi-signal", "v2"),
    "funding_harvest": (FundingHarvestStrategy, "defi", "v2"),
    "funding_arb": (FundingArbStrategy, "defi", "v2"),
    "funding_mean_reversion": (FundingMeanReversionStrategy, "defi", "v2"),
    "multi_venue_funding": (MultiVenueFundingStrategy, "defi", "v2"),
    "basis_trade": (BasisTradeStrategy, "defi", "v2"),
    "grid_trader": (GridTraderStrategy, "defi", "v2"),
    "mev_arb_monitor": (MevArbMonitor, "monitor", "v2"),
}


@hookimpl
def flint_register_strategies(register: Register) -> None:
    """Register the 20 built-in strategies with their category and style."""
    for name, (cls, category, style) in BUILTINS.items():
        register(name, cls, category=category, style=style)
