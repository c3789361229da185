"""Paper sessions: a strategy on a venue's closed bars, persisted, resumable, recorded.

A session lives in the store's journal under the account ``paper:<session>``: its
configuration (hashed: the same fill model, fees and capital as the backtest), every
input it consumed (the warm-up bars from the store, then each bar and the funding
settled by its close), the paper venue's changes
(:mod:`flint.paper.venue`) and the orders, fills and risk decisions of its
:class:`~flint.execution.paper_broker.PaperBroker`.

One bar: the venue processes it (resting orders, funding); the strategy runs on
it with ``history`` built as the backtest builds it (a window over warm-up plus
session bars); v1 signals become orders as in the backtest; market orders fill at
the close once their latency has passed. The broker's orders, fills and decisions
of the bar, and the bar and its funding with the venue's changes (as one) are one
journal write at its end (:meth:`~flint.live.journal.OrderJournal.batched`): the venue
lives in this process, so a crash loses its changes with the bar's, and the bar,
not recorded, is run again on resume like any bar missed while down.

Resuming (after a stop, a crash or ``kill -9``): the venue takes its last state,
the broker reconciles the journal with it, the strategy is brought to where it was
by a backtest over the recorded bars, and the last recorded bar is run again (each
step is idempotent: orders the venue has are not sent twice). Bars that closed
while the session was down come next from the feed.

:meth:`PaperSession.stop` cancels resting orders and keeps positions;
:meth:`PaperSession.kill` cancels them and flattens positions at the last close.
"""

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from flint.backtest.engine import HISTORY_SIZE, BacktestEngine, accepts_ctx
from flint.execution.paper_broker import PaperBroker
from flint.live.journal import Event, Kind, OrderJournal
from flint.live.risk_settings import risk_engine, risk_settings
from flint.paper.lifecycle import SessionLifecycle
from flint.paper.venue import PaperVenue, SavedState, _candle, candle_row
from flint.plugins import get_fill_model
from flint.risk.engine import RiskEngine
from flint.store import FlintStore
from flint_core.enums import Side, Signal
from flint_core.loop import DEFAULT_VENUE
from flint_core.records import Candle, FundingRate
from flint_core.series import CandleSeries
from flint_core.terms import VenueTerms

#: Statuses a session is in (the latest ``session`` event says which).
STATUSES = ("running", "stopped", "killed", "ended")
ACCOUNT_PREFIX = "paper:"


class SessionError(Exception):
    """A session cannot start or resume (the message says why)."""


@attrs.frozen
class PaperConfig:
    """What a paper session trades with; :meth:`digest` is stored with the session.

    ``fill_model`` / ``fill_options`` name a registered model
    (:func:`flint.plugins.get_fill_model`; None: the venue's default);
    ``warmup_bars`` stored bars before the first live bar must exist; ``risk`` applies
    the risk settings of flint.yaml as live trading does: the settings at creation are
    stored with the session (:mod:`flint.live.risk_settings`) and used on resume and by
    the parity replay.
    """

    strategy: str
    venue: str
    market: str
    resolution_s: int = 3600
    params: dict[str, Any] = attrs.field(factory=dict)
    initial_capital: float = 10_000.0
    fee_rate: float = 0.0005
    fill_model: str | None = None
    fill_options: dict[str, Any] = attrs.field(factory=dict)
    history_size: int = HISTORY_SIZE
    warmup_bars: int = 200
    allow_short: bool = False
    risk: bool = False

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def digest(self, terms: VenueTerms | None = None) -> str:
        """SHA-256 of the configuration (and the venue terms it resolved to)."""
        data = self.to_json()
        if terms is not None:
            data["terms"] = [terms.name, terms.taker_rate, terms.maker_rate,
                             terms.base_latency_s, terms.latency_jitter_s]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def make_fill_model(self) -> Any:
        """A new instance of the session's fill model."""
        return get_fill_model(self.fill_model, venue=self.venue, **self.fill_options)

    def engine(self, strategy: Any, funding: list[FundingRate] | None = None,
               risk: RiskEngine | None = None) -> BacktestEngine:
        """The backtest engine configured as this session (the parity and resume replay)."""
        return BacktestEngine(strategy, self.initial_capital, self.fee_rate,
                              self.make_fill_model(), funding, max_runtime_s=0.0,
                              history_size=self.history_size, allow_short=self.allow_short,
                              risk=risk)

    def risk_engine(self, settings: dict[str, Any] | None) -> RiskEngine | None:
        """The session's risk engine from its stored ``settings`` (None without ``risk``)."""
        if not self.risk:
            return None
        if settings is None:  # a session recorded before the settings were stored
            from flint.config import load_config

            settings = risk_settings(load_config())
        return risk_engine(settings, self.initial_capital)

    def terms(self) -> VenueTerms:
        """The venue's terms as the backtest charges them (the default venue's for a
        venue no plugin describes)."""
        engine = self.engine(_NoStrategy())
        try:
            return engine.venue_terms(self.venue)
        except KeyError:
            return engine.venue_terms(DEFAULT_VENUE)


