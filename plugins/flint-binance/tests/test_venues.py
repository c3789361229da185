import pytest

from flint.plugins import make_host

EXPECTED_TAKER_BPS = {"binance": 4.5, "okx": 5.0, "bybit": 5.5, "kraken": 4.0, "mexc": 0.0}


def test_ccxt_presets_are_registered_and_provided_by_this_plugin():
    registry = make_host(load=["binance"]).registry("venue_configs")
    for name, taker in EXPECTED_TAKER_BPS.items():
        entry = registry.entry(name)
        assert entry.obj.taker_fee_bps == taker
        assert entry.provenance.dist == "flint-binance"


def test_binance_funds_every_eight_hours():
    config = make_host(load=["binance"]).registry("venue_configs").get("binance")
    assert config.funding_interval_s == 8 * 3600
    assert 10_000 * config.taker_fee_rate == pytest.approx(4.5)


def test_user_override_merges_over_the_preset():
    config = make_host(load=["binance"]).registry("venue_configs").get("binance")
    tuned = config.merged({"impact_coefficient": 0.004})
    assert tuned.impact_coefficient == 0.004
    assert tuned.taker_fee_bps == config.taker_fee_bps
    with pytest.raises(ValueError, match="unknown venue config field"):
        config.merged({"taker_fee": 1})
