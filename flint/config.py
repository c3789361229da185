"""flint's settings: ``load_config()`` -> :class:`FlintConfig`.

Sources, highest precedence first:

1. environment variables ``FLINT_<FIELD>`` (e.g. ``FLINT_DB_PATH``);
2. a ``.env`` file in the current directory (same names; ``KEY=value`` lines);
3. ``flint.yaml``: the ``path`` argument, else ``$FLINT_CONFIG``, else ``./flint.yaml``
   when present. Nested sections are flattened: ``db.path`` -> ``db_path``,
   ``live.hyperliquid.network`` -> ``live_hyperliquid_network``; a section key that
   names a field by itself also works (``trading.default_markets`` ->
   ``default_markets``). ``venues.<name>.<field>`` overrides the venue presets
   plugins register (see :func:`flint.plugins.get_venue_config`), except keys
   ending in ``_url`` (``venues.hyperliquid.api_url``): those are the venue's
   endpoints (see :mod:`flint.providers.endpoints`), and
   ``providers.<name>.*`` are keyword arguments for that data provider (see
   :func:`flint.plugins.get_data_provider`);
4. the defaults below.

A flint.yaml key flint does not know is ignored with a warning naming the closest
known setting (a typo would otherwise go unnoticed); unknown ``FLINT_*`` variables
are ignored quietly (logged at debug level), since other tools read some of them
(``FLINT_TEST_DATA``, ``FLINT_STRICT_PLUGINS``, ...). A value of the wrong type is
an error naming the key and where it came from. Text values (environment, .env)
are parsed: booleans accept 1/0, true/false, yes/no, on/off; lists are comma
separated or JSON; mappings are JSON (``live_per_market_position_limits`` also
accepts ``MARKET:LIMIT,MARKET:LIMIT``).
"""

import difflib
import json
import logging
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from flint_core.venues import VenueConfig

log = logging.getLogger("flint.config")

ENV_PREFIX = "FLINT_"

#: ``venues.<name>.<key>`` settings ending with this are endpoints (base URLs), read by
#: :func:`flint.providers.endpoints.endpoint_url`; the others override the venue preset.
ENDPOINT_SUFFIX = "_url"

#: Sections of flint.yaml that are kept as mappings rather than flattened.
MAPPING_SECTIONS = ("venues", "providers")


class ConfigError(ValueError):
    """A setting has the wrong type or value; the message names the key and its source."""


def _choice(*allowed: str) -> Any:
    def check(instance: object, attribute: "attrs.Attribute[str]", value: str) -> None:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class FlintConfig:
    """Every setting flint reads, with its default (secrets are left out of ``repr``)."""

    # Storage
    db_path: str = "./data/flint.duckdb"
    # Optuna storage URL shared studies live in (flint optimize / walk-forward --storage)
    optuna_storage: str = attrs.field(default="", repr=False)
    # Trading defaults
    default_markets: tuple[str, ...] = ("SOL-PERP", "BTC-PERP", "ETH-PERP")
    default_fee_rate: float = 0.0005
    default_capital: float = 10_000.0
    # Risk (flint.risk.default_guards; 0 turns a limit off)
    max_drawdown_pct: float = 0.20
    default_stop_loss_pct: float = 0.05
    max_open_trades: int = 5
    risk_max_notional_per_order: float = 0.0
    risk_max_position_notional: float = 0.0
    risk_max_leverage: float = 5.0
    risk_price_band_pct: float = 0.05
    risk_max_mark_age_s: float = 5.0
    risk_daily_loss_limit: float = 0.0
    # Paper trading
    paper_trading_capital: float = 10_000.0
    # Slippage calibration (flint calibrate)
    calibration_min_fills: int = 100
    calibration_drift_threshold_pct: float = 15.0
    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: str = attrs.field(default="", repr=False)
    max_concurrent_backtests: int = 5
    cors_origins: tuple[str, ...] = (
        "http://localhost:5173", "http://localhost:8000",
        "http://127.0.0.1:5173", "http://127.0.0.1:8000",
    )
    # CCXT
    ccxt_exchange: str = "binance"
    ccxt_api_key: str = attrs.field(default="", repr=False)
    ccxt_secret: str = attrs.field(default="", repr=False)
    # Live trading
    live_network: str = attrs.field(default="devnet", validator=_choice("devnet", "mainnet"))
    live_dry_run: bool = False
    live_tick_interval_s: int = 60
    live_on_order_failure: str = attrs.field(
        default="drop", validator=_choice("drop", "retry", "halt")
    )
    live_max_retries: int = 3
    live_kill_switch_drawdown_pct: float = 0.15
    live_max_orders_per_minute: int = 30
    live_per_market_position_limits: dict[str, float] = attrs.field(factory=dict)
    live_hyperliquid_network: str = attrs.field(
        default="testnet", validator=_choice("testnet", "mainnet")
    )
    # Plugin settings (flint.yaml only)
    venues: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    providers: dict[str, dict[str, Any]] = attrs.field(factory=dict)