class Bars:
    """The session's candles (warm-up first) as one series root that grows in place by a
    bar each step, so the strategy's ``history`` costs O(1) per bar and the indicators
    cached on the root extend by the new bar instead of being computed again."""

    def __init__(self) -> None:
        self.candles: list[Candle] = []
        self._ts = np.empty(1024, dtype=np.int64)
        self._columns = np.empty((5, 1024))  # open, high, low, close, volume
        self._root: CandleSeries | None = None
        self._history: CandleSeries | None = None

    def extend(self, candles: Sequence[Candle]) -> None:
        moved = False
        for candle in candles:
            n = len(self.candles)
            if n == self._ts.shape[0]:
                self._ts = np.concatenate([self._ts, np.empty(n, dtype=np.int64)])
                grown = np.empty((5, 2 * n))
                grown[:, :n] = self._columns
                self._columns = grown
                moved = True
            self._ts[n] = candle.ts
            column = self._columns[:, n]
            column[0], column[1], column[2] = candle.open, candle.high, candle.low
            column[3], column[4] = candle.close, candle.volume
            self.candles.append(candle)
        root = self._root
        if root is not None:
            root.grow(len(self.candles), self._all_columns() if moved else None)

    def _all_columns(self) -> list[Any]:
        return [self._ts, *self._columns]

    def series(self) -> CandleSeries:
        """All candles as one series: the same root every call, grown by each bar."""
        root = self._root
        if root is None:
            first = self.candles[0]
            root = CandleSeries(self._ts[:0], *self._columns[:, :0], first.market,
                                first.resolution_s, first.venue)
            root.grow(len(self.candles), self._all_columns())
            self._root = root
        return root

    def history(self, size: int) -> CandleSeries:
        """The strategy's ``history`` at the newest bar, as the backtest builds it: the
        last ``size`` bars before it, moved onto it (one window, moved each bar: the
        strategy must not keep it past the call, as in the backtest)."""
        n = len(self.candles) - 1
        window = self._history
        if window is None:
            window = self._history = self.series().window(0, 0)
        window.move_to(max(n - size, 0), n, self.candles[-1])
        return window


def load_warmup(store: FlintStore, market: str, resolution_s: int, venue: str, bars: int,
                start_ts: int | None = None) -> list[Candle]:
    """The ``bars`` stored bars before ``start_ts`` (default: the last stored ones); a
    :class:`SessionError` saying what is missing when the store has fewer."""
    warm = store.query_candles(market, resolution_s, None, start_ts, limit=bars, venue=venue)
    if start_ts is not None and len(warm) > bars:
        warm = warm[len(warm) - bars:]
    if len(warm) < bars:
        until = "" if start_ts is None else f" up to ts={start_ts}"
        raise SessionError(
            f"not enough warm-up history: {len(warm)} stored {venue} {market} "
            f"{resolution_s}s bars{until}, the session needs {bars} (flint data download / "
            f"import them, or lower --warmup)")
    return list(warm.to_list())


