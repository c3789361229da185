"""A venue's costs and risk limits as plain floats, the form the compiled kernel reads.

Built once per venue from its :class:`~flint_core.venues.VenueConfig` (an attrs class
the kernel does not read per fill).
"""

from typing import Final

from flint_core.venues import VenueConfig


class VenueTerms:
    """Fees, margins, impact and latency of one venue.

    Fee rates are fractions of notional (a negative maker rate is a rebate); margins
    and the liquidation penalty are fractions of notional.
    """

    def __init__(
        self,
        name: str,
        taker_rate: float,
        maker_rate: float,
        initial_margin: float = 0.10,
        maintenance_margin: float = 0.05,
        max_leverage: float = 10.0,
        liquidation_penalty: float = 0.01,
        impact_coefficient: float = 0.005,
        base_latency_s: float = 0.0,
        latency_jitter_s: float = 0.0,
        funding_interval_s: int = 3600,
    ) -> None:
        self.name: Final = name
        self.taker_rate: Final = taker_rate
        self.maker_rate: Final = maker_rate
        self.initial_margin: Final = initial_margin
        self.maintenance_margin: Final = maintenance_margin
        self.max_leverage: Final = max_leverage
        self.liquidation_penalty: Final = liquidation_penalty
        self.impact_coefficient: Final = impact_coefficient
        self.base_latency_s: Final = base_latency_s
        self.latency_jitter_s: Final = latency_jitter_s
        self.funding_interval_s: Final = funding_interval_s

    def __repr__(self) -> str:
        return (
            f"VenueTerms({self.name}: taker {self.taker_rate * 1e4:g} bps, "
            f"maker {self.maker_rate * 1e4:g} bps)"
        )


def terms_from_config(
    config: VenueConfig,
    taker_rate: float | None = None,
    maker_rate: float | None = None,
) -> VenueTerms:
    """The terms of ``config``, optionally with its fee rates replaced."""
    return VenueTerms(
        config.name,
        config.taker_fee_rate if taker_rate is None else taker_rate,
        config.maker_fee_rate if maker_rate is None else maker_rate,
        config.initial_margin,
        config.maintenance_margin,
        config.max_leverage,
        config.liquidation_penalty,
        config.impact_coefficient,
        config.base_latency_s,
        config.latency_jitter_s,
        config.funding_interval_s,
    )
