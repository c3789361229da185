"""One backtest from plain settings to a journal record: what ``flint backtest`` runs.

:func:`run_backtest` builds the engine from :class:`RunSettings`, runs a strategy
object and returns the run's journal record (:func:`flint.backtest.journal.run_record`,
plain JSON data). A strategy from a user's file runs the same way inside the
sandbox's child process: :data:`SANDBOX_JOB` is the job
:func:`flint.strategy.sandbox.run_in_sandbox` calls there, so only the record comes
back.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from flint.backtest.engine import SEED_FEE_RATE, BacktestEngine
from flint.backtest.journal import run_record
from flint_core.funding import FundingColumns
from flint_core.markets import market_key
from flint_core.venues import VenueConfig

#: The job a sandboxed child runs: ``run_in_sandbox(..., job=SANDBOX_JOB, options=...)``.
SANDBOX_JOB = "flint.backtest.runs:sandbox_job"


@dataclass(frozen=True)
class RunSettings:
    """What to backtest with: who, where, with how much and at what cost.

    ``strategy`` labels the run (a built-in's name or a file path); ``venues`` are
    those whose candles the run reads (several make a ``"venue:market"`` run);
    ``fill_model`` is a registered fill model name (or an alias such as ``next_open``;
    ``default``: the default of the first venue, see :func:`flint.plugins.get_fill_model`).
    ``fee_rate`` None trades at each venue's own maker/taker rates (``default_fee_rate``,
    the seed's 0.0005 unless ``flint.yaml`` says otherwise, on candles with no venue); a
    number is charged on maker and taker fills on every venue of the run instead
    (``flint backtest --fee``), and the result says so.
    """

    strategy: str
    market: str
    venues: tuple[str, ...]
    resolution_s: int = 3600
    capital: float = 10_000.0
    fee_rate: float | None = None
    fill_model: str = "default"
    params: dict[str, Any] = field(default_factory=dict)
    max_runtime_s: float = 300.0
    default_fee_rate: float = SEED_FEE_RATE
    risk: Any = None  # a flint.risk.RiskEngine every order passes


def fee_overrides(venues: Sequence[str], fee_rate: float) -> dict[str, VenueConfig]:
    """Each venue's config with ``fee_rate`` as its maker and taker fee.

    Venues with no config (no installed plugin describes them) are left out: their
    candles trade at the default venue's costs, whose fee is ``fee_rate`` already.
    """
    from flint.plugins import PluginNotFound, get_venue_config

    bps = fee_rate * 1e4
    configs = {}
    for name in venues:
        try:
            config = get_venue_config(name)
        except PluginNotFound:
            continue
        configs[name] = config.merged({"taker_fee_bps": bps, "maker_fee_bps": bps})
    return configs


def _override_note(venues: Sequence[str], fee_rate: float) -> str:
    return (
        f"fee_override: fee rate {fee_rate:g} charged on maker and taker fills on "
        f"{', '.join(venues)} instead of the venue's own rates"
    )


def run_backtest(
    strategy: Any,
    candles: Any,
    funding: Sequence[Any] | FundingColumns,
    settings: RunSettings,
) -> dict[str, Any]:
    """Backtest ``strategy`` on ``candles`` (a series or ``{"venue:market": series}``)
    with ``funding`` (records or columns) and ``settings``; the run's journal record."""
    from flint.plugins import default_fill_model, get_fill_model

    fee_rate = settings.fee_rate
    overrides = {} if fee_rate is None else fee_overrides(settings.venues, fee_rate)
    fill_model = settings.fill_model
    if fill_model == "default":
        fill_model = default_fill_model(settings.venues[0])
    engine = BacktestEngine(
        strategy,
        initial_capital=settings.capital,
        fee_rate=settings.default_fee_rate if fee_rate is None else fee_rate,
        fill_model=get_fill_model(fill_model),
        funding_rates=funding if isinstance(funding, FundingColumns) else list(funding),
        max_runtime_s=settings.max_runtime_s,
        venues=overrides,
        risk=settings.risk,
    )
    result = engine.run(candles)
    if fee_rate is not None:
        result.strategy_warnings.insert(0, _override_note(settings.venues, fee_rate))
    return run_record(
        result, strategy=settings.strategy, params=settings.params, market=settings.market,
        venue="+".join(settings.venues), fill_model=fill_model,
        fee_rate=settings.fee_rate,
    )


def sandbox_options(
    extra: Mapping[str, Any], funding: Sequence[Any] | FundingColumns, settings: RunSettings
) -> dict[str, Any]:
    """The ``options`` of :func:`sandbox_job` for a run in the sandbox (picklable data).

    ``extra`` are the candles of the venues after the first, keyed ``"venue:market"``
    (the first venue's candles go to ``run_in_sandbox`` itself). Candles and funding
    go as columns: numpy arrays that travel as raw bytes, not pickled objects a row.
    """
    from flint.strategy.sandbox import funding_columns, series_columns

    return {
        "extra": {key: series_columns(series) for key, series in extra.items()},
        "funding": funding_columns(funding),
        "settings": asdict(settings),
    }


def sandbox_job(
    strategy: Any,
    candles: Any,
    *,
    extra: Mapping[str, Any],
    funding: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Run a backtest in the sandbox's child process; return the journal record."""
    from flint.strategy.sandbox import funding_from_columns, series_from_columns

    run = RunSettings(**{**settings, "venues": tuple(settings["venues"])})
    if extra:
        candles = {
            market_key(candles.venue, candles.market): candles,
            **{key: series_from_columns(columns) for key, columns in extra.items()},
        }
    return run_backtest(strategy, candles, funding_from_columns(funding), run)