def signal_orders(signal: Any, held: float, allow_short: bool) -> list[tuple[Side, bool]]:
    """The market orders a v1 signal becomes, as the backtest trades it, given the
    position ``held`` at the bar's start: ``(side, True)`` closes the position against
    the signal (reduce-only), ``(side, False)`` then goes all-in (only long without
    ``allow_short``, and only from flat when long)."""
    if signal not in (Signal.BUY, Signal.SELL):
        raise TypeError(f"on_candle must return a Signal (BUY, SELL or HOLD), got {signal!r}")
    side = Side.LONG if signal == Signal.BUY else Side.SHORT
    if (held > 0.0 and side is Side.LONG) or (held < 0.0 and side is Side.SHORT):
        return []
    plan = [(side, True)] if held != 0.0 else []
    if allow_short or (side is Side.LONG and held == 0.0):
        plan.append((side, False))
    return plan


class _NoStrategy:
    def on_candle(self, candle: Any, history: Any) -> Signal:
        return Signal.HOLD

    def reset(self) -> None:
        pass


def _funding_row(rate: FundingRate) -> list[Any]:
    return [rate.market, rate.ts, rate.rate, rate.oracle_price, rate.mark_price, rate.slot,
            rate.source, rate.interval_s]


@attrs.define
class Recording:
    """What a session consumed and its status, read back from the journal."""

    config: dict[str, Any]
    digest: str
    status: str
    warmup: list[Candle]
    bars: list[Candle]
    funding: list[list[FundingRate]]
    #: The venue's last state (a :meth:`~flint.paper.venue.PaperVenue.snapshot`; None: none).
    venue_state: dict[str, Any] | None
    created: dict[str, Any]
    trading_state: str = "active"

    @property
    def risk_settings(self) -> dict[str, Any] | None:
        """The risk settings stored at creation (None: none stored)."""
        return self.created.get("risk_settings")

    @property
    def all_funding(self) -> list[FundingRate]:
        return [rate for rates in self.funding for rate in rates]


def read_recording(store: FlintStore, session: str) -> Recording:
    """The recording of ``session`` (a :class:`SessionError` when there is none)."""
    events = OrderJournal(store, ACCOUNT_PREFIX + session).events()
    created: dict[str, Any] | None = None
    status, state, trading = "", SavedState(), "active"
    warmup: list[Candle] = []
    bars: list[Candle] = []
    funding: list[list[FundingRate]] = []
    for event in events:
        kind, detail = event["kind"], event["detail"]
        if kind == Kind.SESSION:
            created = created or detail
            status = detail["status"]
        elif kind == Kind.VENUE:
            state.merge(detail)
        elif kind == Kind.TRADING:
            trading = detail["state"]
        elif kind == Kind.INPUT and created is not None:
            cfg = created["config"]
            args = (cfg["market"], int(cfg["resolution_s"]), created["candle_venue"])
            if "warmup" in detail:
                warmup = [_candle(row, *args) for row in detail["warmup"]]
            else:
                bars.append(_candle(detail["bar"], *args))
                funding.append([FundingRate(*row) for row in detail["funding"]])
    if created is None:
        raise SessionError(f"no paper session '{session}' in {store.path}")
    return Recording(created["config"], created["digest"], status, warmup, bars, funding,
                     state.snapshot(), created, trading)


def list_sessions(store: FlintStore) -> list[str]:
    """Paper sessions in ``store``, oldest first."""
    return [a[len(ACCOUNT_PREFIX):] for a in store.live_accounts(ACCOUNT_PREFIX)]


