"""What research commands run on: a strategy (built-in name or file) and stored market data.

Strategy files go through :func:`flint.strategy.loader.load_strategy_class` (validated,
then run in a guarded module). Candles and funding are read from the store opened
read-only, so other processes may write it meanwhile.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from flint.config import load_config
from flint.models import CandleSeries
from flint_core.funding import FundingColumns
from flint_core.markets import market_key

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


def start_resolving(spec: str, *, trust: bool = False) -> Callable[[], StrategySpec]:
    """Resolve ``spec``, a built-in strategy's registry name or a ``.py`` file, in two
    steps: call the returned function for the :class:`StrategySpec` once the data is loaded.

    A missing file or unknown name fails now, and a built-in resolves now. A file's class
    is a :class:`~flint.strategy.remote.SandboxedStrategy`: its code only ever runs in
    sandboxed children (``trust``: even where the host cannot confine them). The
    sandbox's fork server starts in the background now, so that its start overlaps the
    loading of the data; the returned function loads the class in a sandboxed child.
    """
    path = Path(spec)
    if path.suffix == ".py" or path.is_file():
        if not path.is_file():
            raise click.ClickException(f"no strategy file {path}")
        from flint.strategy.forkserver import prestart

        code = path.read_text(encoding="utf-8")
        prestart()
        return lambda: code_strategy(code, path.stem, str(path.resolve()),
                                     filename=str(path), trust=trust)
    resolved = builtin_strategy(spec)
    return lambda: resolved


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


#: ``--period`` units in seconds.
PERIOD_UNITS = {"h": 3600, "d": DAY, "w": 7 * DAY, "m": 30 * DAY, "y": 365 * DAY}


def parse_period(text: str) -> int:
    """Seconds of a period such as ``12h``, ``30d``, ``6w``, ``3m`` or ``1y``."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdwmy])\s*", text.lower())
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(
            f"'{text}' is not a period: a positive number and a unit h, d, w, m (30 d) or y"
        )
    return int(match.group(1)) * PERIOD_UNITS[match.group(2)]


def time_range(
    start: str | None, end: str | None, period: str | None, newest: int | None
) -> tuple[int | None, int | None]:
    """``(start_ts, end_ts)`` of ``--start/--end/--period`` (None = open): a period counts
    from the start, back from the end, or back from ``newest`` (the newest stored bar)."""
    if start and end and period:
        raise click.UsageError("give at most two of --start, --end and --period")
    start_ts = parse_time(start) if start else None
    end_ts = parse_time(end, end=True) if end else None
    if period:
        span = parse_period(period)
        if start_ts is not None:
            end_ts = start_ts + span
        else:
            end_ts = end_ts if end_ts is not None else newest
            start_ts = None if end_ts is None else end_ts - span
    if start_ts is not None and end_ts is not None and end_ts < start_ts:
        raise click.UsageError("the time range ends before it starts")
    return start_ts, end_ts


@attrs.frozen
class ResearchInputs:
    """What ``flint backtest``, ``optimize`` and ``walk-forward`` run on, picked the same way.

    ``candles`` are keyed ``"venue:market"``, one per venue asked for (the venue with most
    bars when none was); ``funding`` is the funding of those venues only, over the
    candles' range, as columns (the engine and the sandbox read them without a record a
    row). ``fee_rate`` None trades at each venue's own rates, and at
    ``default_fee_rate`` (``flint.yaml``) on candles with no venue; ``fill_model`` is a
    registered name (``--fill-model default`` resolved to the primary venue's default).
    """

    candles: dict[str, CandleSeries]
    funding: FundingColumns
    db: str
    capital: float
    fee_rate: float | None
    default_fee_rate: float
    fill_model: str
    risk: Any = None  # a RiskEngine every order passes (--risk), or None

    @property
    def base_fee_rate(self) -> float:
        """The fee rate of candles with no venue (the engine's ``fee_rate``)."""
        return self.default_fee_rate if self.fee_rate is None else self.fee_rate

    def engine_options(self) -> dict[str, Any]:
        """``BacktestEngine`` arguments beyond capital and ``fee_rate``: the funding, the
        fill model, and ``--fee`` as every venue's maker and taker fee."""
        from flint.backtest.runs import fee_overrides

        options: dict[str, Any] = {"fill_model": self.fill_model, "risk": self.risk}
        if self.funding:
            options["funding_rates"] = self.funding
        if self.fee_rate is not None:
            options["venues"] = fee_overrides(self.venues, self.fee_rate)
        return options

    @property
    def primary(self) -> CandleSeries:
        """The series that drives the loop (most bars; first on ties)."""
        return max(self.candles.values(), key=len)

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(series.venue for series in self.candles.values())

    @property
    def data(self) -> CandleSeries | dict[str, CandleSeries]:
        """The candles as the engine takes them: one series, or the dict of several."""
        return next(iter(self.candles.values())) if len(self.candles) == 1 else self.candles

    def context(self) -> dict[str, Any]:
        """What a journal record says about the data."""
        series = self.primary
        ts = series.timestamps
        return {
            "market": series.market, "venue": "+".join(self.venues),
            "resolution_s": int(series.resolution_s),
            "start_ts": int(ts[0]), "end_ts": int(ts[-1]), "bars": len(series),
        }


