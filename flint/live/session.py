"""Live sessions: a strategy on a venue's closed bars, trading through live contexts.

A session is the bar loop of ``flint live``: warm-up history from the store, then
each closed bar from the feed: stored (so a restart warms up from it), handed to the
contexts (``set_candle``, and its close as the mark seen now), the kill switch
(:class:`~flint.risk.monitor.EquityMonitor`) checked, the strategy run with
``history`` built as the backtest and paper sessions build it, and a v1 signal traded
as they trade it (:func:`flint.paper.session.signal_orders`).

The orders, fills and risk decisions are in the contexts' own journals (one per
venue account); the session keeps its configuration and status in the journal
account ``live:<session>``. A resumed session warms up again from the store (the
strategy is reset: the venue, not the strategy, holds positions and orders).

:meth:`LiveSession.stop` cancels resting orders and keeps positions;
:meth:`LiveSession.kill` is the kill switch (HALTED, cancel all, close every
position with reduce-only orders) and stays tripped until ``flint live resume``.
"""

import secrets
from collections.abc import Sequence
from typing import Any

import attrs

from flint.backtest.engine import HISTORY_SIZE, accepts_ctx
from flint.live.journal import Event, Kind, OrderJournal
from flint.paper.session import Bars, SessionError, load_warmup, signal_orders
from flint.paper.venue import candle_row
from flint.risk.monitor import EquityMonitor
from flint.store import FlintStore
from flint_core.enums import Side, Signal
from flint_core.records import Candle, FundingRate

ACCOUNT_PREFIX = "live:"


@attrs.frozen
class LiveConfig:
    """What a live session trades: ``venues`` (the first gives the bars and takes
    orders naming no venue), ``market`` at ``resolution_s``, ``network`` and
    ``dry_run`` as the gate allowed them."""

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

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def list_sessions(store: FlintStore) -> list[str]:
    """Live sessions in ``store``, oldest first."""
    return [a[len(ACCOUNT_PREFIX):] for a in store.live_accounts(ACCOUNT_PREFIX)]


def read_session(store: FlintStore, session: str) -> tuple[LiveConfig, str]:
    """The configuration and last status of ``session`` (a :class:`SessionError` when
    the store has no such session)."""
    config: dict[str, Any] | None = None
    status = ""
    for event in OrderJournal(store, ACCOUNT_PREFIX + session).events():
        if event["kind"] == Kind.SESSION:
            config = config or event["detail"]["config"]
            status = event["detail"]["status"]
    if config is None:
        raise SessionError(f"no live session '{session}' in {store.path}")
    return LiveConfig(**config), status


def contexts(ctx: Any) -> list[Any]:
    """The venue contexts behind ``ctx`` (a MultiVenueLiveContext's, or ``ctx``)."""
    found = getattr(ctx, "contexts", None)
    return list(found.values()) if isinstance(found, dict) else [ctx]


