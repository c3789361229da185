"""``StrategyOptimizer``: Optuna studies over a strategy's ``parameters()``.

Trials run in worker **processes** (``n_jobs``) that share one study through a storage:
the one you pass (``storage=`` any Optuna URL, e.g. PostgreSQL, plus ``study_name=``,
which makes a study resumable and joinable from other processes and machines), else
a journal file in a temporary folder (several workers) or memory (one). Each worker
receives the candles once, as numpy columns, through the pool initializer; trials
carry only their parameters. Workers draw trials from one budget shared by the call,
so a fast worker takes more of them and the call runs exactly ``n_trials``.

A trial whose backtest raises (the strategy refuses or cannot run its parameters) is
recorded as failed, with its error, and the search goes on; only a study in which no
trial completes is an error (:class:`StudyFailed`).
"""

import contextlib
import hashlib
import math
import multiprocessing
import os
import signal
import socket
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import optuna

from flint.optimization import data, space
from flint.optimization.objective import RunSettings, backtest, direction, score

SAMPLERS = ("tpe", "random", "grid")
#: Seconds between two progress reports while workers run.
POLL_S = 0.2
#: Attempts at opening an RDB storage (see :func:`_rdb`).
RDB_ATTEMPTS = 5
#: Study user attribute naming what a flint study optimises.
STUDY_ATTR = "flint"
#: Trial user attribute: the worker (``host:pid``), and the backtest's figures or the error.
TRIAL_ATTR = "flint"
#: Characters of an error message kept with a failed trial.
ERROR_CHARS = 300


@attrs.frozen
class TrialResult:
    """One trial of the study.

    ``state`` is Optuna's (``COMPLETE``, ``PRUNED``, ``FAIL``, ...); ``value`` is the
    metric (None for a failed trial); ``worker`` is ``host:pid`` of the process that
    ran it. The backtest figures are of the whole data, or with pruning: PnL and
    trades summed over the folds, win rate over all their trades, the deepest fold
    drawdown and the mean fold Sharpe ratio. A failed trial has the type and message
    of the error its backtest raised instead.
    """

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    worker: str | None = None
    total_pnl: float | None = None
    sharpe_ratio: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    total_trades: int | None = None
    error_type: str | None = None
    error_message: str | None = None


@attrs.frozen
class CommonError:
    """The error most failed trials raised: its type, how many raised it, a message of it."""

    error_type: str
    trials: int
    message: str

    def __str__(self) -> str:
        return f"{self.error_type} in {self.trials} trial(s), e.g. {self.message}"


def common_error(trials: list[TrialResult]) -> CommonError | None:
    """The most frequent error type of ``trials`` (ties: the earliest trial's) and its most
    frequent message; None when no trial failed with an error."""
    failed = sorted((t for t in trials if t.error_type is not None), key=lambda t: t.number)
    if not failed:
        return None
    error_type, count = Counter(str(t.error_type) for t in failed).most_common(1)[0]
    messages = Counter(t.error_message for t in failed if t.error_type == error_type)
    return CommonError(error_type, count, str(messages.most_common(1)[0][0]))


class StudyFailed(RuntimeError):
    """No trial of the study completed: every one failed or was pruned."""

    def __init__(self, strategy: str, trials: list[TrialResult]) -> None:
        self.failed = sum(1 for t in trials if t.state == "FAIL")
        self.error = common_error(trials)
        pruned = sum(1 for t in trials if t.state == "PRUNED")
        why = f"{self.failed} of {len(trials)} failed" + (f", {pruned} pruned" if pruned else "")
        super().__init__(f"no trial of {strategy} completed: {why}"
                         + (f"; most common error: {self.error}" if self.error else ""))


@attrs.frozen
class OptimizationResult:
    """Best parameters and every trial of the study: completed ones best first, then the rest.

    ``failed_trials`` counts the trials whose backtest raised; ``most_common_error`` is
    their most frequent error (None when none failed). ``param_importance`` maps each
    parameter to its share of the metric's variation (PED-ANOVA over the completed
    trials; empty when there are too few of them).
    """

    best_value: float
    best_params: dict[str, Any]
    trials: list[TrialResult]
    metric: str
    direction: str
    study_name: str
    failed_trials: int = 0
    most_common_error: CommonError | None = None
    param_importance: dict[str, float] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return attrs.asdict(self)


@attrs.frozen
class _Plan:
    """Everything a worker needs to join the study."""

    strategy_class: type
    schema: space.Schema
    metric: str
    settings: RunSettings
    storage: str | None  # an Optuna URL, or None for the journal file below
    journal: str | None
    study_name: str
    sampler: str
    seed: int
    pruning: bool
    n_folds: int


