"""Drift's venue preset."""

from flint_core.venues import VenueConfig

DRIFT = VenueConfig(
    name="drift",
    taker_fee_bps=10.0,
    maker_fee_bps=-2.0,
    initial_margin=0.10,
    maintenance_margin=0.05,
    max_leverage=10,
    liquidation_penalty=0.01,
    impact_coefficient=0.01,
    base_latency_s=8.0,
    latency_jitter_s=5.0,
    funding_interval_s=3600,
    description="Drift v2 perpetuals on Solana: hourly funding, maker rebate, ~8 s to land.",
)
