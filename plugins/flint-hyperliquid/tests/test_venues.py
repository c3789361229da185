import pytest

from flint.plugins import make_host


def test_hyperliquid_preset_fees_margins_and_funding():
    config = make_host(load=["hyperliquid"]).registry("venue_configs").get("hyperliquid")
    # base tier: $10k taker notional costs $4.50, maker $1.50
    assert 10_000 * config.taker_fee_rate == pytest.approx(4.5)
    assert 10_000 * config.maker_fee_rate == pytest.approx(1.5)
    assert config.max_leverage == 20
    assert config.maintenance_margin == 0.025
    assert config.funding_interval_s == 3600


def test_hyperliquid_preset_cites_the_published_fee_schedule_and_its_date():
    config = make_host(load=["hyperliquid"]).registry("venue_configs").get("hyperliquid")
    assert "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees" in config.fee_schedule
    assert "2025" in config.fee_schedule
    assert "0.045% taker, 0.015% maker" in config.fee_schedule
