from flint.plugins import make_host


def test_drift_preset_is_registered_with_hourly_funding_and_maker_rebate():
    config = make_host(load=["drift"]).registry("venue_configs").get("drift")
    assert config.funding_interval_s == 3600
    assert config.maker_fee_rate == -0.0002
    assert config.taker_fee_rate == 0.001
    assert (config.base_latency_s, config.latency_jitter_s) == (8.0, 5.0)
