"""Live sessions: a strategy on its venues' closed bars, trading through live contexts.

A session is the bar loop of ``flint live``: warm-up history from the store, then
each closed bar time from the feed (:class:`~flint.live.feed.VenueFeeds`: every venue's
own bar, and the funding its venues settled): stored (so a restart warms up from it),
recorded, each venue's context marked from its own bar (``set_candle``, and its close
as the mark seen now), the kill switch (:class:`~flint.risk.monitor.EquityMonitor`)
checked, the strategy run with ``history`` built as the backtest and paper sessions
build it, and a v1 signal traded as they trade it
(:func:`flint.paper.session.signal_orders`).

The strategy's ``ctx`` is a :class:`~flint.live.strategy_context.SessionContext`:
orders go to the venues, market data (bar time, candles and funding of each venue)
is the session's recorded input. The session records, in its journal account
``live:<session>``, its configuration (with the risk settings it trades with), every
input as it consumes it (the warm-up bars and funding of each venue, then each bar
time's bars and funding), the orders the strategy placed on each bar, and the cash
and positions of each venue when it starts and stops. After the strategy, the
session waits (``settle_s`` at most) for its market orders to end at the venue, so
the next bar sees their fills, as the backtest's next bar does. The orders, fills
and risk decisions themselves are in the contexts' journals (one per venue account).
:func:`flint.backtest.parity.compare_live_session` replays a recording through the
backtest.

A resumed session warms up again from the store (the strategy is reset: the venue,
not the strategy, holds positions and orders); its recording then has several
segments, and parity replays only an uninterrupted one.

:meth:`LiveSession.stop` cancels resting orders and keeps positions;
:meth:`LiveSession.kill` is the kill switch (HALTED, cancel all, close every
position with reduce-only orders) and stays tripped until ``flint live resume``.
"""

import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

import attrs

from flint.backtest.engine import HISTORY_SIZE, accepts_ctx
from flint.live.feed import VenueBars
from flint.live.journal import Event, Kind, OrderJournal
from flint.live.strategy_context import SessionContext
from flint.paper.lifecycle import SessionLifecycle
from flint.paper.session import Bars, SessionError, _funding_row, load_warmup, signal_orders
from flint.paper.venue import _candle, candle_row
from flint.risk.monitor import EquityMonitor
from flint.store import FlintStore
from flint_core.enums import OrderType, Side, Signal
from flint_core.records import Candle, FundingRate

log = logging.getLogger("flint.live")

ACCOUNT_PREFIX = "live:"
#: How far back before the first bar a session takes the venues' funding.
FUNDING_WARMUP_S = 24 * 3600


@attrs.frozen
class LiveConfig:
    """What a live session trades: ``venues`` (the first gives the strategy's candle
    and takes orders naming no venue), ``market`` at ``resolution_s``, ``network`` and
    ``dry_run`` as the gate allowed them, and ``risk``: the risk settings every venue's
    context trades with (:mod:`flint.live.risk_settings`; None: no guards)."""

    strategy: str
    venues: list[str]
    market: str
    resolution_s: int = 3600
    params: dict[str, Any] = attrs.field(factory=dict)
    warmup_bars: int = 200
    history_size: int = HISTORY_SIZE
    allow_short: bool = False
    network: str = "testnet"
    dry_run: bool = True
    risk: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def list_sessions(store: FlintStore) -> list[str]:
    """Live sessions in ``store``, oldest first."""
    return [a[len(ACCOUNT_PREFIX):] for a in store.live_accounts(ACCOUNT_PREFIX)]


def read_session(store: FlintStore, session: str) -> tuple[LiveConfig, str]:
    """The configuration and last status of ``session`` (a :class:`SessionError` when
    the store has no such session)."""
    recording = read_recording(store, session)
    return LiveConfig(**recording.config), recording.status


@attrs.define
class LiveStep:
    """One recorded bar time: each venue's bar, the funding settled by its close, and
    the orders the strategy placed (``(venue, client order id)``)."""

    bars: dict[str, Candle]
    funding: list[FundingRate]
    placed: list[tuple[str, str]] = attrs.field(factory=list)