class _Budget:
    """Trials a call may still start and trials it finished, shared by its workers."""

    def __init__(self, ctx: Any, total: int) -> None:
        self.left = ctx.Value("i", total)
        self.done = ctx.Value("i", 0)

    def claim(self) -> bool:
        with self.left.get_lock():
            if self.left.value <= 0:
                return False
            self.left.value -= 1
            return True

    def finish(self) -> None:
        with self.done.get_lock():
            self.done.value += 1

    def cancel(self) -> None:
        with self.left.get_lock():
            self.left.value = 0


class _Grid(optuna.samplers.GridSampler):
    """Optuna's grid sampler over the points that keep the constraints of the space.

    Optuna grids are whole products; the points that break a constraint are dropped
    after the seeded shuffle, so every process still walks the same order.
    """

    def __init__(self, schema: space.Schema, seed: int) -> None:
        super().__init__(space.grid(schema), seed=seed)
        self._all_grids = [
            point for point in self._all_grids
            if space.allows(schema, dict(zip(self._param_names, point, strict=True)))
        ]
        self._n_min_trials = len(self._all_grids)


def _make_sampler(name: str, seed: int, schema: space.Schema) -> optuna.samplers.BaseSampler:
    if name == "grid":
        return _Grid(schema, seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _worker_seed(plan: _Plan, worker: int) -> int:
    """``seed + worker`` for a private study. In a shared storage, processes on several
    machines may start with the same seed: salt it with host and process so they
    explore different parameters instead of repeating each other. The grid sampler
    needs one seed everywhere: it shuffles the grid with it and gives trial ``k`` the
    ``k``-th point, so every process must see the same order."""
    if plan.sampler == "grid":
        return plan.seed
    if plan.storage is None:
        return plan.seed + worker
    salt = f"{plan.seed}:{worker}:{socket.gethostname()}:{os.getpid()}"
    return int.from_bytes(hashlib.sha256(salt.encode()).digest()[:4], "little")


def _summary(results: list[Any]) -> dict[str, Any]:
    trades = sum(int(r.total_trades) for r in results)
    winners = sum(int(r.winning_trades) for r in results)
    return {
        "total_pnl": float(sum(r.total_pnl for r in results)),
        "sharpe_ratio": float(sum(r.sharpe_ratio for r in results) / len(results)),
        "max_drawdown": float(max(r.max_drawdown for r in results)),
        "win_rate": winners / trades if trades else 0.0,
        "total_trades": trades,
    }


def _objective(plan: _Plan, candles: Any) -> Callable[[optuna.Trial], float]:
    resolution = int(data.primary(candles).resolution_s)
    folds = data.split(candles, plan.n_folds) if plan.pruning else [candles]
    capital = plan.settings.initial_capital

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial, plan.schema)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        results, scores = [], []
        try:
            for step, part in enumerate(folds):
                results.append(backtest(plan.strategy_class, params, part, plan.settings))
                scores.append(score(results[-1], plan.metric, resolution, capital))
                if plan.pruning:
                    trial.report(sum(scores) / len(scores), step)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
        except optuna.TrialPruned:
            trial.set_user_attr(TRIAL_ATTR, {"worker": worker})
            raise
        except Exception as exc:  # any error of the strategy fails this trial only
            message = " ".join(str(exc).split())[:ERROR_CHARS]
            trial.set_user_attr(TRIAL_ATTR, {"worker": worker, "error": {
                "type": getattr(exc, "error_type", None) or type(exc).__name__,
                "message": message}})
            raise
        # one storage write per trial: every write to a shared storage costs
        trial.set_user_attr(TRIAL_ATTR, {"worker": worker, "backtest": _summary(results)})
        return sum(scores) / len(scores)

    return objective


