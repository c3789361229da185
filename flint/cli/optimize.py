"""``flint optimize STRATEGY`` and ``flint walk-forward STRATEGY``.

STRATEGY is a built-in strategy name (``flint plugins`` lists them) or a strategy
``.py`` file. Candles and funding come from the store (read-only); results are saved
to its journal: an ``optimization`` record plus a ``backtest`` record of the best
parameters on the whole range (``flint report RUN_ID`` draws either), or a
``walk_forward`` record.

A trial whose backtest raises is recorded as failed and the search goes on; the
summary counts the failed trials and names their most common error. Only a study
(or, for walk-forward, every window) without a completed trial exits 1.
"""

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, trust_option, user_errors, when
from flint.cli.inputs import (
    ResearchInputs,
    StrategySpec,
    load_research,
    parse_param_space,
    research_options,
    start_resolving,
)
from flint.cli.journal import journal_options, save_records
from flint.config import load_config
from flint.optimization.defaults import GRACE_BEATS, HEARTBEAT_S, SAMPLERS
from flint.optimization.objective import METRICS

F = TypeVar("F", bound=Callable[..., Any])

#: Trials shown after an optimisation.
TOP = 5
#: Trials of a study when --trials is not given.
DEFAULT_TRIALS = 50


def study_options(func: F) -> F:
    """Options ``flint optimize`` and ``flint walk-forward`` share."""
    for option in reversed((
        click.option("--metric", type=click.Choice(METRICS), default="sharpe_ratio",
                     show_default=True, help="What to optimise (max_drawdown is minimised)."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Worker processes sharing the study."),
        click.option("--storage", default=None,
                     help="Database the study lives in, shared by every process and machine "
                          "joining it: postgresql://user:pass@host/db or sqlite:///studies.db "
                          "(default: optuna_storage of flint.yaml or FLINT_OPTUNA_STORAGE, "
                          "else private to this run)."),
        click.option("--study", "study_name", default=None,
                     help="Study name; with a storage, the same name joins the same study."),
        click.option("--heartbeat", "heartbeat_s", type=click.IntRange(min=1),
                     default=HEARTBEAT_S, show_default=True,
                     help="With a storage: seconds between two signs of life of a running "
                          f"trial; a trial silent {GRACE_BEATS} times as long (its process or "
                          "machine died) is run again by another process."),
        click.option("--sampler", type=click.Choice(SAMPLERS), default="tpe", show_default=True,
                     help="How parameters are chosen (grid: every point, floats need a step)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Sampler seed."),
        click.option("--param-space", default=None,
                     help='Overrides of parameters() as JSON or a JSON file, e.g. '
                          '\'{"fast": {"low": 5, "high": 20, "step": 5}, "slow": 50}\' '
                          '(a plain value fixes a parameter). {"slow": {"greater_than": '
                          '"fast"}} makes the sampler draw slow above the fast it drew, '
                          'never a combination with slow <= fast.'),
        trust_option,
        db_option,
    )):
        func = option(func)
    return func


def _storage(storage: str | None) -> str | None:
    """``--storage``, else ``optuna_storage`` of the configuration (None: a private study)."""
    return storage or load_config().optuna_storage or None


def _context(spec: StrategySpec, market: ResearchInputs, **settings: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "strategy": spec.label, "strategy_class": spec.cls.__name__,
        "strategy_source": spec.source, **market.context(), **settings,
    }
    if spec.code is not None:
        found["strategy_code"] = spec.code
    return found


@attrs.frozen
class Study:
    """What an optimisation computed: its result and the journal records to save (the
    ``optimization`` record, then the ``backtest`` record of the best parameters, if any)."""

    result: Any
    record: dict[str, Any]
    best_record: dict[str, Any] | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        return [self.record] if self.best_record is None else [self.record, self.best_record]


def optimise(spec: StrategySpec, data: ResearchInputs, *, trials: int | None = None,
             resume: bool = False, prune: bool = False, metric: str = "sharpe_ratio",
             jobs: int = 1,
             storage: str | None = None, study_name: str | None = None,
             heartbeat_s: int = HEARTBEAT_S, sampler: str = "tpe", seed: int = 0,
             param_space: dict[str, Any] | None = None,
             progress: Callable[[int, int], None] | None = None) -> Study:
    """Search ``spec``'s parameters on ``data`` (what ``flint optimize`` runs), then backtest
    the best on the whole range; ``progress(done, total)`` is called as trials finish."""
    from flint.backtest.journal import run_record, study_record
    from flint.optimization.objective import RunSettings, backtest
    from flint.optimization.optimizer import StrategyOptimizer

    initial, fee = data.capital, data.base_fee_rate
    engine_options = data.engine_options()
    storage = _storage(storage)
    optimizer = StrategyOptimizer(
        spec.cls, data.data, metric, trials if trials or resume else DEFAULT_TRIALS,
        initial, fee, n_jobs=jobs, storage=storage, study_name=study_name,
        resume=resume, sampler=sampler, seed=seed, pruning=prune,
        param_space=param_space or {}, engine_options=engine_options,
        heartbeat_s=heartbeat_s,
    )
    try:
        result = optimizer.optimize(progress)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    best = backtest(spec.cls, result.best_params, data.data,
                    RunSettings(initial, fee, engine_options))
    context = _context(spec, data, initial_capital=initial, fee_rate=data.fee_rate,
                       fill_model=data.fill_model, metric=metric,
                       sampler=sampler, seed=seed, n_trials=len(result.trials), n_jobs=jobs,
                       storage=storage, pruning=prune, param_space=optimizer.schema)
    best_record = run_record(best, strategy=spec.label, params=result.best_params,
                             market=data.primary.market, venue="+".join(data.venues),
                             fill_model=data.fill_model, fee_rate=data.fee_rate)
    best_record["run_id"] = uuid.uuid4().hex
    record = study_record("optimization", result,
                          {**context, "best_run_id": best_record["run_id"]})
    return Study(result, record, best_record)


def walk_forward(spec: StrategySpec, data: ResearchInputs, *, windows: int = 5,
                 train_pct: float = 0.7, anchored: bool = False, trials: int = 30,
                 warmup: int | None = None, metric: str = "sharpe_ratio", jobs: int = 1,
                 storage: str | None = None, study_name: str | None = None,
                 heartbeat_s: int = HEARTBEAT_S, sampler: str = "tpe", seed: int = 0,
                 param_space: dict[str, Any] | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> Study:
    """Optimise window after window and test each winner out of sample (what ``flint
    walk-forward`` runs); ``progress(window, done, total)`` is called as trials finish."""
    from flint.backtest.journal import study_record
    from flint.optimization.walk_forward import run_walk_forward

    storage = _storage(storage)
    try:
        result = run_walk_forward(
            spec.cls, data.data, windows, train_pct, metric, trials, data.capital,
            data.base_fee_rate, anchored=anchored, sampler=sampler, seed=seed, n_jobs=jobs,
            storage=storage, study_name=study_name, param_space=param_space or {},
            engine_options=data.engine_options(),
            heartbeat_s=heartbeat_s, warmup=warmup, progress=progress,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    context = _context(spec, data, initial_capital=data.capital, fee_rate=data.fee_rate,
                       fill_model=data.fill_model, metric=metric,
                       sampler=sampler, seed=seed, n_windows=windows, train_pct=train_pct,
                       anchored=anchored, trials_per_window=trials, n_jobs=jobs,
                       storage=storage, study_name=study_name)
    return Study(result, study_record("walk_forward", result, context))


@contextmanager
def _progress_bar(console: Console, label: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar redrawn as trials finish (no refresh thread: workers are forked)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, auto_refresh=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)
            bar.refresh()

        yield update


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"
    return str(value)


@click.command("optimize")
@click.argument("strategy")
@research_options
@click.option("--trials", "-n", type=click.IntRange(min=1), default=None,
              help="Trials the study holds when done, counted over every process and "
                   "machine joining it (default: 50; with --resume, the study's last total).")
@click.option("--resume", is_flag=True,
              help="Continue the stored study (--storage, --study), which must exist; "
                   "trials whose process died are run again.")
@click.option("--prune", is_flag=True,
              help="Score trials on 4 consecutive folds and stop poor ones early.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the optimisation report (HTML, history and importance PNGs).")
@study_options
@journal_options
@user_errors
def optimize_command(strategy: str, market: str | None, venues: tuple[str, ...],
                     resolution_s: int, start: str | None, end: str | None,
                     period: str | None, capital: float | None, fee_rate: float | None,
                     fill_model: str, risk: bool, trials: int | None, resume: bool,
                     prune: bool, out: Path | None, metric: str, jobs: int,
                     storage: str | None,
                     study_name: str | None, heartbeat_s: int, sampler: str, seed: int,
                     param_space: str | None, trust: bool, no_journal: bool,
                     journal_wait_s: float, db: Path | None) -> None:
    """Search STRATEGY's parameters (a built-in name or a .py file) on stored candles."""
    resolve = start_resolving(strategy, trust=trust)  # a file's sandbox starts meanwhile
    path = db_path(db)
    data = load_research(
        path, market=market, venues=venues, resolution_s=resolution_s, start=start, end=end,
        period=period, capital=capital, fee_rate=fee_rate, fill_model=fill_model,
        risk=risk,
    )
    spec = resolve()
    console = make_console()
    label = f"{spec.label} on {'+'.join(data.venues)}/{data.primary.market}"
    with _progress_bar(console, label) as update:
        study = optimise(
            spec, data, trials=trials, resume=resume, prune=prune, metric=metric,
            jobs=jobs, storage=storage, study_name=study_name,
            heartbeat_s=heartbeat_s, sampler=sampler, seed=seed,
            param_space=parse_param_space(param_space),
            progress=functools.partial(update, label),
        )
    result, record, best_record = study.result, study.record, study.best_record
    _print_trials(console, result, TOP)
    best_id = best_record["run_id"]
    best_metrics = best_record["metrics"]
    console.print(
        f"best {metric} {_fmt(result.best_value)} with {result.best_params}: total PnL "
        f"{best_metrics['total_pnl']:,.2f} over {int(best_metrics['total_trades'])} trades on "
        f"the whole range"
    )
    if no_journal:
        console.print("not saved to the journal (--no-journal)")
    else:
        (run_id, _), saved = save_records([record, best_record], path, journal_wait_s, console)
        if saved:
            console.print(f"journaled: optimization {run_id}, backtest of the best parameters "
                          f"{best_id}\n  flint report {best_id} --db {path}")
    if out is not None:
        from flint.analytics.report import write_optimization_report

        page = write_optimization_report(record, out, f"Optimisation of {label}")
        console.print(f"report: {page}")


def _print_trials(console: Console, result: Any, top: int) -> None:
    table = Table(title=f"top {top} of {len(result.trials)} trials in study "
                        f"'{result.study_name}' ({result.metric}, {result.direction})")
    names = list(result.best_params)
    for column in ("#", "trial", result.metric, *names, "total PnL", "trades", "max DD"):
        table.add_column(column, justify="right")
    for rank, t in enumerate(result.trials[:top], 1):
        if t.state != "COMPLETE":
            break
        table.add_row(
            str(rank), str(t.number), _fmt(t.value), *(_fmt(t.params.get(n)) for n in names),
            _fmt(t.total_pnl), str(t.total_trades),
            "-" if t.max_drawdown is None else f"{100 * t.max_drawdown:.1f}%",
        )
    console.print(table)
    pruned = sum(1 for t in result.trials if t.state == "PRUNED")
    if result.failed_trials:
        console.print(f"{result.failed_trials} of {len(result.trials)} trials failed; most "
                      f"common error: {result.most_common_error}", markup=False)
    if pruned:
        console.print(f"[dim]{pruned} of {len(result.trials)} trials pruned[/dim]")


@click.command("walk-forward")
@click.argument("strategy")
@research_options
@click.option("--windows", type=click.IntRange(min=1), default=5, show_default=True,
              help="Out-of-sample windows.")
@click.option("--train-pct", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.7, show_default=True,
              help="Share of the data in each in-sample window (the rest is cut into the "
                   "out-of-sample windows).")
@click.option("--anchored", is_flag=True,
              help="In-sample windows all start at the first bar (default: rolling).")
@click.option("--trials", "-n", type=click.IntRange(min=1), default=30, show_default=True,
              help="Trials per window.")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Bars before each out-of-sample window its backtest reads as history "
                   "first, without trading (default: the engine's history, 500 bars).")
@study_options
@journal_options
@user_errors
def walk_forward_command(strategy: str, market: str | None, venues: tuple[str, ...],
                         resolution_s: int, start: str | None, end: str | None,
                         period: str | None, capital: float | None, fee_rate: float | None,
                         fill_model: str, risk: bool, windows: int,
                         train_pct: float, anchored: bool, trials: int, warmup: int | None,
                         metric: str, jobs: int,
                         storage: str | None, study_name: str | None, heartbeat_s: int,
                         sampler: str, seed: int, param_space: str | None, trust: bool,
                         no_journal: bool,
                         journal_wait_s: float, db: Path | None) -> None:
    """Optimise STRATEGY window after window and test each winner out of sample."""
    resolve = start_resolving(strategy, trust=trust)  # a file's sandbox starts meanwhile
    path = db_path(db)
    data = load_research(
        path, market=market, venues=venues, resolution_s=resolution_s, start=start, end=end,
        period=period, capital=capital, fee_rate=fee_rate, fill_model=fill_model,
        risk=risk,
    )
    spec = resolve()
    console = make_console()
    with _progress_bar(console, f"window 1/{windows}") as update:
        study = walk_forward(
            spec, data, windows=windows, train_pct=train_pct, anchored=anchored,
            trials=trials, warmup=warmup, metric=metric, jobs=jobs,
            storage=storage, study_name=study_name, heartbeat_s=heartbeat_s,
            sampler=sampler, seed=seed, param_space=parse_param_space(param_space),
            progress=lambda i, done, total: update(f"window {i + 1}/{windows}", done, total),
        )
    _print_windows(console, study.result)
    if no_journal:
        console.print("not saved to the journal (--no-journal)")
        return
    [run_id], saved = save_records(study.records, path, journal_wait_s, console)
    if saved:
        console.print(f"journaled: walk_forward {run_id}\n  flint report {run_id} --db {path}")


def _print_windows(console: Console, result: Any) -> None:
    table = Table(title=f"walk-forward ({result.metric}): in sample (IS) vs out of sample (OOS)")
    # training ends where the test starts: its start is enough
    for column in ("#", "train from (UTC)", "test (UTC)", "best parameters", "IS", "OOS",
                   "OOS PnL", "OOS trades", "OOS fees", "OOS funding"):
        table.add_column(column, justify="left" if column.endswith(")") else "right")
    for w in result.windows:
        table.add_row(
            str(w.index + 1), when(w.train_start_ts),
            f"{when(w.test_start_ts)} .. {when(w.test_end_ts)}",
            ", ".join(f"{k}={_fmt(v)}" for k, v in w.best_params.items())
            or "none: no trial completed",
            _fmt(w.in_sample), _fmt(w.out_of_sample), _fmt(w.out_of_sample_pnl),
            str(w.out_of_sample_trades), _fmt(w.out_of_sample_fees),
            _fmt(w.out_of_sample_funding),
        )
    console.print(table)
    for w in result.windows:
        if w.most_common_error is not None:
            console.print(f"window {w.index + 1}: {w.failed_trials} trial(s) failed; most "
                          f"common error: {w.most_common_error}", markup=False)
    curve, run = result.oos_equity_curve, result.oos_run
    console.print(
        f"mean IS {_fmt(result.mean_in_sample)}, mean OOS {_fmt(result.mean_out_of_sample)}, "
        f"overfitting ratio (OOS / IS) {_fmt(result.overfitting_ratio)}, parameter stability "
        f"{_fmt(result.parameter_stability)}; stitched OOS run: equity {_fmt(curve[0])} -> "
        f"{_fmt(curve[-1])}, {run['total_trades']} trades, fees {_fmt(run['total_fees'])}, "
        f"funding paid {_fmt(run['funding_paid'])}"
    )