@attrs.define
class LiveRecording:
    """What a live session consumed, placed and held, read back from its journal.

    ``warmup`` / ``warmup_funding`` are those of the first segment; ``segments``
    counts the opens (1 for an uninterrupted session); ``start`` / ``end`` are the
    venues' ``{venue: {"cash": ..., "positions": {market: signed size}}}`` when the
    first segment started and when the session last stopped (None: not recorded)."""

    config: dict[str, Any]
    status: str = ""
    warmup: dict[str, list[Candle]] = attrs.field(factory=dict)
    warmup_funding: list[FundingRate] = attrs.field(factory=list)
    steps: list[LiveStep] = attrs.field(factory=list)
    segments: int = 0
    start: dict[str, Any] | None = None
    end: dict[str, Any] | None = None

    @property
    def funding(self) -> list[FundingRate]:
        """Every funding record the session consumed, oldest first."""
        return [*self.warmup_funding, *(r for step in self.steps for r in step.funding)]


def read_recording(store: FlintStore, session: str) -> LiveRecording:
    """The recording of ``session`` (a :class:`SessionError` when there is none)."""
    recording: LiveRecording | None = None
    for event in OrderJournal(store, ACCOUNT_PREFIX + session).events():
        kind, detail = event["kind"], event["detail"]
        if recording is None:
            if kind == Kind.SESSION and "config" in detail:
                recording = LiveRecording(detail["config"])
            else:
                continue
        config = recording.config
        args = (config["market"], int(config["resolution_s"]))
        if kind == Kind.SESSION:
            recording.status = detail["status"]
            if "venues" in detail:
                recording.end = detail["venues"]
                if recording.start is None and detail["status"] == "running":
                    recording.start = detail["venues"]
        elif kind == Kind.INPUT and "warmup" in detail:
            recording.segments += 1
            if recording.segments == 1:
                recording.warmup = {venue: [_candle(row, *args, venue) for row in rows]
                                    for venue, rows in detail["warmup"].items()}
                recording.warmup_funding = [FundingRate(*r) for r in detail["funding"]]
        elif kind == Kind.INPUT and "bars" in detail:
            recording.steps.append(LiveStep(
                {venue: _candle(row, *args, venue) for venue, row in detail["bars"].items()},
                [FundingRate(*r) for r in detail["funding"]]))
        elif kind == Kind.INPUT and "placed" in detail and recording.steps:
            recording.steps[-1].placed += [(v, cid) for v, cid in detail["placed"]]
    if recording is None:
        raise SessionError(f"no live session '{session}' in {store.path}")
    return recording


def contexts(ctx: Any, venues: Sequence[str]) -> dict[str, Any]:
    """``{venue: context}`` behind ``ctx`` (a MultiVenueLiveContext's, or ``ctx`` for
    the first of ``venues``)."""
    found = getattr(ctx, "contexts", None)
    return dict(found) if isinstance(found, dict) else {venues[0]: ctx}


def venue_state(ctx: Any) -> dict[str, Any]:
    """One venue context's cash and positions, as its venue reports them now (not as
    the context last heard of them: a trade made by hand may not have reached it yet),
    and its journal account."""
    adapter = ctx.adapter
    cash = sum(b.total for b in adapter.balances() if b.asset == adapter.quote_asset)
    return {"cash": float(cash), "account": ctx.journal.account,
            "positions": {p.market: float(p.size) for p in adapter.positions()
                          if p.size != 0.0}}


