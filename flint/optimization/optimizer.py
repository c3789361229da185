"""``StrategyOptimizer``: Optuna studies over a strategy's ``parameters()``.

Trials run in worker **processes** (``n_jobs``) that share one study through a storage:
the one you pass (``storage=`` any Optuna URL, e.g. PostgreSQL, plus ``study_name=``,
which makes a study resumable and joinable from other machines) or a temporary
journal file. Each worker receives the candles once, as numpy columns, when it starts.
"""

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import optuna

from flint.models import Candle, CandleSeries
from flint.optimization import space
from flint.optimization.objective import (
    InvalidParameters,
    RunSettings,
    backtest,
    direction,
    score,
)

SAMPLERS = ("tpe", "random", "grid")


@attrs.frozen
class TrialResult:
    """One finished trial."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    total_pnl: float | None = None
    sharpe_ratio: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    total_trades: int | None = None


@attrs.frozen
class OptimizationResult:
    """Best parameters and every trial, best first."""

    best_value: float
    best_params: dict[str, Any]
    trials: list[TrialResult]
    metric: str
    direction: str
    study_name: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return attrs.asdict(self)


# Candles travel to workers as columns, never as per-trial pickles.

Packed = tuple[str, Any]


def _series(candles: Sequence[Candle]) -> CandleSeries:
    return candles if isinstance(candles, CandleSeries) else CandleSeries.from_candles(candles)


def _columns(series: CandleSeries) -> dict[str, Any]:
    return {
        "ts": series.timestamps, "open": series.opens, "high": series.highs, "low": series.lows,
        "close": series.closes, "volume": series.volumes, "market": series.market,
        "resolution_s": series.resolution_s, "venue": series.venue,
    }


def _rebuild(columns: Mapping[str, Any]) -> CandleSeries:
    return CandleSeries(**columns)


def pack(candles: Any) -> Packed:
    """Candles (list, CandleSeries or {market: ...}) as plain numpy columns."""
    if isinstance(candles, Mapping):
        return ("dict", {k: _columns(_series(v)) for k, v in candles.items()})
    return ("series", _columns(_series(candles)))


def unpack(packed: Packed) -> Any:
    """Inverse of :func:`pack`."""
    kind, data = packed
    if kind == "dict":
        return {k: _rebuild(v) for k, v in data.items()}
    return _rebuild(data)


def _resolution(candles: Any) -> int:
    first = next(iter(candles.values())) if isinstance(candles, Mapping) else candles
    return int(first.resolution_s)


@attrs.frozen
class _Study:
    """Everything a worker needs to join the study (picklable)."""

    strategy_class: type
    metric: str
    settings: RunSettings
    storage: str | None  # an Optuna URL, or None for the journal file below
    journal: str | None
    study_name: str
    sampler: str
    seed: int
    pruning: bool
    n_folds: int


def _make_sampler(
    name: str, seed: int, schema: dict[str, dict[str, Any]]
) -> optuna.samplers.BaseSampler:
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(schema), seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _folds(candles: Any, n_folds: int) -> list[Any]:
    if isinstance(candles, Mapping):
        parts = {k: np.array_split(np.arange(len(v)), n_folds) for k, v in candles.items()}
        return [{k: candles[k][int(p[i][0]):int(p[i][-1]) + 1] for k, p in parts.items()}
                for i in range(n_folds)]
    bounds = np.array_split(np.arange(len(candles)), n_folds)
    return [candles[int(b[0]):int(b[-1]) + 1] for b in bounds]


def _objective(study: _Study, candles: Any) -> Callable[[optuna.Trial], float]:
    schema = study.strategy_class.parameters()
    resolution = _resolution(candles)
    folds = _folds(candles, study.n_folds) if study.pruning else [candles]

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial, schema)
        values = []
        for step, part in enumerate(folds):
            result = backtest(study.strategy_class, params, part, study.settings)
            values.append(score(result, study.metric, resolution,
                                study.settings.initial_capital))
            if study.pruning:
                trial.report(float(np.mean(values)), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        trial.set_user_attr("total_pnl", float(result.total_pnl))
        trial.set_user_attr("sharpe_ratio", float(result.sharpe_ratio))
        trial.set_user_attr("max_drawdown", float(result.max_drawdown))
        trial.set_user_attr("win_rate", float(result.win_rate))
        trial.set_user_attr("total_trades", int(result.total_trades))
        return float(np.mean(values))

    return objective


def _storage(study: _Study) -> Any:
    if study.journal is None:
        return study.storage
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(study.journal))


_WORKER: dict[str, Any] = {}


def _init_worker(study: _Study, packed: Packed) -> None:
    """Runs once per worker process: the study settings and the candles arrive here."""
    _WORKER["study"] = study
    _WORKER["candles"] = unpack(packed)


def _run_trials(n_trials: int | None, worker: int,
                on_trial: Callable[[], None] | None = None) -> None:
    study: _Study = _WORKER["study"]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    schema = study.strategy_class.parameters()
    loaded = optuna.load_study(
        study_name=study.study_name,
        storage=_storage(study),
        sampler=_make_sampler(study.sampler, study.seed + worker, schema),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if study.pruning else None,
    )
    callbacks = [lambda _study, _trial: on_trial()] if on_trial is not None else None
    loaded.optimize(_objective(study, _WORKER["candles"]), n_trials=n_trials,
                    catch=(InvalidParameters,), callbacks=callbacks)


class StrategyOptimizer:
    """Search ``strategy_class.parameters()`` for the best value of ``metric``.

    :param metric: one of :data:`flint.optimization.objective.METRICS`
        (``max_drawdown`` is minimised, the others maximised).
    :param n_trials: trials this call runs (for ``sampler="grid"``: at most the grid size).
    :param n_jobs: worker processes sharing the study.
    :param storage: Optuna storage URL; with ``study_name`` the study is resumable and
        other processes or machines running the same call join it.
    :param sampler: ``"tpe"`` (default), ``"random"`` or ``"grid"``; seeded by ``seed``.
    :param pruning: score each trial on ``n_folds`` consecutive folds, report the running
        mean after each and let a median pruner stop bad trials early; the trial's value is
        then the mean of its fold scores.
    :param engine_options: extra ``BacktestEngine`` arguments (fill model, funding, ...).
    """

    def __init__(
        self,
        strategy_class: type,
        candles: Any,
        metric: str = "sharpe_ratio",
        n_trials: int = 100,
        initial_capital: float = 10_000.0,
        fee_rate: float = 0.0005,
        *,
        n_jobs: int = 1,
        storage: str | None = None,
        study_name: str | None = None,
        sampler: str = "tpe",
        seed: int = 0,
        pruning: bool = False,
        n_folds: int = 4,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        schema = strategy_class.parameters()
        if not schema:
            raise ValueError(f"{strategy_class.__name__}.parameters() is empty: nothing to tune")
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler '{sampler}'; choose one of {', '.join(SAMPLERS)}")
        if n_jobs < 1 or n_trials < 1:
            raise ValueError("n_jobs and n_trials must be >= 1")
        self.direction = direction(metric)
        if sampler == "grid":
            space.grid(schema)  # fail now if the schema cannot be gridded
        self.strategy_class = strategy_class
        self.candles = candles
        self.metric = metric
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.storage = storage
        self.study_name = study_name or f"flint-{strategy_class.__name__}-{metric}"
        self.sampler = sampler
        self.seed = seed
        self.pruning = pruning
        self.n_folds = n_folds
        self.settings = RunSettings(initial_capital, fee_rate, dict(engine_options or {}))

    def _shares(self) -> list[int | None]:
        if self.sampler == "grid":
            total = min(self.n_trials, space.grid_size(self.strategy_class.parameters()))
        else:
            total = self.n_trials
        base, extra = divmod(total, self.n_jobs)
        return [base + (1 if i < extra else 0) for i in range(self.n_jobs)]

    def optimize(self, progress: Callable[[int, int], None] | None = None) -> OptimizationResult:
        """Run the trials; ``progress(done, total)`` is called as trials finish."""
        with tempfile.TemporaryDirectory(prefix="flint-study-") as tmp:
            journal = None if self.storage else os.path.join(tmp, "study.journal")
            study = _Study(self.strategy_class, self.metric, self.settings, self.storage,
                           journal, self.study_name, self.sampler, self.seed, self.pruning,
                           self.n_folds)
            storage = _storage(study)
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            optuna.create_study(storage=storage, study_name=self.study_name,
                                direction=self.direction, load_if_exists=True)
            shares = self._shares()
            total = sum(n or 0 for n in shares)
            packed = pack(self.candles)
            if self.n_jobs == 1:
                done = [0]

                def tick() -> None:
                    done[0] += 1
                    if progress is not None:
                        progress(done[0], total)

                _init_worker(study, packed)
                _run_trials(shares[0], 0, tick)
            else:
                self._run_workers(study, packed, shares, progress, total)
            return self._collect(storage)

    def _run_workers(self, study: _Study, packed: Packed, shares: list[int | None],
                     progress: Callable[[int, int], None] | None, total: int) -> None:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                    optuna.trial.TrialState.FAIL)
        storage = _storage(study)

        def finished_count() -> int:
            loaded = optuna.load_study(study_name=study.study_name, storage=storage)
            return len(loaded.get_trials(deepcopy=False, states=finished))

        before = finished_count()
        with ctx.Pool(self.n_jobs, initializer=_init_worker, initargs=(study, packed)) as pool:
            jobs = [pool.apply_async(_run_trials, (n, i)) for i, n in enumerate(shares)]
            while not all(job.ready() for job in jobs):
                jobs[0].wait(0.5)
                if progress is not None:
                    progress(min(finished_count() - before, total), total)
            for job in jobs:
                job.get()  # re-raise a worker's error here

    def _collect(self, storage: Any) -> OptimizationResult:
        study = optuna.load_study(study_name=self.study_name, storage=storage)
        sign = -1.0 if self.direction == "minimize" else 1.0
        rows = []
        for t in study.get_trials(deepcopy=False):
            attrs_ = t.user_attrs
            rows.append(TrialResult(
                number=t.number, params=dict(t.params), value=t.value, state=t.state.name,
                total_pnl=attrs_.get("total_pnl"), sharpe_ratio=attrs_.get("sharpe_ratio"),
                max_drawdown=attrs_.get("max_drawdown"), win_rate=attrs_.get("win_rate"),
                total_trades=attrs_.get("total_trades"),
            ))
        complete = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
        if not complete:
            raise RuntimeError(
                f"no trial of {self.strategy_class.__name__} completed: every parameter set "
                f"was refused or pruned"
            )
        # best first; ties broken by the parameters so the winner does not depend on timing
        complete.sort(key=lambda r: (-sign * (r.value or 0.0), sorted(r.params.items())))
        others = sorted((r for r in rows if r not in complete), key=lambda r: r.number)
        best = complete[0]
        return OptimizationResult(
            best_value=float(best.value or 0.0), best_params=dict(best.params),
            trials=complete + others, metric=self.metric, direction=self.direction,
            study_name=self.study_name,
        )
