"""Venue presets of the centralised exchanges this plugin reaches through CCXT.

Columns: taker and maker fee (bps), initial and maintenance margin, max leverage,
square-root impact coefficient, base latency and jitter (s), funding interval (s).

Fees are each exchange's lowest-volume (regular user) tier for perpetual swaps, paid in
the quote currency without token discounts. Only Binance's are checked against its
published schedule (:data:`FEE_SCHEDULES`); the others are the upstream project's
figures, whose source and date are not in this project's references: override them in
flint.yaml (``venues.<name>.taker_fee_bps`` / ``maker_fee_bps``) with the rates you pay.
"""

from flint_core.venues import VenueConfig

_EIGHT_HOURS = 8 * 3600
_ONE_HOUR = 3600

#        name        taker maker   IM     MM   lev    k     lat   jit  funding
_PRESETS = [
    ("binance",   5.0, 2.0, 0.02, 0.01, 50, 0.002, 0.20, 0.10, _EIGHT_HOURS),
    ("okx",       5.0, 2.0, 0.02, 0.01, 50, 0.003, 0.30, 0.15, _EIGHT_HOURS),
    ("bybit",     5.5, 2.0, 0.02, 0.01, 50, 0.003, 0.30, 0.15, _EIGHT_HOURS),
    ("dydx",      5.0, 1.0, 0.05, 0.03, 20, 0.006, 2.00, 1.00, _ONE_HOUR),
    ("coinbase",  6.0, 4.0, 0.10, 0.05, 10, 0.003, 0.15, 0.05, _ONE_HOUR),
    ("kraken",    4.0, 1.6, 0.02, 0.01, 50, 0.004, 0.30, 0.10, _ONE_HOUR),
    ("kucoin",    6.0, 2.0, 0.02, 0.01, 50, 0.004, 0.30, 0.15, _EIGHT_HOURS),
    ("gate",      7.5, 3.5, 0.02, 0.01, 50, 0.005, 0.30, 0.15, _EIGHT_HOURS),
    ("bitget",    6.0, 2.0, 0.02, 0.01, 50, 0.003, 0.30, 0.15, _EIGHT_HOURS),
    ("mexc",      0.0, 0.0, 0.02, 0.01, 50, 0.006, 0.30, 0.15, _EIGHT_HOURS),
    ("htx",       5.0, 2.0, 0.02, 0.01, 50, 0.005, 0.30, 0.15, _EIGHT_HOURS),
]

#: Where each preset's fees come from (see the module docstring).
FEE_SCHEDULES = {
    "binance": "https://www.binance.com/en/support/faq/"
    "binance-futures-fee-structure-fee-calculations-360033544231, USDⓈ-M perpetuals, "
    "regular tier paid in USDT, as of 2025: 0.05% taker, 0.02% maker",
}
_UNVERIFIED = (
    "not verified: the upstream project's figures for {name}; the exchange's published "
    "schedule and its date are not in this project's references"
)

VENUES: dict[str, VenueConfig] = {
    name: VenueConfig(
        name=name,
        taker_fee_bps=taker,
        maker_fee_bps=maker,
        initial_margin=im,
        maintenance_margin=mm,
        max_leverage=lev,
        liquidation_penalty=0.01,
        impact_coefficient=k,
        base_latency_s=latency,
        latency_jitter_s=jitter,
        funding_interval_s=funding,
        description=f"{name} perpetual swaps through CCXT "
        f"({funding // 3600} h funding, {taker} / {maker} bps taker / maker).",
        fee_schedule=FEE_SCHEDULES.get(name, _UNVERIFIED.format(name=name)),
    )
    for name, taker, maker, im, mm, lev, k, latency, jitter, funding in _PRESETS
}