class _FileLock:
    """An exclusive ``flock`` on a file, waited for in the kernel.

    Optuna's default journal lock polls with a back-off of up to a second, so under
    contention a worker sleeps long after the lock is free; this one wakes at once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        assert self.fd is not None
        os.close(self.fd)  # closing the file releases the lock
        self.fd = None


def _storage(plan: _Plan) -> Any:
    if plan.journal is not None:
        from optuna.storages.journal import JournalFileBackend

        lock = _FileLock(plan.journal + ".lock") if os.name == "posix" else None
        return optuna.storages.JournalStorage(JournalFileBackend(plan.journal, lock_obj=lock))
    assert plan.storage is not None
    return _rdb(plan.storage)


def _rdb(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at ``url``.

    Processes that start together on a new database race to create its tables: the
    loser's attempt fails once the winner's are there, and a retry finds them made.
    SQLite files are written by one process at a time: wait for the lock, not fail.
    """
    import sqlalchemy.exc

    options = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    attempt = 0
    while True:
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=options)
        except sqlalchemy.exc.SQLAlchemyError:
            attempt += 1
            if attempt == RDB_ATTEMPTS:
                raise
            time.sleep(0.1 * attempt)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna logs every failed trial as a warning: keep only errors meanwhile."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _work(plan: _Plan, storage: Any, candles: Any, budget: _Budget, worker: int,
          on_trial: Callable[[], None] | None = None) -> None:
    """Run trials of the study until the budget is spent (or a grid is exhausted)."""
    study = optuna.load_study(
        study_name=plan.study_name,
        storage=storage,
        sampler=_make_sampler(plan.sampler, _worker_seed(plan, worker), plan.schema),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if plan.pruning
        else optuna.pruners.NopPruner(),
    )
    if not budget.claim():
        return

    def after(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        budget.finish()
        if on_trial is not None:
            on_trial()
        if not budget.claim():
            study.stop()

    with _quiet():
        study.optimize(_objective(plan, candles), n_trials=None, catch=(Exception,),
                       callbacks=[after], gc_after_trial=False)


_WORKER: dict[str, Any] = {}


def _init_worker(plan: _Plan, packed: data.Packed, budget: _Budget) -> None:
    """Runs once per worker process: the plan, the budget and the candles arrive here.

    Ctrl-C is the parent's to handle: it stops the pool (workers ignore SIGINT).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(plan=plan, candles=data.unpack(packed), budget=budget,
                   storage=_storage(plan))


def _worker_task(worker: int) -> None:
    _work(_WORKER["plan"], _WORKER["storage"], _WORKER["candles"], _WORKER["budget"], worker)


def _scratch() -> str | None:
    """Where a private study's journal goes: RAM where Linux offers it (the journal syncs
    every write to disk, which costs milliseconds per write on a real disk), else the
    temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _importance(study: optuna.Study) -> dict[str, float]:
    from optuna.importance import PedAnovaImportanceEvaluator

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2 or not complete[0].params:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=PedAnovaImportanceEvaluator()
            )
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}
    return {k: float(v) for k, v in found.items() if math.isfinite(v)}


