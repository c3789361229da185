"""Hyperliquid's venue preset.

Fees are the base tier (14-day volume under $5M, no staking or referral discount) of
Hyperliquid's published perpetuals fee schedule as of 2025: 0.045% taker, 0.015% maker.
"""

from flint_core.venues import VenueConfig

HYPERLIQUID = VenueConfig(
    name="hyperliquid",
    taker_fee_bps=4.5,
    maker_fee_bps=1.5,
    initial_margin=0.05,
    maintenance_margin=0.025,
    max_leverage=20,
    liquidation_penalty=0.01,
    impact_coefficient=0.005,
    base_latency_s=1.0,
    latency_jitter_s=0.5,
    funding_interval_s=3600,
    description="Hyperliquid perpetuals (USDC margined): hourly funding, on-chain order book.",
    fee_schedule="https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees, perps base "
    "tier (14-day volume under $5M, no staking or referral discount) as of 2025: "
    "0.045% taker, 0.015% maker",
)
