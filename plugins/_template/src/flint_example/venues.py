"""The example venue's preset."""

from flint.plugins import VenueConfig

EXAMPLE_VENUE = VenueConfig(
    name="example",
    taker_fee_bps=5.0,
    maker_fee_bps=1.0,
    initial_margin=0.10,
    maintenance_margin=0.05,
    max_leverage=10,
    impact_coefficient=0.005,
    base_latency_s=0.5,
    latency_jitter_s=0.25,
    funding_interval_s=3600,
    description="An example venue: replace it with the venue your plugin trades on.",
    fee_schedule="not a real venue: give the URL of your venue's published fee schedule, "
    "the tier the fees are from and the date you read it",
)
