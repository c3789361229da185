from flint.plugins import make_host


def test_drift_preset_is_registered_with_hourly_funding_and_maker_rebate():
    config = make_host(load=["drift"]).registry("venue_configs").get("drift")
    assert config.funding_interval_s == 3600
    assert config.maker_fee_rate == -0.0002
    assert config.taker_fee_rate == 0.001
    assert (config.base_latency_s, config.latency_jitter_s) == (8.0, 5.0)


def test_drift_preset_cites_its_fee_schedule_and_says_it_is_not_current():
    config = make_host(load=["drift"]).registry("venue_configs").get("drift")
    assert "2022-12-05" in config.fee_schedule
    assert "https://docs.drift.trade/trading/trading-fees" in config.fee_schedule
    assert "NOT verified" in config.fee_schedule