class PaperSession(SessionLifecycle):
    """A paper session on ``store`` (see the module doc). Use :meth:`create` or
    :meth:`resume`, then :meth:`start`, :meth:`step` per closed bar, and
    :meth:`stop` / :meth:`kill` / :meth:`close`."""

    kind = "paper"

    def __init__(self, store: FlintStore, session: str, config: PaperConfig, strategy: Any,
                 *, risk: RiskEngine | None = None) -> None:
        self.store = store
        self.id = session
        self.config = config
        self.strategy = strategy if strategy is not None else _NoStrategy()
        self.terms = config.terms()
        self.digest = config.digest(self.terms)
        self.venue = PaperVenue(venue=config.venue, market=config.market,
                                resolution_s=config.resolution_s,
                                fill_model=config.make_fill_model(), terms=self.terms,
                                initial_capital=config.initial_capital,
                                persist=self._persist_venue)
        self.ctx = PaperBroker(self.venue, store, session=session, risk=risk)
        self.journal = self.ctx.journal
        self._bars = Bars()  # warm-up, then every session bar
        self.warmup = 0
        self.funding: list[FundingRate] = []
        self.bars = 0
        self.status = ""
        self.candle_venue = config.venue
        self._pass_ctx = accepts_ctx(self.strategy)
        #: ``[origin_ts, wall0, speed]`` of the session's clock (flint.paper.feed.SessionClock).
        self.clock_args: list[float] = []
        self._redo: Candle | None = None
        self._trading_state = "active"  # as journaled, until start() restores the engine

    # Creating and resuming

    @classmethod
    def create(cls, store: FlintStore, config: PaperConfig, strategy: Any, *,
               session: str | None = None, start_ts: int | None = None,
               risk: RiskEngine | None = None, **created: Any) -> "PaperSession":
        """A new session whose first bar comes after ``start_ts`` (default: the last
        stored bar); refuses to start without ``config.warmup_bars`` stored bars
        before it. ``created`` is kept with the configuration (e.g. the clock)."""
        session = session or secrets.token_hex(4)
        if list_sessions(store).count(session):
            raise SessionError(f"paper session '{session}' exists already: resume it")
        warmup = load_warmup(store, config.market, config.resolution_s, config.venue,
                             config.warmup_bars, start_ts)
        if risk is None and config.risk:
            from flint.config import load_config

            created["risk_settings"] = risk_settings(load_config())
            risk = config.risk_engine(created["risk_settings"])
        self = cls(store, session, config, strategy, risk=risk)
        self.candle_venue = warmup[0].venue if warmup else config.venue
        self.journal.append([
            Event(Kind.SESSION, None, None, {
                "status": "running", "config": config.to_json(), "digest": self.digest,
                "candle_venue": self.candle_venue, **created}),
            Event(Kind.INPUT, None, None, {"warmup": [candle_row(c) for c in warmup]}),
        ])
        self._bars.extend(warmup)
        self.warmup, self.status = len(warmup), "running"
        self.strategy.reset()
        return self

    @classmethod
    def resume(cls, store: FlintStore, session: str, config: PaperConfig, strategy: Any, *,
               risk: RiskEngine | None = None) -> "PaperSession":
        """Session ``session`` as it was; its configuration must be the same. Without a
        ``strategy`` (None) the session can only be stopped or killed."""
        recording = read_recording(store, session)
        if risk is None:
            risk = config.risk_engine(recording.risk_settings)
        self = cls(store, session, config, strategy, risk=risk)
        if recording.digest != self.digest:
            theirs = recording.config
            changed = sorted(k for k, v in config.to_json().items() if theirs.get(k) != v)
            raise SessionError(
                f"paper session '{session}' was created with another configuration "
                f"(differs in: {', '.join(changed) or 'the venue terms'}); start a new session")
        self.candle_venue = recording.created["candle_venue"]
        self._bars.extend(recording.warmup + recording.bars)
        self.warmup = len(recording.warmup)
        self.funding = recording.all_funding
        self.bars = len(recording.bars)
        self.status = recording.status
        self.clock_args = list(recording.created.get("clock") or [])
        self._trading_state = recording.trading_state
        if recording.venue_state is not None:
            self.venue.restore(recording.venue_state)
        if strategy is None:
            pass
        elif recording.bars:  # the strategy where it was before the last recorded bar
            self._redo = recording.bars[-1]
            if len(recording.bars) > 1:
                self.config.engine(strategy, self.funding,
                                   config.risk_engine(recording.risk_settings)).run(
                    self.candles[:-1], warmup=self.warmup)
            else:
                strategy.reset()
        else:
            strategy.reset()
        return self

    # Running

    def start(self) -> None:
        """Reconcile with the venue (and re-run the last recorded bar after a resume)."""
        self.ctx.start(background=False)
        if self.status != "running":
            self._set_status("running")
        if self._redo is not None:
            bar, self._redo = self._redo, None
            self.ctx.replaying = True
            try:
                with self.journal.batched(), self.venue.held():
                    self._process(bar)
            finally:
                self.ctx.replaying = False

    @property
    def candles(self) -> list[Candle]:
        """Warm-up and session bars, oldest first."""
        return self._bars.candles

    @property
    def last_ts(self) -> int | None:
        """Open time of the newest bar the session has (warm-up included)."""
        return self.candles[-1].ts if self.candles else None

    def step(self, bar: Candle, funding: Sequence[FundingRate] = ()) -> None:
        """Record ``bar`` (and the funding settled by its close) and run it."""
        if self.candles and bar.ts <= self.candles[-1].ts:
            return
        self._bars.extend([bar])
        self.funding.extend(funding)
        self.bars += 1
        record = {"bar": candle_row(bar), "funding": [_funding_row(r) for r in funding]}
        # the bar is journaled whole or not at all, the venue's changes as one
        with self.journal.batched(), self.venue.held():
            self.venue.on_bar(bar, funding, record)
            self._process(bar)

    def _process(self, bar: Candle) -> None:
        venue, ctx = self.venue, self.ctx
        ctx.begin_bar(bar)
        ctx.sync()
        history = self._bars.history(self.config.history_size)
        if self._pass_ctx:
            signal = self.strategy.on_candle(bar, history, ctx)
        else:
            signal = self.strategy.on_candle(bar, history)
        if signal is not None and signal != Signal.HOLD:
            self._on_signal(signal)
        venue.after_strategy()
        ctx.sync()

    def _on_signal(self, signal: Any) -> None:
        """A v1 signal as the backtest trades it: close the position against it, then
        (when it opens) go all-in."""
        plan = signal_orders(signal, self.venue.bar_start_size, self.config.allow_short)
        now = self.venue.now
        if any(o.tag == "signal" and o.created_ts < now for o in self.ctx.tracker.open_orders()):
            return  # an earlier signal's order is still on its way
        held, market = self.venue.bar_start_size, self.config.market
        for side, reduce_only in plan:
            if reduce_only:
                self.ctx.market_order(market, side, abs(held), reduce_only=True, tag="signal")
                self.venue.after_strategy()
                self.ctx.sync()
            else:
                size = self.venue.all_in_size(side)
                if size > 0.0:
                    self.ctx.market_order(market, side, size, tag="signal")

    # Ending (stop, kill, end, close: flint.paper.lifecycle)

    def _flatten(self, reason: str) -> None:
        """The kill switch, its closes filled at once at the last close."""
        self.ctx.flatten(reason)

    def _set_status(self, status: str) -> None:
        self.status = status
        self.journal.append([Event(Kind.SESSION, None, None, {"status": status})])

    def _persist_venue(self, change: dict[str, Any], record: Any) -> None:
        events = [Event(Kind.VENUE, None, None, {"change": change})]
        if record is not None:  # the bar is recorded when the venue has processed it
            events.insert(0, Event(Kind.INPUT, None, None, record))
        self.journal.append(events)

    # Views

    def view(self) -> dict[str, Any]:
        """The session's state (as its venue holds it) for the terminal view and
        ``flint paper status``."""
        venue = self.venue
        bar = venue.bar
        return {
            "session": self.id, "status": self.status, "bars": self.bars,
            "last_bar": candle_row(bar) if bar is not None else None,
            "strategy": self.config.strategy, "market": self.config.market,
            "venue": self.config.venue, "trading_state": (
                self.ctx.trading_state.value if self.ctx.reconciled else self._trading_state),
            "equity": venue.equity, "cash": venue.account.cash,
            "positions": [{"market": p.market, "side": "long" if p.size > 0 else "short",
                           "size": abs(p.size), "entry_price": p.entry_price,
                           "unrealized_pnl": (p.mark_price - p.entry_price) * p.size}
                          for p in venue.positions()],
            "orders": [{"id": o.client_id, "type": o.order_type.value, "side": o.side.value,
                        "size": o.size, "price": o.price} for o in venue.open_orders()],
        }
