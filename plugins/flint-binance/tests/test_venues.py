import pytest

from flint.plugins import make_host

EXPECTED_TAKER_BPS = {"binance": 5.0, "okx": 5.0, "bybit": 5.5, "kraken": 4.0, "mexc": 0.0}


def test_ccxt_presets_are_registered_and_provided_by_this_plugin():
    registry = make_host(load=["binance"]).registry("venue_configs")
    for name, taker in EXPECTED_TAKER_BPS.items():
        entry = registry.entry(name)
        assert entry.obj.taker_fee_bps == taker
        assert entry.provenance.dist == "flint-binance"


def test_binance_funds_every_eight_hours():
    config = make_host(load=["binance"]).registry("venue_configs").get("binance")
    assert config.funding_interval_s == 8 * 3600
    # USDⓈ-M regular tier: $10k taker notional costs $5, maker $2
    assert 10_000 * config.taker_fee_rate == pytest.approx(5.0)
    assert 10_000 * config.maker_fee_rate == pytest.approx(2.0)


def test_user_override_merges_over_the_preset():
    config = make_host(load=["binance"]).registry("venue_configs").get("binance")
    tuned = config.merged({"impact_coefficient": 0.004})
    assert tuned.impact_coefficient == 0.004
    assert tuned.taker_fee_bps == config.taker_fee_bps
    with pytest.raises(ValueError, match="unknown venue config field"):
        config.merged({"taker_fee": 1})


def test_every_preset_says_where_its_fees_come_from():
    registry = make_host(load=["binance"]).registry("venue_configs")
    for name in registry.names():
        if registry.entry(name).provenance.dist != "flint-binance":
            continue
        schedule = registry.get(name).fee_schedule
        if name == "binance":
            assert "https://www.binance.com/" in schedule and "2025" in schedule
            assert "0.05% taker, 0.02% maker" in schedule
        else:  # no source in the references: said so, not invented
            assert schedule.startswith("not verified"), (name, schedule)
