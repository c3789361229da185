"""``StrategyOptimizer``: Optuna studies over a strategy's ``parameters()``.

Trials run in worker **processes** (``n_jobs``) that share one study through a storage:
the one you pass (``storage=`` a PostgreSQL or SQLite URL, plus ``study_name=``, which
makes a study resumable and joinable from other processes and machines), else a
nameless journal file (several workers) or memory (one); see
:mod:`flint.optimization.storage`. Each worker receives the candles once, as numpy
columns, when it starts; trials carry only their parameters. A study holds
``n_trials`` trials when done, never more, never fewer: every process counts the
study's trials under its claim lock before starting one, so a fast worker takes more
of them, and processes that join a stored study share its total. Worker processes
die with the process that started them (:func:`flint.processes.die_with_parent`).

A trial whose backtest raises (the strategy refuses or cannot run its parameters) is
recorded as failed, with its error, and the search goes on; only a study in which no
trial completes is an error (:class:`StudyFailed`).
"""

import contextlib
import hashlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import optuna

from flint.backtest.journal import redact
from flint.optimization import data, space
from flint.optimization import storage as storage_
from flint.optimization.defaults import HEARTBEAT_S, SAMPLERS
from flint.optimization.objective import RunSettings, backtest, direction, score
from flint.processes import die_with_parent

#: Seconds between two progress reports while workers run.
POLL_S = 0.2
#: Study user attribute naming what a flint study optimises.
STUDY_ATTR = "flint"
#: Study user attribute: the trials the study holds when done (what a resume continues to).
TOTAL_ATTR = "flint_trials"
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
    storage: str | None  # an Optuna URL, or None for a private study
    journal: tuple[str, str, str] | None  # a private journal: its file and two locks
    study_name: str
    total: int  # trials the study holds when done
    sampler: str
    seed: int
    pruning: bool
    n_folds: int
    heartbeat_s: int


class _Shared:
    """What the workers of one call share: a stop flag and the study's finished trials."""

    def __init__(self, ctx: Any) -> None:
        self.stop = ctx.Event()
        self.finished = ctx.Value("i", 0)

    def seen(self, finished: int) -> None:
        with self.finished.get_lock():
            self.finished.value = max(self.finished.value, finished)


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

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                    state: optuna.trial.TrialState, values: Any) -> None:
        """Nothing: the study's total (capped at the grid's size) ends the search, and
        Optuna's stop() at the last point only works inside ``study.optimize``."""


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
        except optuna.exceptions.UpdateFinishedTrialError:
            raise  # another process finished this trial meanwhile
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


def _open(plan: _Plan) -> Any:
    if plan.journal is not None:
        return storage_.open_journal(plan.journal[0], plan.journal[1])
    assert plan.storage is not None
    return storage_.open_shared(plan.storage, plan.study_name, plan.heartbeat_s)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna logs every failed trial as a warning, and warns that heartbeats are meant
    for ``study.optimize`` (flint runs them itself): keep only errors meanwhile."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            yield
    finally:
        optuna.logging.set_verbosity(before)


#: What :func:`_claim` returns when the study needs no more trials from this process.
_DONE = "done"
#: ... when the budget is spent but other processes still run trials that may be orphaned.
_WAIT = "wait"


def _claim(study: optuna.Study, store: Any, study_id: int, plan: _Plan, lock: Any,
           heartbeat: storage_.Heartbeat | None, shared: _Shared) -> Any:
    """The next trial this process runs (new, queued or orphaned), ``_WAIT`` or ``_DONE``.

    Counting and creating happen under the study's claim lock, so all processes
    together create exactly ``plan.total`` trials. ``store`` is the study's storage
    itself (``study`` reaches it through Optuna's cache).
    """
    with lock() as connection:
        found = storage_.counts(store, study_id, connection)
        shared.seen(found["COMPLETE"] + found["PRUNED"] + found["FAIL"])
        lost: list[int] = []
        if found.total() >= plan.total and not found["WAITING"]:
            lost = storage_.orphans(store, study_id) if heartbeat is not None else []
            if not lost:
                return _WAIT if heartbeat is not None and found["RUNNING"] else _DONE
            storage_.requeue(study._storage, lost)  # through the cache, which must know
        if found["WAITING"] or lost:
            trial = study.ask()  # the queued trial (Optuna's ask() looks for one first)
        else:  # a new trial; ask() would first query the queue, which counts showed empty
            trial = optuna.Trial(study, study._storage.create_new_trial(study_id))
        if heartbeat is not None:  # before the lock goes: never a silent trial
            heartbeat.beat(trial._trial_id, connection)
        return trial


