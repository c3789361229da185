"""The risk settings a session trades with, stored with it.

A paper or live session keeps the flint.yaml risk settings it started with
(:func:`risk_settings`) in its journal, so its resume and its parity replay build the
same guards (:func:`risk_engine`) whatever flint.yaml says by then.
"""

from typing import Any

import attrs

from flint.config import FlintConfig
from flint.risk.engine import RiskEngine

#: The FlintConfig fields :func:`flint.risk.guards.engine_from_config` reads.
RISK_FIELDS = (
    "risk_max_notional_per_order", "risk_max_position_notional", "risk_max_leverage",
    "risk_price_band_pct", "risk_max_mark_age_s", "risk_daily_loss_limit",
    "max_open_trades", "max_drawdown_pct", "live_max_orders_per_minute",
    "live_per_market_position_limits",
)


def risk_settings(config: FlintConfig) -> dict[str, Any]:
    """The risk settings of ``config``, JSON-able."""
    settings = {name: getattr(config, name) for name in RISK_FIELDS}
    settings["live_per_market_position_limits"] = dict(
        settings["live_per_market_position_limits"])
    return settings


def risk_engine(settings: dict[str, Any], initial_capital: float | None = None) -> RiskEngine:
    """A risk engine with the guards of stored ``settings`` (see :func:`risk_settings`)."""
    from flint.risk.guards import engine_from_config

    unknown = sorted(set(settings) - set(RISK_FIELDS))
    if unknown:
        raise ValueError(f"unknown risk settings: {', '.join(unknown)}")
    return engine_from_config(attrs.evolve(FlintConfig(), **settings), initial_capital)