_FIELDS = {f.name: f for f in attrs.fields(FlintConfig)}
_VENUE_FIELDS = {f.name: f for f in attrs.fields(VenueConfig) if f.name != "name"}


# Parsing values


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {text!r}")


def _parse_limits(text: str) -> Any:
    """JSON object or ``MARKET:LIMIT,MARKET:LIMIT``."""
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped.startswith("{"):
        return json.loads(stripped)
    out = {}
    for part in stripped.split(","):
        market, sep, limit = part.partition(":")
        if not sep:
            raise ValueError(f"expected MARKET:LIMIT pairs or a JSON object, got {text!r}")
        out[market.strip()] = float(limit)
    return out


def _convert(value: Any, kind: Any, from_text: bool, name: str) -> Any:
    """``value`` as type ``kind``; text is parsed when it comes from the environment."""
    origin = typing.get_origin(kind)
    if kind is bool:
        if from_text and isinstance(value, str):
            return _parse_bool(value)
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected a boolean, got {value!r}")
    if kind is int or kind is float:
        if from_text and isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                raise ValueError(f"expected {_article(kind)}, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected {_article(kind)}, got {value!r}")
        if kind is int and not float(value).is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return kind(value)
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"expected text, got {value!r}")
    if origin is tuple:
        if from_text and isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [
                part.strip() for part in text.split(",") if part.strip()
            ]
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        if not all(isinstance(item, str) for item in value):
            raise ValueError(f"expected a list of text, got {value!r}")
        return tuple(value)
    if origin is dict:
        if from_text and isinstance(value, str):
            value = _parse_limits(value) if name == "live_per_market_position_limits" else (
                json.loads(value)
            )
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping, got {value!r}")
        value_type = typing.get_args(kind)[1]
        if value_type is float:
            return {str(k): _convert(v, float, from_text, name) for k, v in value.items()}
        return {str(k): v for k, v in value.items()}
    raise TypeError(f"unsupported config type {kind!r}")  # pragma: no cover - a field bug


def _article(kind: type) -> str:
    return "an integer" if kind is int else "a number"


# Sources


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[str, Any]]:
    """``{field: (yaml key, value)}`` from nested sections."""
    out: dict[str, tuple[str, Any]] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        flat = dotted.replace(".", "_")
        if not prefix and key in MAPPING_SECTIONS:
            out[key] = (dotted, value)
        elif isinstance(value, Mapping) and flat not in _FIELDS:
            out.update(_flatten(value, dotted + "."))
        elif flat in _FIELDS:
            out[flat] = (dotted, value)
        elif str(key) in _FIELDS:
            out[str(key)] = (dotted, value)
        else:
            out[flat] = (dotted, value)
    return out