def _run(study: optuna.Study, trial: optuna.Trial,
         objective: Callable[[optuna.Trial], float]) -> None:
    """Run one trial and record its outcome; another process may have finished it first
    (it took an orphan over while this one was merely slow): then keep theirs.

    The outcome is written in one storage call: ``study.tell()`` would also read the
    trial back twice, which costs a shared storage more than the write itself, and none
    of flint's samplers uses the hook it calls.
    """
    state, values = optuna.trial.TrialState.COMPLETE, None
    try:
        values = [objective(trial)]
    except optuna.TrialPruned:
        state = optuna.trial.TrialState.PRUNED
    except optuna.exceptions.UpdateFinishedTrialError:
        return
    except Exception:  # the objective kept the error with the trial
        state = optuna.trial.TrialState.FAIL
    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
        study._storage.set_trial_state_values(trial._trial_id, state, values)


def _work(plan: _Plan, store: Any, candles: Any, worker: int, shared: _Shared,
          on_trial: Callable[[], None] | None = None) -> None:
    """Run trials of the study until it holds ``plan.total`` finished ones (or the call
    stops). With heartbeats (shared storages), wait for the trials other processes run
    and take over those whose process died."""
    study = optuna.load_study(
        study_name=plan.study_name,
        storage=store,
        sampler=_make_sampler(plan.sampler, _worker_seed(plan, worker), plan.schema),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5) if plan.pruning
        else optuna.pruners.NopPruner(),
    )
    study_id = store.get_study_id_from_name(plan.study_name)
    lock = storage_.claim_lock(store, plan.study_name,
                               plan.journal[2] if plan.journal is not None else None)
    heartbeat = storage_.Heartbeat(store) if plan.storage is not None else None
    objective = _objective(plan, candles)
    try:
        with _quiet():
            while not shared.stop.is_set():
                found = _claim(study, store, study_id, plan, lock, heartbeat, shared)
                if on_trial is not None:
                    on_trial()
                if found is _DONE:
                    return
                if found is _WAIT:
                    time.sleep(min(POLL_S * 5, plan.heartbeat_s))
                    continue
                _run(study, found, objective)
                if heartbeat is not None:
                    heartbeat.beat(None)
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _worker_main(plan: _Plan, packed: data.Packed, shared: _Shared, worker: int,
                 parent: int, report: Any) -> None:
    """A worker process: dies with its parent, receives the candles once, runs trials.

    Ctrl-C is the parent's to handle (workers ignore SIGINT). Whatever the worker
    raises goes back to the parent through ``report``.
    """
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outcome: BaseException | None = None
    try:
        _work(plan, _open(plan), data.unpack(packed), worker, shared)
    except BaseException as exc:
        outcome = exc
    try:
        report.send(outcome)
    except Exception:  # the error does not pickle: send what it said
        report.send(RuntimeError(f"{type(outcome).__name__}: {outcome}"))


def _died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


