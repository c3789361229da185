"""``flint calibrate VENUE``: the impact coefficient that recorded fills call for.

Fills come from a CSV (``--fills``) or from the journal's paper and live runs; each is
compared with the bar that closed before it (from the CSV's ``reference_price`` and
``bar_volume`` columns, else from the store's candles). Every market with enough fills
is fitted (:mod:`flint.backtest.calibration`); the command prints the fits and the
``flint.yaml`` lines that would set the venue's ``impact_coefficient``. It writes nothing.
"""

from collections.abc import Sequence
from pathlib import Path

import attrs
import click
from rich.table import Table

from flint.backtest.calibration import (
    RECORDED_KINDS,
    Calibration,
    CalibrationError,
    ImpactFill,
    calibrate,
    journal_fills,
    read_fills_csv,
    with_bars,
)
from flint.cli.common import db_option, db_path, make_console, user_errors, when
from flint.config import load_config

DAY = 86_400
#: Journal runs read at most.
RUNS = 1_000_000


def _journal(db: Path) -> list[ImpactFill]:
    from flint.store import FlintStore

    with FlintStore(db, read_only=True) as store:
        kept = [r["run_id"] for r in store.list_backtest_runs(limit=RUNS)
                if r.get("kind") in RECORDED_KINDS]
        return journal_fills(store.get_backtest_run(run_id) or {} for run_id in kept)


def _placed(fills: Sequence[ImpactFill], db: Path, resolution_s: int) -> list[ImpactFill]:
    """The fills with their reference bar, from the store when the CSV gave none."""
    if all(f.reference_price is not None and f.bar_volume is not None for f in fills):
        return list(fills)
    from flint.store import FlintStore

    first, last = min(f.ts for f in fills), max(f.ts for f in fills)
    with FlintStore(db, read_only=True) as store:
        # the bar that closed last before a fill opened at most two bars before it
        bars = store.query_candles(fills[0].market, resolution_s, first - 2 * resolution_s,
                                   last, venue=fills[0].venue)
    return with_bars(fills, bars)


def _current_k(venue: str) -> float | None:
    from flint.plugins import get_venue_config

    try:
        return float(get_venue_config(venue).impact_coefficient)
    except KeyError:
        return None


def _interval(value: float, low: float, high: float) -> str:
    return f"{value:.4g} [{low:.4g}, {high:.4g}]"


def _print(fits: list[Calibration], recommended: float, venue: str, threshold: float) -> None:
    console = make_console()
    table = Table(title=f"impact of {venue}'s fills: price moved k * sqrt(size / bar volume)")
    for column in ("market", "fills", "from (UTC)", "to (UTC)", "k [95% CI]",
                   "power law b [95% CI]", "OOS R² sqrt", "OOS R² power", "MAE bps",
                   "better model"):
        table.add_column(column, justify="right")
    for fit in fits:
        table.add_row(
            fit.market, str(fit.fills), when(fit.start_ts), when(fit.end_ts),
            _interval(fit.k, fit.k_interval.low, fit.k_interval.high),
            _interval(fit.power_b, fit.power_b_interval.low, fit.power_b_interval.high),
            f"{fit.oos_r2_sqrt:.3f}", f"{fit.oos_r2_power:.3f}", f"{fit.mae_bps:.2f}",
            fit.model,
        )
    console.print(table)
    for fit in fits:
        if fit.model == "power":
            console.print(f"{fit.market}: impact grows like size^{fit.power_b:.2f}, not like "
                          f"its square root; the pipeline's k fits it only on average")
        if fit.oos_r2_sqrt < 0.5:
            console.print(f"{fit.market}: weak fit (out-of-sample R² {fit.oos_r2_sqrt:.2f} "
                          f"< 0.5); more fills would tell more")
    current = fits[-1].current_k
    if current is not None:
        drift = (recommended / current - 1) * 100
        verdict = "update it" if abs(drift) > threshold else "within the threshold"
        console.print(f"current impact_coefficient of {venue}: {current:.6g}; recommended "
                      f"{recommended:.6g} ({drift:+.1f} %, {verdict}: "
                      f"calibration_drift_threshold_pct {threshold:g})")
    console.print(f"recommended for flint.yaml:\nvenues:\n  {venue}:\n"
                  f"    impact_coefficient: {recommended:.6g}", markup=False)


@click.command("calibrate")
@click.argument("venue")
@click.option("--market", "-m", default=None,
              help="Only this market (default: every market of VENUE with fills).")
@click.option("--fills", "fills_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="CSV of fills: ts,venue,market,side,size,price and optionally "
                   "reference_price,bar_volume (default: the paper and live fills of the "
                   "journal).")
@click.option("--resolution", "-r", "resolution_s", type=click.IntRange(min=1), default=3600,
              show_default=True,
              help="Candles a fill without reference_price/bar_volume is compared with.")
@click.option("--lookback", type=click.IntRange(min=1), default=None,
              help="Only the fills of the last DAYS days before the newest (default: all).")
@click.option("--min-fills", type=click.IntRange(min=2), default=None,
              help="Fewest fills a market needs (default: calibration_min_fills, 100).")
@db_option
@user_errors
def calibrate_command(venue: str, market: str | None, fills_file: Path | None,
                      resolution_s: int, lookback: int | None, min_fills: int | None,
                      db: Path | None) -> None:
    """Fit the impact model to VENUE's recorded fills and recommend its coefficient."""
    config = load_config()
    path = db_path(db)
    found = read_fills_csv(fills_file) if fills_file is not None else _journal(path)
    source = str(fills_file) if fills_file is not None else f"the journal of {path}"
    fills = [f for f in found if f.venue == venue and market in (None, f.market)]
    if not fills:
        where = f"/{market}" if market else ""
        raise click.ClickException(f"no fills of {venue}{where} in {source}")
    if lookback is not None:
        since = max(f.ts for f in fills) - lookback * DAY
        fills = [f for f in fills if f.ts >= since]
    minimum = min_fills or config.calibration_min_fills
    current = _current_k(venue)
    fits, refused, placed = [], [], []
    for name in sorted({f.market for f in fills}):
        mine = _placed([f for f in fills if f.market == name], path, resolution_s)
        try:
            fits.append(calibrate(mine, min_fills=minimum, current_k=current))
        except CalibrationError as exc:
            if market is not None:
                raise
            refused.append(str(exc))
        else:
            placed += mine
    console = make_console()
    for reason in refused:
        console.print(reason, markup=False)
    if not fits:
        raise click.ClickException(f"no market of {venue} has enough fills to calibrate")
    if len(fits) > 1:  # one coefficient per venue: fit the markets' fills together
        fits.append(calibrate([attrs.evolve(f, market="all markets") for f in placed],
                              min_fills=minimum, current_k=current))
    _print(fits, fits[-1].recommended_k, venue, config.calibration_drift_threshold_pct)