def load_research(
    db: Path, *, market: str | None = None, venues: Sequence[str] = (),
    resolution_s: int = 3600, start: str | None = None, end: str | None = None,
    period: str | None = None, capital: float | None = None, fee_rate: float | None = None,
    fill_model: str = "default", risk: bool = False,
) -> ResearchInputs:
    """The options of :func:`research_options` resolved against ``flint.yaml`` and the store
    (opened read-only); a clear error when the store lacks the candles asked for."""
    from flint.plugins import PluginNotFound, default_fill_model, get_fill_model
    from flint.store import FlintStore, NoCandlesError

    config = load_config()
    market = market or config.default_markets[0]
    try:
        get_fill_model(fill_model)  # an unknown name fails before the store is read
    except PluginNotFound as exc:
        raise click.BadParameter(str(exc), param_hint="--fill-model") from None
    with FlintStore(db, read_only=True) as store:
        wanted: list[str | None] = list(venues) or [None]
        newest = None
        if period and not (start or end):
            latest = store.query_candles(market, resolution_s, limit=1, venue=wanted[0])
            newest = int(latest.timestamps[-1]) if len(latest) else None
        start_ts, end_ts = time_range(start, end, period, newest)
        candles: dict[str, CandleSeries] = {}
        for venue in wanted:
            try:
                series = store.require_candles(market, resolution_s, start_ts, end_ts,
                                               venue=venue)
            except NoCandlesError as exc:
                raise no_candles(db, exc) from None
            candles[market_key(series.venue, market)] = series
        parts = []
        for series in candles.values():
            first, last = int(series.timestamps[0]), int(series.timestamps[-1])
            parts.append(store.query_funding_columns(market, first, last + resolution_s,
                                                     venue=series.venue))
        funding = parts[0] if len(parts) == 1 else FundingColumns.concat(parts)
    primary = max(candles.values(), key=len)
    if fill_model == "default":
        fill_model = default_fill_model(primary.venue)
    capital = config.default_capital if capital is None else capital
    guard = None
    if risk:
        from flint.risk import engine_from_config

        guard = engine_from_config(config, capital)
    return ResearchInputs(
        candles, funding, str(db), capital, fee_rate, config.default_fee_rate, fill_model,
        guard,
    )


def no_candles(db: Path, error: "NoCandlesError") -> click.ClickException:
    """The one-line error of a store without the candles asked for (exit code 1)."""
    if error.empty:
        hint = (f"get some with `flint data sample --db {db}` (generated BTC/ETH/SOL-PERP, "
                f"no network) or `flint data import FILES --db {db}`")
    else:
        hint = f"`flint data status --db {db}` lists everything stored"
    return click.ClickException(f"{db}: {error}; {hint}")


def research_options(func: F) -> F:
    """The options every research command shares: what to run on and at what cost."""
    for option in reversed((
        click.option("--market", "-m", default=None,
                     help="Market, e.g. SOL-PERP (default: the first of default_markets "
                          "in flint.yaml, SOL-PERP)."),
        click.option("--venue", "-v", "venues", multiple=True,
                     help="Venue whose candles to use (default: the one with most bars); "
                          "repeat it for a multi-venue run (funding_arb, basis_trade)."),
        click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1),
                     default=3600, show_default=True, help="Candle resolution in seconds."),
        click.option("--start", "-s", default=None,
                     help="First day (YYYY-MM-DD, UTC), ISO time or unix seconds "
                          "(default: first bar)."),
        click.option("--end", "-e", default=None,
                     help="Last day, included (YYYY-MM-DD, UTC), ISO time or unix seconds "
                          "(default: last bar)."),
        click.option("--period", "-p", default=None,
                     help="Length: 12h, 30d, 6w, 3m (90 days), 1y; from --start, back from "
                          "--end, or back from the newest stored bar."),
        click.option("--capital", "-c", type=click.FloatRange(min=0, min_open=True),
                     default=None,
                     help="Starting capital (default: default_capital in flint.yaml, 10000)."),
        click.option("--fee", "fee_rate", type=click.FloatRange(0, 1, max_open=True),
                     default=None,
                     help="Fee rate charged on maker and taker fills instead of the venues' "
                          "own rates (0.0005 = 5 bps). Default: each venue's maker/taker "
                          "rates; 0.0005 on candles with no venue."),
        click.option("--fill-model", default="default", show_default=True,
                     help="default (the venue's default: pipeline unless a plugin registers "
                          "one for it), pipeline, close, next_open, slippage, or another "
                          "registered fill model."),
        click.option("--risk", is_flag=True,
                     help="Check every order with the risk guards of flint.yaml, as paper "
                          "and live trading do (refusals are listed as warnings)."),
    )):
        func = option(func)
    return func