def _read_yaml(path: Path) -> dict[str, tuple[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a mapping of settings, not {type(data).__name__}")
    return _flatten(data)


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``#`` comments, ``export`` and quotes allowed)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}, line {number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _from_env(values: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{field: (variable, text)}`` of the ``FLINT_*`` variables."""
    return {
        key[len(ENV_PREFIX):].lower(): (key, value)
        for key, value in values.items()
        if key.startswith(ENV_PREFIX)
    }


def is_endpoint_key(key: str) -> bool:
    """True for a ``venues.<name>.<key>`` setting naming an endpoint (``api_url``, ...)."""
    return key.endswith(ENDPOINT_SUFFIX)


def _check_venues(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: 'venues' must map venue names to settings")
    out: dict[str, dict[str, Any]] = {}
    for venue, overrides in value.items():
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"{where}: venues.{venue} must be a mapping of settings")
        for field, setting in overrides.items():
            key = f"venues.{venue}.{field}"
            if is_endpoint_key(field):
                if not isinstance(setting, str):
                    raise ConfigError(f"{where}: '{key}' must be a URL, got {setting!r}")
                continue
            if field not in _VENUE_FIELDS:
                raise ConfigError(
                    f"{where}: unknown venue setting '{key}'; known: "
                    f"{', '.join(sorted(_VENUE_FIELDS))} and endpoints (*{ENDPOINT_SUFFIX})"
                )
            if _VENUE_FIELDS[field].type in (float, int) and (
                isinstance(setting, bool) or not isinstance(setting, (int, float))
            ):
                raise ConfigError(f"{where}: '{key}' must be a number, got {setting!r}")
        out[str(venue)] = dict(overrides)
    return out


def _default_yaml(env: Mapping[str, str]) -> Path | None:
    named = env.get("FLINT_CONFIG")
    if named:
        return Path(named)
    local = Path("flint.yaml")
    return local if local.is_file() else None


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> FlintConfig:
    """Merge the environment, ``.env``, flint.yaml and the defaults (see the module doc).

    ``path`` names the YAML file (it must exist); ``env`` replaces ``os.environ``.
    """
    environ = os.environ if env is None else env
    yaml_path = Path(path) if path is not None else _default_yaml(environ)
    if yaml_path is not None and not yaml_path.is_file():
        raise ConfigError(f"config file {yaml_path} does not exist")
    dotenv = Path(".env")
    layers: list[tuple[str, dict[str, tuple[str, Any]], bool]] = []
    if yaml_path is not None:
        layers.append((str(yaml_path.resolve()), _read_yaml(yaml_path), False))
    if dotenv.is_file():
        layers.append((str(dotenv.resolve()), _from_env(read_dotenv(dotenv)), True))
    layers.append(("the environment", _from_env(environ), True))

    values: dict[str, Any] = {}
    for source, entries, from_text in layers:  # lowest precedence first
        for name, (key, raw) in entries.items():
            where = f"'{key}' in {source}"
            if name == "config":  # FLINT_CONFIG names the YAML file itself
                continue
            field = _FIELDS.get(name)
            if field is None:
                if from_text:
                    log.debug("ignoring unknown setting %s", where)
                else:
                    log.warning("ignoring unknown setting %s; %s", where, _closest(name))
                continue
            if name in MAPPING_SECTIONS:
                if from_text:
                    log.debug("ignoring %s: '%s' can only be set in flint.yaml", where, name)
                    continue
                values[name] = (
                    _check_venues(raw, source) if name == "venues" else _mapping(raw, where)
                )
                continue
            try:
                values[name] = _convert(raw, field.type, from_text, name)
                if field.validator is not None:
                    field.validator(None, field, values[name])
            except (ValueError, json.JSONDecodeError) as exc:
                raise ConfigError(f"invalid value for {name} ({where}): {exc}") from None
    return FlintConfig(**values)


def _closest(name: str) -> str:
    """Which known setting ``name`` (flattened) was probably meant to be."""
    found = difflib.get_close_matches(name, list(_FIELDS), n=1, cutoff=0.6)
    if found:
        return f"the closest known setting is '{found[0]}'"
    return "no known setting is close (see flint.config.FlintConfig)"


def _mapping(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise ConfigError(f"{where} must map names to mappings of settings")
    return {str(k): dict(v) for k, v in value.items()}

