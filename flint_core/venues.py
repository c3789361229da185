"""Venue configuration: fees, margins, latency, impact and funding interval of a venue.

Venue plugins register presets through ``flint_register_venue_configs``; user
overrides (``venues.<name>.*`` in flint.yaml) are applied with :meth:`VenueConfig.merged`.
"""

from collections.abc import Mapping
from typing import Any

import attrs

from flint_core import markets


def _non_negative(instance: object, attribute: "attrs.Attribute[float]", value: float) -> None:
    if value < 0:
        raise ValueError(f"venue config '{attribute.name}' must be >= 0, got {value!r}")


def _fraction(instance: object, attribute: "attrs.Attribute[float]", value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"venue config '{attribute.name}' must be within [0, 1], got {value!r}")


@attrs.frozen(kw_only=True)
class VenueConfig:
    """Costs and risk parameters of one venue.

    Fees are in basis points of notional (a negative maker fee is a rebate);
    margins and the liquidation penalty are fractions of notional; ``impact_coefficient``
    is ``k`` of the square-root impact model; latency is ``base ± jitter`` seconds.
    ``fee_schedule`` says where the fees come from: the venue's published schedule and
    the date it was read, or that they are not verified.
    """

    name: str = attrs.field(validator=attrs.validators.min_len(1))
    taker_fee_bps: float = attrs.field(converter=float)
    maker_fee_bps: float = attrs.field(converter=float)
    initial_margin: float = attrs.field(converter=float, validator=_fraction)
    maintenance_margin: float = attrs.field(converter=float, validator=_fraction)
    max_leverage: float = attrs.field(converter=float, validator=_non_negative)
    liquidation_penalty: float = attrs.field(default=0.01, converter=float, validator=_fraction)
    impact_coefficient: float = attrs.field(converter=float, validator=_non_negative)
    base_latency_s: float = attrs.field(converter=float, validator=_non_negative)
    latency_jitter_s: float = attrs.field(converter=float, validator=_non_negative)
    funding_interval_s: int = attrs.field(default=3600, converter=int)
    description: str = ""
    fee_schedule: str = ""

    def __attrs_post_init__(self) -> None:
        if self.maintenance_margin > self.initial_margin:
            raise ValueError(
                f"venue '{self.name}': maintenance_margin {self.maintenance_margin} exceeds "
                f"initial_margin {self.initial_margin}"
            )
        if self.funding_interval_s <= 0:
            raise ValueError(f"venue '{self.name}': funding_interval_s must be > 0")

    @property
    def taker_fee_rate(self) -> float:
        """Taker fee as a fraction of notional."""
        return self.taker_fee_bps / 1e4

    @property
    def maker_fee_rate(self) -> float:
        """Maker fee as a fraction of notional (negative = rebate)."""
        return self.maker_fee_bps / 1e4

    def merged(self, overrides: Mapping[str, Any]) -> "VenueConfig":
        """A copy with ``overrides`` applied; unknown field names raise ``ValueError``."""
        known = {a.name for a in attrs.fields(VenueConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown venue config field(s) for '{self.name}': {', '.join(unknown)}; "
                f"known fields: {', '.join(sorted(known))}"
            )
        return attrs.evolve(self, **dict(overrides))


DEFAULT_VENUE = VenueConfig(
    name=markets.DEFAULT_VENUE,
    taker_fee_bps=5.0,
    maker_fee_bps=0.0,
    initial_margin=0.10,
    maintenance_margin=0.05,
    max_leverage=10,
    liquidation_penalty=0.01,
    impact_coefficient=0.005,
    base_latency_s=1.0,
    latency_jitter_s=0.5,
    funding_interval_s=3600,
    description="Generic venue used when a market names no known venue.",
    fee_schedule="No venue of its own: the backtest charges fee_rate (the seed's flat 5 bps "
    "by default) for maker and taker fills here.",
)
