"""Drift's venue preset.

The fees (10 bps taker, a 2 bps maker rebate) are tier 1 of the perpetuals fee schedule
Drift published from 5 December 2022 (docs.drift.trade, "Promotional Fee Schedule") and
what the upstream project used. Drift has changed its schedule since
(https://docs.drift.trade/trading/trading-fees); its current base tier and the date it
took effect are not in this project's references, so these fees are not verified
against today's schedule: override them in flint.yaml (``venues.drift.taker_fee_bps``,
``venues.drift.maker_fee_bps``) with the rates you pay.
"""

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
    fee_schedule="tier 1 of Drift's perpetuals fee schedule published from 2022-12-05 "
    "(docs.drift.trade/promotional-fee-schedule): 10 bps taker, 2 bps maker rebate; NOT "
    "verified against the current schedule (https://docs.drift.trade/trading/trading-fees), "
    "whose base tier and date are not in the project's references",
)