def _tie_key(params: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """Orders parameter sets deterministically, whatever the types of their values."""
    return [(k, type(v).__name__, v) for k, v in sorted(params.items())]


class StrategyOptimizer:
    """Search the parameters of ``strategy_class`` for the best value of ``metric``.

    :param metric: one of :data:`flint.optimization.objective.METRICS`
        (``max_drawdown`` is minimised, the others maximised).
    :param n_trials: trials this call runs (for ``sampler="grid"``: at most the grid
        points the study has not evaluated yet).
    :param n_jobs: worker processes sharing the study.
    :param storage: Optuna storage URL; with ``study_name`` the study is resumable and
        other processes or machines running the same call join it. A study remembers
        the strategy and metric it optimises; joining it for others is an error.
    :param sampler: ``"tpe"`` (default), ``"random"`` or ``"grid"``; seeded by ``seed``
        (worker ``i`` uses ``seed + i``). With ``storage`` the seeds are also salted with
        the host and process, so machines joining a study do not repeat each other's
        trials; only private studies (no ``storage``) and grids are reproducible. The
        grid sampler visits every point once, in an order shuffled by ``seed``.
    :param pruning: score each trial on ``n_folds`` consecutive folds, report the running
        mean after each and let a median pruner stop poor trials early; the trial's
        value is then the mean of its fold scores.
    :param param_space: overrides of ``parameters()`` (see :func:`flint.optimization.space.merge`).
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
        param_space: Mapping[str, Any] | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        schema = _space_of(strategy_class, param_space)
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler '{sampler}'; choose one of: {', '.join(SAMPLERS)}")
        if n_jobs < 1 or n_trials < 1:
            raise ValueError(f"n_jobs and n_trials must be >= 1, got {n_jobs} and {n_trials}")
        if pruning and n_folds < 2:
            raise ValueError(f"pruning needs n_folds >= 2, got {n_folds}")
        self.direction = direction(metric)
        self.grid_size = space.grid_size(schema) if sampler == "grid" else None
        self.strategy_class = strategy_class
        self.schema = schema
        self.candles = data.normalise(candles)
        if pruning:
            data.split(self.candles, n_folds)  # fail now if the folds cannot be cut
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

    def optimize(self, progress: Callable[[int, int], None] | None = None) -> OptimizationResult:
        """Run the trials; ``progress(done, total)`` is called as this call's trials finish."""
        with tempfile.TemporaryDirectory(prefix="flint-study-", dir=_scratch()) as tmp:
            shared = self.storage is None and self.n_jobs > 1
            plan = _Plan(self.strategy_class, self.schema, self.metric, self.settings,
                         self.storage, os.path.join(tmp, "study.journal") if shared else None,
                         self.study_name, self.sampler, self.seed, self.pruning, self.n_folds)
            local = self.storage is None and self.n_jobs == 1
            storage = optuna.storages.InMemoryStorage() if local else _storage(plan)
            with _quiet():
                study = self._join(storage)
            total = self._total(study)
            if total == 0:
                raise ValueError(
                    f"study '{self.study_name}' has evaluated every point of the grid already"
                )
            ctx = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            )
            budget = _Budget(ctx, total)
            if self.n_jobs == 1:
                _work(plan, storage, self.candles, budget, 0,
                      None if progress is None else lambda: progress(budget.done.value, total))
            else:
                self._run_workers(ctx, plan, budget, progress, total)
            return self._collect(storage)

    def _join(self, storage: Any) -> optuna.Study:
        """Create the study or join it, checking it optimises the same thing."""
        study = optuna.create_study(storage=storage, study_name=self.study_name,
                                    direction=self.direction, load_if_exists=True)
        purpose = {"strategy": self.strategy_class.__name__, "metric": self.metric}
        found = study.user_attrs.get(STUDY_ATTR)
        if found is None:
            study.set_user_attr(STUDY_ATTR, purpose)
        elif found != purpose or study.direction.name.lower() != self.direction:
            raise ValueError(
                f"study '{self.study_name}' optimises {found.get('metric')} of "
                f"{found.get('strategy')}, not {self.metric} of {purpose['strategy']}: "
                f"choose another study name"
            )
        return study

    def _total(self, study: optuna.Study) -> int:
        if self.grid_size is None:
            return self.n_trials
        evaluated = len(study.get_trials(deepcopy=False))
        return max(0, min(self.n_trials, self.grid_size - evaluated))

    def _run_workers(self, ctx: Any, plan: _Plan, budget: _Budget,
                     progress: Callable[[int, int], None] | None, total: int) -> None:
        packed = data.pack(self.candles)

        def failed(_exc: BaseException) -> None:
            budget.cancel()  # the other workers stop after their current trial

        with ctx.Pool(self.n_jobs, initializer=_init_worker,
                      initargs=(plan, packed, budget)) as pool:
            jobs = [pool.apply_async(_worker_task, (i,), error_callback=failed)
                    for i in range(self.n_jobs)]
            reported = -1
            while True:
                pending = [job for job in jobs if not job.ready()]
                if pending:
                    pending[0].wait(POLL_S)
                done = budget.done.value
                if progress is not None and done != reported:
                    reported = done
                    progress(done, total)
                if not pending:
                    break
            for job in jobs:
                job.get()  # re-raise a worker's error here

    def _collect(self, storage: Any) -> OptimizationResult:
        study = optuna.load_study(study_name=self.study_name, storage=storage)
        complete: list[TrialResult] = []
        others: list[TrialResult] = []
        for t in study.get_trials(deepcopy=False):
            found = t.user_attrs.get(TRIAL_ATTR, {})
            error = found.get("error", {})
            row = TrialResult(
                number=t.number, params=dict(t.params), value=t.value, state=t.state.name,
                worker=found.get("worker"), **found.get("backtest", {}),
                error_type=error.get("type"), error_message=error.get("message"),
            )
            if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None:
                complete.append(row)
            else:
                others.append(row)
        if not complete:
            raise StudyFailed(self.strategy_class.__name__, others)
        sign = -1.0 if self.direction == "minimize" else 1.0
        # best first; ties broken by the parameters so the winner does not depend on timing
        complete.sort(key=lambda r: (-sign * float(r.value or 0.0), _tie_key(r.params)))
        best = complete[0]
        return OptimizationResult(
            best_value=float(best.value or 0.0), best_params=dict(best.params),
            trials=complete + others, metric=self.metric, direction=self.direction,
            study_name=self.study_name,
            failed_trials=sum(1 for t in others if t.state == "FAIL"),
            most_common_error=common_error(others), param_importance=_importance(study),
        )


def _space_of(strategy_class: type, overrides: Mapping[str, Any] | None) -> space.Schema:
    schema = strategy_class.parameters()
    if not schema:
        raise ValueError(f"{strategy_class.__name__}.parameters() is empty: nothing to tune")
    try:
        return space.merge(schema, overrides or {})
    except ValueError as exc:
        raise ValueError(f"{strategy_class.__name__}: {exc}") from None
