import logging

import pytest

from flint.config import ConfigError, FlintConfig, load_config
from flint.plugins import get_venue_config, make_host
from flint_core.venues import DEFAULT_VENUE

YAML = """
db:
  path: /data/from-yaml.duckdb
trading:
  default_markets: [BTC-PERP]
  default_fee_rate: 0.0004
api:
  host: 0.0.0.0
  port: 9000
live:
  dry_run: true
  hyperliquid:
    network: mainnet
ccxt:
  exchange: okx
venues:
  default:
    taker_fee_bps: 3.5
providers:
  file:
    path: ./csv
surprise: 1
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_any_source(in_tmp):
    config = load_config(env={})
    assert config == FlintConfig()
    assert config.db_path == "./data/flint.duckdb"
    assert config.default_markets == ("SOL-PERP", "BTC-PERP", "ETH-PERP")
    assert (config.default_fee_rate, config.default_capital) == (0.0005, 10_000.0)
    assert (config.api_host, config.api_port, config.max_concurrent_backtests) == (
        "127.0.0.1", 8000, 5)
    assert (config.live_network, config.live_dry_run, config.ccxt_exchange) == (
        "devnet", False, "binance")


def test_yaml_sections_are_flattened(in_tmp, caplog):
    (in_tmp / "flint.yaml").write_text(YAML)
    with caplog.at_level(logging.DEBUG, logger="flint.config"):
        config = load_config(env={})
    assert config.db_path == "/data/from-yaml.duckdb"
    assert config.default_markets == ("BTC-PERP",) and config.default_fee_rate == 0.0004
    assert (config.api_host, config.api_port) == ("0.0.0.0", 9000)
    assert config.live_dry_run is True and config.live_hyperliquid_network == "mainnet"
    assert config.ccxt_exchange == "okx"
    assert config.venues == {"default": {"taker_fee_bps": 3.5}}
    assert config.providers == {"file": {"path": "./csv"}}
    assert "surprise" in caplog.text  # unknown keys are ignored, with a warning


def test_unknown_yaml_keys_are_reported_with_the_closest_known_one(in_tmp, caplog):
    (in_tmp / "flint.yaml").write_text(
        "db:\n  pth: x.duckdb\napi_prot: 9000\nsurprise: 1\nlive:\n  dry_rn: true\n"
    )
    with caplog.at_level(logging.WARNING, logger="flint.config"):
        config = load_config(env={"FLINT_TEST_DATA": "elsewhere", "FLINT_API_PROT": "1"})
    assert config == FlintConfig()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 4, warned  # the yaml keys only: FLINT_* may be other tools'
    by_key = {w.split("'")[1]: w for w in warned}
    assert "closest known setting is 'db_path'" in by_key["db.pth"]
    assert "closest known setting is 'api_port'" in by_key["api_prot"]
    assert "closest known setting is 'live_dry_run'" in by_key["live.dry_rn"]
    assert "no known setting is close" in by_key["surprise"]
    assert all("flint.yaml" in w for w in warned)


def test_precedence_env_over_dotenv_over_yaml_over_defaults(in_tmp):
    (in_tmp / "flint.yaml").write_text("api:\n  port: 9000\n  host: yaml-host\ndb:\n  path: y\n")
    (in_tmp / ".env").write_text(
        "# comment\nexport FLINT_API_PORT=9100\nFLINT_DB_PATH='dotenv.duckdb'\nOTHER=1\n"
    )
    config = load_config(env={"FLINT_API_PORT": "9200"})
    assert config.api_port == 9200  # environment
    assert config.db_path == "dotenv.duckdb"  # .env
    assert config.api_host == "yaml-host"  # flint.yaml
    assert config.default_capital == 10_000.0  # default


def test_text_values_are_parsed_by_type(in_tmp):
    config = load_config(env={
        "FLINT_LIVE_DRY_RUN": "yes", "FLINT_DEFAULT_MARKETS": "A-PERP, B-PERP",
        "FLINT_DEFAULT_CAPITAL": "2500.5", "FLINT_CORS_ORIGINS": '["http://x"]',
        "FLINT_LIVE_PER_MARKET_POSITION_LIMITS": "SOL-PERP:50000,BTC-PERP:1e5",
    })
    assert config.live_dry_run is True
    assert config.default_markets == ("A-PERP", "B-PERP")
    assert config.default_capital == 2500.5 and config.cors_origins == ("http://x",)
    assert config.live_per_market_position_limits == {"SOL-PERP": 50_000.0, "BTC-PERP": 1e5}
    json_limits = load_config(env={"FLINT_LIVE_PER_MARKET_POSITION_LIMITS": '{"X": 1}'})
    assert json_limits.live_per_market_position_limits == {"X": 1.0}


def test_wrong_types_name_the_key_and_the_source(in_tmp):
    (in_tmp / "flint.yaml").write_text("api:\n  port: lots\n")
    with pytest.raises(ConfigError, match=r"api_port \('api\.port' in .*flint\.yaml\)"):
        load_config(env={})
    (in_tmp / "flint.yaml").write_text("live:\n  dry_run: 3\n")
    with pytest.raises(ConfigError, match="expected a boolean"):
        load_config(env={})
    (in_tmp / "flint.yaml").unlink()
    with pytest.raises(ConfigError, match=r"'FLINT_MAX_OPEN_TRADES' in the environment.*2\.5"):
        load_config(env={"FLINT_MAX_OPEN_TRADES": "2.5"})
    (in_tmp / ".env").write_text("FLINT_LIVE_NETWORK=moon\n")
    with pytest.raises(ConfigError, match=r"live_network \('FLINT_LIVE_NETWORK' in .*\.env\): "
                                          r"must be one of devnet, mainnet"):
        load_config(env={})


def test_bad_files_are_reported(in_tmp):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(in_tmp / "nope.yaml", env={})
    (in_tmp / "bad.yaml").write_text("api: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml is not valid YAML"):
        load_config(in_tmp / "bad.yaml", env={})
    (in_tmp / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(in_tmp / "list.yaml", env={})
    (in_tmp / "venues.yaml").write_text("venues:\n  binance:\n    taker_fee: 1\n")
    with pytest.raises(ConfigError, match=r"unknown venue setting 'venues\.binance\.taker_fee'"):
        load_config(in_tmp / "venues.yaml", env={})
    (in_tmp / "venues.yaml").write_text("venues:\n  binance:\n    taker_fee_bps: cheap\n")
    with pytest.raises(ConfigError, match="must be a number"):
        load_config(in_tmp / "venues.yaml", env={})
    (in_tmp / ".env").write_text("JUST A LINE\n")
    with pytest.raises(ConfigError, match=r"\.env, line 1: expected KEY=value"):
        load_config(env={})


def test_flint_config_names_the_yaml_file(in_tmp):
    (in_tmp / "custom.yaml").write_text("db:\n  path: custom.duckdb\n")
    assert load_config(env={"FLINT_CONFIG": str(in_tmp / "custom.yaml")}).db_path == "custom.duckdb"


def test_secrets_stay_out_of_repr(in_tmp):
    config = load_config(env={"FLINT_CCXT_SECRET": "hunter2", "FLINT_API_TOKEN": "t0k"})
    assert config.ccxt_secret == "hunter2" and "hunter2" not in repr(config)
    assert "t0k" not in repr(config)


def test_venue_overrides_merge_over_the_plugin_preset(in_tmp):
    (in_tmp / "flint.yaml").write_text(
        "venues:\n  default:\n    taker_fee_bps: 2.5\n    funding_interval_s: 28800\n"
    )
    tuned = get_venue_config("default", load_config(env={}))
    assert tuned.taker_fee_bps == 2.5 and tuned.funding_interval_s == 28800
    assert tuned.maker_fee_bps == DEFAULT_VENUE.maker_fee_bps
    assert get_venue_config("default") == tuned  # config loaded from ./flint.yaml by default
    assert get_venue_config("default", FlintConfig()) == DEFAULT_VENUE
    assert make_host().registry("venue_configs").get("default") == DEFAULT_VENUE