def _fail_abandoned(store: Any, study_name: str, deaths: list[str]) -> None:
    """Trials of a private study still RUNNING once its workers are gone: a worker died
    running them. Record them as failed, with how the worker ended."""
    study_id = store.get_study_id_from_name(study_name)
    why = "; ".join(deaths) or "its worker process ended"
    running = store.get_all_trials(study_id, deepcopy=False,
                                   states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        store.set_trial_user_attr(trial._trial_id, TRIAL_ATTR, {"error": {
            "type": "WorkerDied", "message": f"{why} during this trial"}})
        store.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)


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
    :param n_trials: trials the study holds when done (for ``sampler="grid"``: at most
        the grid's points). A private study starts empty, so that is what this call
        runs; a stored study counts the trials every process and earlier call ran.
        None with ``resume=True``: the total the study was last run with.
    :param n_jobs: worker processes sharing the study.
    :param storage: Optuna storage URL (PostgreSQL or SQLite); with ``study_name`` the
        study is resumable and other processes or machines running the same call join
        it. A study remembers the strategy and metric it optimises; joining it for
        others is an error.
    :param resume: continue the stored study ``study_name``, which must exist.
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
    :param heartbeat_s: with ``storage``, seconds between two heartbeats of a running
        trial; a trial silent for :data:`~flint.optimization.defaults.GRACE_BEATS` times
        as long (its process or machine died) is run again by another process.
    """

    def __init__(
        self,
        strategy_class: type,
        candles: Any,
        metric: str = "sharpe_ratio",
        n_trials: int | None = 100,
        initial_capital: float = 10_000.0,
        fee_rate: float = 0.0005,
        *,
        n_jobs: int = 1,
        storage: str | None = None,
        study_name: str | None = None,
        resume: bool = False,
        sampler: str = "tpe",
        seed: int = 0,
        pruning: bool = False,
        n_folds: int = 4,
        param_space: Mapping[str, Any] | None = None,
        engine_options: Mapping[str, Any] | None = None,
        heartbeat_s: int = HEARTBEAT_S,
    ) -> None:
        schema = _space_of(strategy_class, param_space)
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler '{sampler}'; choose one of: {', '.join(SAMPLERS)}")
        if n_trials is None and not resume:
            raise ValueError("n_trials is needed unless resuming a stored study")
        if n_jobs < 1 or (n_trials is not None and n_trials < 1):
            raise ValueError(f"n_jobs and n_trials must be >= 1, got {n_jobs} and {n_trials}")
        if resume and storage is None:
            raise ValueError("resuming needs the storage the study is in (--storage URL, "
                             "optuna_storage in flint.yaml or FLINT_OPTUNA_STORAGE)")
        if pruning and n_folds < 2:
            raise ValueError(f"pruning needs n_folds >= 2, got {n_folds}")
        if heartbeat_s < 1:
            raise ValueError(f"heartbeat_s must be >= 1, got {heartbeat_s}")
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
        self.resume = resume
        self.sampler = sampler
        self.seed = seed
        self.pruning = pruning
        self.n_folds = n_folds
        self.heartbeat_s = heartbeat_s
        self.settings = RunSettings(initial_capital, fee_rate, dict(engine_options or {}))

    def optimize(self, progress: Callable[[int, int], None] | None = None) -> OptimizationResult:
        """Run the trials; ``progress(finished, total)`` is called as the study's trials
        finish (as this call sees them)."""
        private = self.storage is None and self.n_jobs > 1
        with storage_.private_files() if private else contextlib.nullcontext() as files:
            plan = self._plan(files, 0)
            local = self.storage is None and self.n_jobs == 1
            store = optuna.storages.InMemoryStorage() if local else _open(plan)
            with _quiet():
                plan = attrs.evolve(plan, total=self._join(store))
            ctx = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            )
            shared = _Shared(ctx)
            if self.n_jobs == 1:
                report = (None if progress is None
                          else lambda: progress(shared.finished.value, plan.total))
                _work(plan, store, self.candles, 0, shared, report)
            else:
                deaths = self._run_workers(ctx, plan, shared, progress)
                if private:
                    _fail_abandoned(store, self.study_name, deaths)
            return self._collect(store)

    def _plan(self, files: tuple[str, str, str] | None, total: int) -> _Plan:
        return _Plan(self.strategy_class, self.schema, self.metric, self.settings,
                     self.storage, files, self.study_name, total, self.sampler, self.seed,
                     self.pruning, self.n_folds, self.heartbeat_s)

    def _join(self, store: Any) -> int:
        """Create the study or join it, checking it optimises the same thing; the number
        of trials it holds when done."""
        if self.resume and self.study_name not in {
            s.study_name for s in store.get_all_studies()
        }:
            raise ValueError(f"no study '{self.study_name}' to resume in "
                             f"{redact(str(self.storage))}")
        study = optuna.create_study(storage=store, study_name=self.study_name,
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
        total = self.n_trials if self.n_trials is not None else study.user_attrs.get(TOTAL_ATTR)
        if total is None:
            raise ValueError(f"study '{self.study_name}' records no number of trials: "
                             f"give it (--trials)")
        if study.user_attrs.get(TOTAL_ATTR) != total:
            study.set_user_attr(TOTAL_ATTR, total)
        return int(total) if self.grid_size is None else min(int(total), self.grid_size)

    def _run_workers(self, ctx: Any, plan: _Plan, shared: _Shared,
                     progress: Callable[[int, int], None] | None) -> list[str]:
        """Start the worker processes and follow their progress; raise the first error
        a worker raised, else return how the workers that died without one ended."""
        packed = data.pack(self.candles)
        running: dict[Any, tuple[Any, Any]] = {}
        for worker in range(self.n_jobs):
            reader, writer = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_worker_main, name=f"flint-optimizer-{worker}",
                                  args=(plan, packed, shared, worker, os.getpid(), writer),
                                  daemon=True)
            process.start()
            writer.close()
            running[process.sentinel] = (process, reader)
        errors: list[BaseException] = []
        deaths: list[str] = []
        reported = -1
        try:
            while running:
                for sentinel in multiprocessing.connection.wait(list(running), POLL_S):
                    process, reader = running.pop(sentinel)
                    process.join()
                    try:
                        outcome = reader.recv()
                    except EOFError:  # it died before it could say anything
                        outcome = None
                    if outcome is not None:
                        errors.append(outcome)
                        shared.stop.set()  # the other workers stop after their trial
                    elif process.exitcode != 0:
                        deaths.append(f"worker process {process.pid} {_died(process.exitcode)}")
                done = shared.finished.value
                if progress is not None and done != reported:
                    reported = done
                    progress(done, plan.total)
        finally:
            for process, _reader in running.values():  # interrupted: stop the rest now
                process.kill()
                process.join()
        if errors:
            raise errors[0]
        return deaths


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