class LiveSession(SessionLifecycle):
    """A live session on ``store`` trading through ``ctx`` (see the module doc). Use
    :meth:`open`, then :meth:`start`, :meth:`step` per closed bar time, and
    :meth:`stop` / :meth:`kill` / :meth:`end`, then :meth:`close`."""

    kind = "live"

    def __init__(self, store: FlintStore, session: str, config: LiveConfig, strategy: Any,
                 ctx: Any, monitor: EquityMonitor | None = None, *,
                 settle_s: float = 10.0) -> None:
        self.store = store
        self.id = session
        self.config = config
        self.strategy = strategy
        self.ctx = ctx
        self.monitor = monitor
        self.settle_s = float(settle_s)
        self.journal = OrderJournal(store, ACCOUNT_PREFIX + session)
        self._bars = {venue: Bars() for venue in config.venues}
        self._funding: dict[str, list[FundingRate]] = {venue: [] for venue in config.venues}
        self._placed: list[tuple[str, str]] = []
        self._routing: tuple[Any, dict[str, Any], SessionContext] | None = None
        self._pass_ctx = strategy is not None and accepts_ctx(strategy)
        self.bars = 0
        self.status = ""

    @classmethod
    def open(cls, store: FlintStore, config: LiveConfig, strategy: Any, ctx: Any = None, *,
             session: str | None = None, monitor: EquityMonitor | None = None,
             feed: Any = None, settle_s: float = 10.0) -> "LiveSession":
        """Session ``session``: resumed when the store has it (with the same strategy,
        venues and market), else created; refuses to start without
        ``config.warmup_bars`` stored bars of the first venue (the other venues warm
        up on what the store has of the same period). ``feed`` (a
        :class:`~flint.live.feed.VenueFeeds`) gives the funding of the
        ``FUNDING_WARMUP_S`` before the first bar, recorded with the warm-up. Set
        ``ctx`` (and ``monitor``) before :meth:`start` when not given here."""
        session = session or secrets.token_hex(4)
        resumed = session in list_sessions(store)
        if resumed:
            theirs, _ = read_session(store, session)
            changed = [k for k in ("strategy", "venues", "market", "resolution_s")
                       if getattr(theirs, k) != getattr(config, k)]
            if changed:
                raise SessionError(f"live session '{session}' trades another "
                                   f"{', '.join(changed)}; start a new session")
        primary, *others = config.venues
        warmup = {primary: load_warmup(store, config.market, config.resolution_s, primary,
                                       config.warmup_bars)}
        last = warmup[primary][-1].ts if warmup[primary] else None
        for venue in others:
            found = store.query_candles(config.market, config.resolution_s, None, last,
                                        limit=config.warmup_bars, venue=venue)
            warmup[venue] = list(found.to_list()) if last is not None else []
        funding: list[FundingRate] = []
        if feed is not None and last is not None:
            close = last + config.resolution_s
            funding = feed.settlements(close - FUNDING_WARMUP_S, close)
        self = cls(store, session, config, strategy, ctx, monitor, settle_s=settle_s)
        for venue, candles in warmup.items():
            self._bars[venue].extend(candles)
        for rate in funding:
            self._funding.setdefault(rate.source, []).append(rate)
        events = [Event(Kind.INPUT, None, None, {
            "warmup": {venue: [candle_row(c) for c in candles]
                       for venue, candles in warmup.items()},
            "funding": [_funding_row(r) for r in funding]})]
        if not resumed:
            events.insert(0, Event(Kind.SESSION, None, None,
                                   {"status": "opened", "config": config.to_json()}))
        self.journal.append(events)
        if strategy is not None:
            strategy.reset()
        return self

    @property
    def last_ts(self) -> int | None:
        """Open time of the newest bar the session has (warm-up included)."""
        candles = self._bars[self.config.venues[0]].candles
        return candles[-1].ts if candles else None

    def start(self) -> None:
        """Start the contexts (each reconciles with its venue before any order)."""
        self.ctx.start()
        self._set_status("running")

    def step(self, bars: VenueBars | Candle, funding: Sequence[FundingRate] = ()) -> None:
        """Run one closed bar time: ``bars`` of each venue (a lone candle is the first
        venue's), ``funding`` settled by its close (the venues settle it themselves:
        it is recorded and shown to the strategy)."""
        candles = bars.candles if isinstance(bars, VenueBars) else {self.config.venues[0]: bars}
        bar = candles.get(self.config.venues[0])
        if bar is None or (self.last_ts is not None and bar.ts <= self.last_ts):
            return
        candles = {venue: c for venue, c in candles.items() if venue in self._bars}
        self.store.upsert_candles(list(candles.values()))
        self.journal.append([Event(Kind.INPUT, None, None, {
            "bars": {venue: candle_row(c) for venue, c in candles.items()},
            "funding": [_funding_row(r) for r in funding]})])
        for venue, candle in candles.items():
            self._bars[venue].extend([candle])
        for rate in funding:
            self._funding.setdefault(rate.source, []).append(rate)
        self.bars += 1
        routed, view = self._routes()
        for venue, candle in candles.items():  # each venue marked from its own bar
            ctx = routed.get(venue)
            if ctx is not None:
                ctx.set_candle(candle)
                ctx.set_mark(candle.market, candle.close)  # the close, just seen, is fresh
        if self.monitor is not None and self.monitor.check():
            return  # the kill switch tripped: nothing new this bar
        self._placed.clear()
        history = self._bars[self.config.venues[0]].history(self.config.history_size)
        if self._pass_ctx:
            signal = self.strategy.on_candle(bar, history, view)
        else:
            signal = self.strategy.on_candle(bar, history)
        if signal is not None and signal != Signal.HOLD:
            self._on_signal(signal, bar, view)
        if self._placed:
            self.journal.append([Event(Kind.INPUT, None, None,
                                       {"placed": [list(p) for p in self._placed]})])
            self._settle(routed)

    def _routes(self) -> tuple[dict[str, Any], SessionContext]:
        """Each venue's own context and the strategy's ctx over them, made once per
        ``ctx`` (not every bar)."""
        if self._routing is None or self._routing[0] is not self.ctx:
            view = SessionContext(self.ctx, self.config.market, self._bars, self._funding,
                                  lambda venue, order_id: self._placed.append((venue, order_id)))
            self._routing = (self.ctx, contexts(self.ctx, self.config.venues), view)
        return self._routing[1], self._routing[2]

    def _settle(self, routed: dict[str, Any]) -> None:
        """Wait (``settle_s`` at most) until the market orders placed on this bar have
        ended at their venue (filled, or not), their fills booked."""
        deadline = time.monotonic() + self.settle_s
        waiting = list(self._placed)
        while waiting:
            still = []
            for venue, order_id in waiting:
                ctx = routed.get(venue)
                order = ctx.order(order_id) if ctx is not None else None
                if (order is not None and order.order_type is OrderType.MARKET
                        and not order.terminal):
                    still.append((venue, order_id))
            waiting = still
            if waiting and time.monotonic() < deadline:
                time.sleep(0.01)  # the contexts book the venue's events meanwhile
            elif waiting:
                self._warn(f"WARNING {len(waiting)} market order(s) of the bar still open at "
                           f"the venue after {self.settle_s:g} s")
                return

    def _warn(self, text: str) -> None:
        log.warning(text)
        self.ctx.log(text)  # a WARNING line joins the context's strategy warnings

    def _on_signal(self, signal: Any, bar: Candle, view: Any) -> None:
        market = self.config.market
        held_position = self.ctx.position(market)
        held = 0.0 if held_position is None else (
            held_position.size if held_position.side is Side.LONG else -held_position.size)
        for side, reduce_only in signal_orders(signal, held, self.config.allow_short):
            if reduce_only:
                view.market_order(market, side, abs(held), reduce_only=True, tag="signal")
            else:  # all-in at the close, on the cash the venue reports
                cash = self.ctx.account.cash
                if cash > 0.0 and bar.close > 0.0:
                    view.market_order(market, side, cash / bar.close, tag="signal")

    # Ending (stop, kill, end, close: flint.paper.lifecycle)

    def _set_status(self, status: str) -> None:
        """Record ``status`` with the venues' cash and positions now."""
        self.status = status
        detail: dict[str, Any] = {"status": status}
        if not list_sessions(self.store).count(self.id):
            detail["config"] = self.config.to_json()
        try:
            detail["venues"] = {venue: venue_state(ctx) for venue, ctx in
                                contexts(self.ctx, self.config.venues).items()}
        except Exception as exc:  # a venue that cannot answer: the status still counts
            self._warn(f"WARNING the venues' cash and positions were not recorded: "
                       f"{type(exc).__name__}: {exc}")
        self.journal.append([Event(Kind.SESSION, None, None, detail)])

    def view(self) -> dict[str, Any]:
        """The session's state (as the venues report it) for the terminal view and
        ``flint live status``."""
        account = self.ctx.account
        last = self._bars[self.config.venues[0]].candles[-1] if self.bars else None
        return {
            "session": self.id, "status": self.status, "bars": self.bars,
            "last_bar": candle_row(last) if last is not None else None,
            "strategy": self.config.strategy, "market": self.config.market,
            "venue": "+".join(self.config.venues), "network": self.config.network,
            "dry_run": self.config.dry_run, "trading_state": self.ctx.trading_state.value,
            "equity": account.equity, "cash": account.cash,
            "positions": [{"market": p.market, "side": p.side.value, "size": p.size,
                           "entry_price": p.entry_price, "unrealized_pnl": p.unrealized_pnl,
                           "venue": p.venue}
                          for p in self.ctx.positions],
            "orders": [{"id": o.order_id, "type": o.order_type.value, "side": o.side.value,
                        "size": o.size, "price": o.price} for o in self.ctx.pending_orders],
        }