class LiveSession:
    """A live session on ``store`` trading through ``ctx`` (see the module doc). Use
    :meth:`open`, then :meth:`start`, :meth:`step` per closed bar, and :meth:`stop` /
    :meth:`kill` / :meth:`end`, then :meth:`close`."""

    def __init__(self, store: FlintStore, session: str, config: LiveConfig, strategy: Any,
                 ctx: Any, monitor: EquityMonitor | None = None) -> None:
        self.store = store
        self.id = session
        self.config = config
        self.strategy = strategy
        self.ctx = ctx
        self.monitor = monitor
        self.journal = OrderJournal(store, ACCOUNT_PREFIX + session)
        self._bars = Bars()
        self._pass_ctx = strategy is not None and accepts_ctx(strategy)
        self.bars = 0
        self.status = ""

    @classmethod
    def open(cls, store: FlintStore, config: LiveConfig, strategy: Any, ctx: Any = None, *,
             session: str | None = None, monitor: EquityMonitor | None = None) -> "LiveSession":
        """Session ``session``: resumed when the store has it (with the same strategy,
        venues and market), else created; refuses to start without
        ``config.warmup_bars`` stored bars. Set ``ctx`` (and ``monitor``) before
        :meth:`start` when not given here."""
        session = session or secrets.token_hex(4)
        if session in list_sessions(store):
            theirs, _ = read_session(store, session)
            changed = [k for k in ("strategy", "venues", "market", "resolution_s")
                       if getattr(theirs, k) != getattr(config, k)]
            if changed:
                raise SessionError(f"live session '{session}' trades another "
                                   f"{', '.join(changed)}; start a new session")
        warmup = load_warmup(store, config.market, config.resolution_s, config.venues[0],
                             config.warmup_bars)
        self = cls(store, session, config, strategy, ctx, monitor)
        self._bars.extend(warmup)
        if strategy is not None:
            strategy.reset()
        return self

    @property
    def last_ts(self) -> int | None:
        """Open time of the newest bar the session has (warm-up included)."""
        return self._bars.candles[-1].ts if self._bars.candles else None

    def start(self) -> None:
        """Start the contexts (each reconciles with its venue before any order)."""
        self.ctx.start()
        self._set_status("running")

    def step(self, bar: Candle, funding: Sequence[FundingRate] = ()) -> None:
        """Run the closed ``bar`` (the venue settles funding itself: ``funding`` is
        ignored)."""
        if self.last_ts is not None and bar.ts <= self.last_ts:
            return
        self.store.upsert_candles([bar])
        self._bars.extend([bar])
        self.bars += 1
        for ctx in contexts(self.ctx):  # the close, just seen, is the fresh mark
            ctx.set_candle(bar)
            ctx.set_mark(bar.market, bar.close)
        if self.monitor is not None and self.monitor.check():
            return  # the kill switch tripped: nothing new this bar
        history = self._bars.history(self.config.history_size)
        if self._pass_ctx:
            signal = self.strategy.on_candle(bar, history, self.ctx)
        else:
            signal = self.strategy.on_candle(bar, history)
        if signal is not None and signal != Signal.HOLD:
            self._on_signal(signal, bar)

    def _on_signal(self, signal: Any, bar: Candle) -> None:
        market = self.config.market
        held_position = self.ctx.position(market)
        held = 0.0 if held_position is None else (
            held_position.size if held_position.side is Side.LONG else -held_position.size)
        for side, reduce_only in signal_orders(signal, held, self.config.allow_short):
            if reduce_only:
                self.ctx.market_order(market, side, abs(held), reduce_only=True, tag="signal")
            else:  # all-in at the close, on the cash the venue reports
                cash = self.ctx.account.cash
                if cash > 0.0 and bar.close > 0.0:
                    self.ctx.market_order(market, side, cash / bar.close, tag="signal")

    def stop(self) -> None:
        """Cancel resting orders, keep positions; the session can be resumed."""
        self.ctx.cancel_all()
        self._set_status("stopped")

    def kill(self, reason: str = "live session killed") -> None:
        """The kill switch: HALTED, cancel resting orders, close every position."""
        self.ctx.kill(reason)
        self._set_status("killed")

    def end(self) -> None:
        """The session reached its end time (orders and positions left as they are)."""
        self._set_status("ended")

    def close(self) -> None:
        """Stop the contexts (resting orders stay at the venue)."""
        self.ctx.stop()

    def _set_status(self, status: str) -> None:
        self.status = status
        detail: dict[str, Any] = {"status": status}
        if not list_sessions(self.store).count(self.id):
            detail["config"] = self.config.to_json()
        self.journal.append([Event(Kind.SESSION, None, None, detail)])

    def view(self) -> dict[str, Any]:
        """The session's state (as the venues report it) for the terminal view and
        ``flint live status``."""
        account = self.ctx.account
        last = self._bars.candles[-1] if self.bars else None
        return {
            "session": self.id, "status": self.status, "bars": self.bars,
            "last_bar": candle_row(last) if last is not None else None,
            "strategy": self.config.strategy, "market": self.config.market,
            "venue": "+".join(self.config.venues), "network": self.config.network,
            "dry_run": self.config.dry_run, "trading_state": self.ctx.trading_state.value,
            "equity": account.equity, "cash": account.cash,
            "positions": [{"market": p.market, "side": p.side.value, "size": p.size,
                           "entry_price": p.entry_price, "unrealized_pnl": p.unrealized_pnl}
                          for p in self.ctx.positions],
            "orders": [{"id": o.order_id, "type": o.order_type.value, "side": o.side.value,
                        "size": o.size, "price": o.price} for o in self.ctx.pending_orders],
        }
