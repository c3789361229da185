import pytest

from flint.plugins import make_host


def test_hyperliquid_preset_fees_margins_and_funding():
    config = make_host(load=["hyperliquid"]).registry("venue_configs").get("hyperliquid")
    # $10k taker notional costs $3.50 on Hyperliquid
    assert 10_000 * config.taker_fee_rate == pytest.approx(3.5)
    assert config.max_leverage == 20
    assert config.maintenance_margin == 0.025
    assert config.funding_interval_s == 3600
