"""Margin in a backtest: pre-trade checks and liquidations (opt-in).

Pass a :class:`MarginEngine` to :class:`~flint.backtest.engine.BacktestEngine` to turn
margin on. Each account (one shared account, or one per venue with a
:class:`~flint.execution.capital.VenueAllocator`) is cross-margined:

- a fill that adds exposure needs the venue's initial margin on the added notional
  out of the account's free margin (equity minus initial margin in use), and must
  keep the account's notional within the venue's maximum leverage; otherwise the
  order is cancelled and a ``margin_rejected`` warning recorded;
- every bar, a position whose liquidation price (account equity = maintenance
  margin, other positions at their marks) lies within the bar's range is closed at
  that price (or at the open when the bar gapped through it), paying the venue's
  liquidation penalty (a fraction of notional, counted as a fee); its resting orders
  are cancelled (market orders already sent still execute) and a ``liquidation``
  warning recorded.

Known limitation: within one bar the liquidation check runs before resting orders,
so a stop-loss that sits between the open and the liquidation price does not save a
position whose bar also reaches the liquidation price.
"""

from collections.abc import Mapping

from flint_core.margin import liquidation_level
from flint_core.venues import VenueConfig

MARGIN_FIELDS = ("initial_margin", "maintenance_margin", "max_leverage", "liquidation_penalty")


class MarginEngine:
    """Turns margin on; ``venue_configs`` replaces the margin fields of the venues it names.

    Without overrides each venue's own config (fees, margins, leverage, penalty) is used.
    """

    def __init__(self, venue_configs: Mapping[str, VenueConfig] | None = None) -> None:
        configs = dict(venue_configs or {})
        for name, config in configs.items():
            if not isinstance(config, VenueConfig):
                raise TypeError(
                    f"venue_configs['{name}'] must be a VenueConfig, got {type(config).__name__}"
                )
        self.venue_configs = configs

    def apply(self, config: VenueConfig) -> VenueConfig:
        """``config`` with this engine's margin fields for that venue, if it has any."""
        override = self.venue_configs.get(config.name)
        if override is None:
            return config
        return config.merged({name: getattr(override, name) for name in MARGIN_FIELDS})

    @staticmethod
    def liquidation_price(
        entry_price: float, size: float, collateral: float, maintenance_margin: float
    ) -> float:
        """Liquidation price of one position (signed ``size``) backed by ``collateral``.

        0.0 when a long cannot be liquidated (e.g. a 1x long fully backed by cash).
        """
        return liquidation_level(entry_price, size, collateral, maintenance_margin)

    def __repr__(self) -> str:
        return f"MarginEngine(venue_configs={sorted(self.venue_configs)})"
