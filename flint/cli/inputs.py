"""What research commands run on: a strategy (built-in name or file) and stored market data.

Strategy files go through :func:`flint.strategy.loader.load_strategy_class` (validated,
then run in a guarded module). Candles and funding are read from the store opened
read-only, so other processes may write it meanwhile.
"""

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from flint.config import load_config
from flint.models import CandleSeries, FundingRate

if TYPE_CHECKING:
    from flint.store.errors import NoCandlesError

F = TypeVar("F", bound=Callable[..., Any])

DAY = 86_400


@attrs.frozen
class StrategySpec:
    """A strategy class and how to name it in results (``source``: ``builtin`` or a path)."""

    cls: Any
    label: str
    source: str
    code: str | None = None


def resolve_strategy(spec: str, *, trust: bool = False) -> StrategySpec:
    """A built-in strategy by registry name, or the strategy class defined in a ``.py`` file.

    A file's class is a :class:`~flint.strategy.remote.SandboxedStrategy`: its code only
    ever runs in sandboxed children (``trust``: even where the host cannot confine them).
    """
    path = Path(spec)
    if path.suffix == ".py" or path.is_file():
        if not path.is_file():
            raise click.ClickException(f"no strategy file {path}")
        return code_strategy(path.read_text(encoding="utf-8"), path.stem, str(path.resolve()),
                             filename=str(path), trust=trust)
    return builtin_strategy(spec)


def code_strategy(code: str, label: str, source: str, *, filename: str | None = None,
                  trust: bool = False) -> StrategySpec:
    """The strategy class defined by ``code`` (a file's or one sent to the API), as a
    :class:`~flint.strategy.remote.SandboxedStrategy`; ``source`` says where it came from,
    ``filename`` is what its errors name (default: ``source``)."""
    from flint.strategy.loader import StrategyLoadError
    from flint.strategy.remote import SandboxedStrategy
    from flint.strategy.sandbox import StrategyExecutionError

    try:
        cls = SandboxedStrategy(code, filename=filename or source, trust=trust)
    except (StrategyLoadError, StrategyExecutionError) as exc:
        raise click.ClickException(str(exc)) from None
    return StrategySpec(cls, label, source, code)


def builtin_strategy(name: str) -> StrategySpec:
    """The registered (built-in or plugin) strategy called ``name``."""
    from flint.plugins import PluginNotFound, get_strategy

    try:
        return StrategySpec(get_strategy(name), name, "builtin")
    except PluginNotFound as exc:
        raise click.ClickException(
            f"'{name}' is neither a strategy file nor a built-in strategy: {exc}"
        ) from None


def parse_time(text: str | None, *, end: bool = False) -> int | None:
    """Unix seconds of unix seconds, a UTC date or an ISO time; an end *date* means the end
    of that day. Times outside 1970-01-01 .. 9999-12-31 are refused."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        ts = int(stripped)
    else:
        try:
            moment = dt.datetime.fromisoformat(stripped)
        except ValueError:
            raise click.BadParameter(
                f"'{text}' is not a date (YYYY-MM-DD), an ISO time (YYYY-MM-DDTHH:MM) "
                f"or unix seconds"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        date_only = re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped) is not None
        ts = int(moment.timestamp()) + (DAY - 1 if end and date_only else 0)
    try:
        dt.datetime.fromtimestamp(ts, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise click.BadParameter(
            f"'{text}' is outside the times flint handles (1970-01-01 to 9999-12-31 UTC)"
        ) from None
    if ts < 0:
        raise click.BadParameter(f"'{text}' is before 1970-01-01 (unix time 0)")
    return ts


def parse_param_space(text: str | None) -> dict[str, Any]:
    """``--param-space``: JSON text or a JSON file, ``{name: {field: value} | value}``."""
    if not text:
        return {}
    source = Path(text)
    raw = source.read_text(encoding="utf-8") if source.is_file() else text
    try:
        found = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"--param-space must be JSON (or a JSON file): {exc}", param_hint="--param-space"
        ) from None
    if not isinstance(found, dict):
        raise click.BadParameter("--param-space must be a JSON object {name: spec}",
                                 param_hint="--param-space")
    return found


@attrs.frozen
class MarketData:
    """Candles and funding of one market, as read from the store."""

    candles: CandleSeries
    funding: list[FundingRate]
    db: str

    def context(self) -> dict[str, Any]:
        """What a journal record says about the data."""
        ts = self.candles.timestamps
        return {
            "market": self.candles.market, "venue": self.candles.venue,
            "resolution_s": int(self.candles.resolution_s),
            "start_ts": int(ts[0]), "end_ts": int(ts[-1]), "bars": len(self.candles),
        }


def load_market(db: Path, market: str | None, venue: str | None, resolution_s: int,
                start: str | None, end: str | None) -> MarketData:
    """Candles (and the funding of their venue) from the store; a clear error if there are none.

    ``market`` None is the configured default market; ``start``/``end`` as
    :func:`parse_time` reads them.
    """
    from flint.store import FlintStore, NoCandlesError

    market = market or load_config().default_markets[0]
    start_ts, end_ts = parse_time(start), parse_time(end, end=True)
    with FlintStore(db, read_only=True) as store:
        try:
            candles = store.require_candles(market, resolution_s, start_ts, end_ts, venue=venue)
        except NoCandlesError as exc:
            raise no_candles(db, exc) from None
        funding = store.query_funding_rates(market, start_ts, end_ts, venue=candles.venue)
    return MarketData(candles, funding, str(db))


def no_candles(db: Path, error: "NoCandlesError") -> click.ClickException:
    """The one-line error of a store without the candles asked for (exit code 1)."""
    if error.empty:
        hint = (f"get some with `flint data sample --db {db}` (generated BTC/ETH/SOL-PERP, "
                f"no network) or `flint data import FILES --db {db}`")
    else:
        hint = f"`flint data status --db {db}` lists everything stored"
    return click.ClickException(f"{db}: {error}; {hint}")


def data_options(func: F) -> F:
    """``--market --venue --resolution --start --end``."""
    for option in reversed((
        click.option("--market", "-m", default=None,
                     help="Market, e.g. SOL-PERP (default: the first of default_markets "
                          "in flint.yaml, SOL-PERP)."),
        click.option("--venue", default=None,
                     help="Venue of the candles (default: the one with most bars)."),
        click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1),
                     default=3600, show_default=True, help="Candle resolution in seconds."),
        click.option("--start", "-s", default=None,
                     help="First day (YYYY-MM-DD, UTC) or unix seconds (default: first bar)."),
        click.option("--end", "-e", default=None,
                     help="Last day, included (YYYY-MM-DD, UTC) or unix seconds "
                          "(default: last bar)."),
    )):
        func = option(func)
    return func
