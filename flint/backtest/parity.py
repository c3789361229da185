"""Parity: a paper session's inputs replayed through the backtest give the same orders
and fills.

:func:`compare_session` reads what a paper session consumed (warm-up bars, bars,
funding: :mod:`flint.paper.session`), runs the backtest engine configured as the
session (same fill model and options, fees, capital) on exactly those inputs, and
compares, bar by bar, the order intents the strategy placed through ``ctx`` and the
fills (price, size, fee, side), exactly unless ``tolerance`` says otherwise. v1
signals are compared through their fills (the backtest sizes an all-in order when it
fills). The report names the first bar where the two paths differ.

:func:`compare_live_session` does the same for a live session
(:mod:`flint.live.session`): the backtest runs on the bars of every venue and the
funding the session recorded, with the session's risk settings, from the venues'
cash at its start. Its fill model is :class:`VenueFills`: each market order fills at
the price and size its venue filled it at (all of the order's venue fills as one:
their size-weighted price, their total size), so fills match by construction and
what parity checks is the rest: the strategy's orders bar by bar (exactly), the fees
(the backtest charges its venue terms, which must be the venue's rates), the funding
the backtest charges and the venues' cash and positions at the end. Money the venue
reports to 8 decimals is compared within ``money_tolerance``.

:class:`ParityTest` is the seed's mode: a strategy over candles through both paths
(a paper session on an in-memory store, then :func:`compare_session`).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from flint.execution.context import ExecutionContext
from flint.execution.fill_models import FillModel, FillQuote
from flint.execution.order_tracker import STRATEGY, OrderTracker
from flint.live.journal import Kind, OrderJournal
from flint.store import FlintStore
from flint_core.enums import OrderState, OrderType, Signal
from flint_core.records import Candle, FundingRate, OrderbookSnapshot
from flint_core.terms import VenueTerms

#: (order type, side, size, price, reduce_only) of an order the strategy placed.
Intent = tuple[str, str, float, float, bool]
#: (side, price, size, fee) of a fill.
FillKey = tuple[str, float, float, float]


@attrs.define
class ParityReport:
    """How a paper session and its backtest replay compare. For a live session the
    ``paper_*`` fields are the session's, and the equities are the cash at the end
    (the positions are compared on their own)."""

    session: str
    bars: int
    paper_intents: dict[int, list[Intent]]
    backtest_intents: dict[int, list[Intent]]
    paper_fills: dict[int, list[FillKey]]
    backtest_fills: dict[int, list[FillKey]]
    paper_equity: float
    backtest_equity: float
    initial_capital: float
    first_divergence: int | None = None
    divergence: str = ""
    threshold_pct: float = 2.0
    #: Live sessions: what differs at the end (positions, cash), or "".
    end_divergence: str = ""
    #: Live sessions: the funding the backtest charged, by venue (> 0 paid).
    backtest_funding: dict[str, float] = attrs.field(factory=dict)

    @property
    def paper_pnl(self) -> float:
        return self.paper_equity - self.initial_capital

    @property
    def backtest_pnl(self) -> float:
        return self.backtest_equity - self.initial_capital

    @property
    def pnl_divergence_pct(self) -> float:
        """``|backtest - paper| / max(|backtest|, 1) * 100`` of the PnL."""
        return abs(self.backtest_pnl - self.paper_pnl) / max(abs(self.backtest_pnl), 1.0) * 100

    @property
    def exact(self) -> bool:
        """Same intents and fills on every bar (and, live, the same end state)."""
        return self.first_divergence is None and not self.end_divergence

    @property
    def passed(self) -> bool:
        """Exact, and the PnL within ``threshold_pct``."""
        return self.exact and self.pnl_divergence_pct < self.threshold_pct

    def summary(self) -> str:
        fills = sum(len(v) for v in self.paper_fills.values())
        line = (f"{self.bars} bars, {fills} paper fills; PnL paper {self.paper_pnl:.4f} vs "
                f"backtest {self.backtest_pnl:.4f}; Divergence: {self.pnl_divergence_pct:.4f}%")
        if self.exact:
            return f"parity exact: {line}"
        if self.first_divergence is None:
            return f"parity broken at the end: {self.end_divergence}; {line}"
        return f"parity broken at bar ts={self.first_divergence}: {self.divergence}; {line}"


class _RecordingContext:
    """Forwards to a context and keeps the orders placed through it per bar (those it
    accepted: a session journals the orders its risk engine lets through)."""

    def __init__(self, ctx: Any, record: Callable[[Intent], None]) -> None:
        self._ctx = ctx
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def _placed(self, order_id: Any, intent: Intent) -> str:
        if order_id:
            self._record(intent)
        return str(order_id)

    def market_order(self, market: str, side: Any, size: float, reduce_only: bool = False,
                     *args: Any, **kwargs: Any) -> str:
        return self._placed(self._ctx.market_order(market, side, size, reduce_only, *args,
                                                   **kwargs),
                            (OrderType.MARKET.value, str(side.value), float(size), 0.0,
                             bool(reduce_only)))

    def limit_order(self, market: str, side: Any, size: float, price: float,
                    reduce_only: bool = False, *args: Any, **kwargs: Any) -> str:
        return self._placed(self._ctx.limit_order(market, side, size, price, reduce_only,
                                                  *args, **kwargs),
                            (OrderType.LIMIT.value, str(side.value), float(size),
                             float(price), bool(reduce_only)))

    def stop_order(self, market: str, side: Any, size: float, trigger_price: float,
                   *args: Any, **kwargs: Any) -> str:
        return self._placed(self._ctx.stop_order(market, side, size, trigger_price, *args,
                                                 **kwargs),
                            (OrderType.STOP_LOSS.value, str(side.value), float(size),
                             float(trigger_price), bool(kwargs.get("reduce_only", True))))

    def take_profit_order(self, market: str, side: Any, size: float, trigger_price: float,
                          *args: Any, **kwargs: Any) -> str:
        return self._placed(self._ctx.take_profit_order(market, side, size, trigger_price,
                                                        *args, **kwargs),
                            (OrderType.TAKE_PROFIT.value, str(side.value), float(size),
                             float(trigger_price), bool(kwargs.get("reduce_only", True))))

    close_position = ExecutionContext.close_position


class _Recording:
    """A strategy whose ``ctx`` orders are kept per bar (open time)."""

    def __init__(self, strategy: Any, pass_ctx: bool) -> None:
        self.strategy = strategy
        self.pass_ctx = pass_ctx
        self.intents: dict[int, list[Intent]] = defaultdict(list)

    def reset(self) -> None:
        self.strategy.reset()

    def on_candle(self, candle: Candle, history: Any, ctx: Any = None) -> Signal:
        if not self.pass_ctx:
            return self.strategy.on_candle(candle, history)  # type: ignore[no-any-return]
        proxy = _RecordingContext(ctx, self.intents[candle.ts].append)
        return self.strategy.on_candle(candle, history, proxy)  # type: ignore[no-any-return]


def _same(a: Sequence[Any], b: Sequence[Any], tolerance: float) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                if not (u == v or math.isclose(u, v, rel_tol=tolerance, abs_tol=tolerance)):
                    return False
            elif u != v:
                return False
    return True


def compare_session(store: FlintStore, session: str, strategy: Any, *,
                    tolerance: float = 0.0, threshold_pct: float = 2.0) -> ParityReport:
    """Replay paper session ``session`` of ``store`` through the backtest with
    ``strategy`` (a fresh instance of the session's strategy) and compare."""
    from flint.backtest.engine import accepts_ctx
    from flint.paper.session import ACCOUNT_PREFIX, PaperConfig, read_recording

    recording = read_recording(store, session)
    config = PaperConfig(**recording.config)
    res = config.resolution_s
    tracker = OrderTracker(OrderJournal(store, ACCOUNT_PREFIX + session))
    tracker.load()
    paper_intents: dict[int, list[Intent]] = defaultdict(list)
    for order in tracker.orders.values():
        if order.origin != STRATEGY or order.tag == "signal" or (
            order.state is OrderState.FAILED and "never arrived" in order.reason
        ):
            continue
        paper_intents[int(order.created_ts) - res].append((
            order.order_type.value, order.side.value, order.size, order.price,
            order.reduce_only))
    paper_fills: dict[int, list[FillKey]] = defaultdict(list)
    for row in tracker.journal.fills():
        paper_fills[int(row["ts"]) - res].append((str(row["side"]), float(row["price"]),
                                                  float(row["size"]), float(row["fee"])))
    state = recording.venue_state
    paper_equity = config.initial_capital
    if state is not None:
        size, entry, mark = state["slot"][0], state["slot"][1], state["slot"][3]
        paper_equity = float(state["cash"]) + (mark - entry) * size

    recorder = _Recording(strategy, accepts_ctx(strategy))
    backtest_fills: dict[int, list[FillKey]] = defaultdict(list)
    backtest_equity = config.initial_capital
    if recording.bars:
        engine = config.engine(recorder, recording.all_funding,
                               config.risk_engine(recording.risk_settings))
        result = engine.run(recording.warmup + recording.bars, warmup=len(recording.warmup))
        for fill in result.fills:
            backtest_fills[int(fill.ts)].append((fill.side.value, fill.price, fill.size,
                                                 fill.fee))
        backtest_equity = result.final_equity
    report = ParityReport(session, len(recording.bars), dict(paper_intents),
                          dict(recorder.intents), dict(paper_fills), dict(backtest_fills),
                          paper_equity, backtest_equity, config.initial_capital,
                          threshold_pct=threshold_pct)
    for bar in recording.bars:
        ts = bar.ts
        for what, ours, theirs in (
            ("order intents", paper_intents.get(ts, []), recorder.intents.get(ts, [])),
            ("fills", paper_fills.get(ts, []), backtest_fills.get(ts, [])),
        ):
            if not _same(ours, theirs, tolerance):
                report.first_divergence = ts
                report.divergence = f"{what}: paper {ours} vs backtest {theirs}"
                return report
    return report


class ParityTest:
    """The seed's parity test: ``strategy`` over ``candles`` as a paper session and as a
    backtest. The first ``warmup`` candles are history only (default: a fifth, at
    most 200); ``fill_model`` names a registered model (default: close price)."""

    def __init__(
        self,
        strategy: Any,
        market: str,
        candles: Sequence[Candle],
        initial_capital: float = 10_000.0,
        fee_rate: float = 0.0005,
        funding_rates: Sequence[FundingRate] | None = None,
        threshold_pct: float = 2.0,
        *,
        fill_model: str = "close",
        fill_options: dict[str, Any] | None = None,
        warmup: int | None = None,
        allow_short: bool = False,
    ) -> None:
        if not candles:
            raise ValueError("ParityTest needs candles")
        self.strategy = strategy
        self.market = market
        self.candles = list(candles)
        self.initial_capital = initial_capital
        self.fee_rate = fee_rate
        self.funding_rates = sorted(funding_rates or [], key=lambda r: r.ts)
        self.threshold_pct = threshold_pct
        self.fill_model = fill_model
        self.fill_options = dict(fill_options or {})
        self.warmup = min(200, len(self.candles) // 5) if warmup is None else warmup
        self.allow_short = allow_short

    def run(self) -> ParityReport:
        """Both paths; the comparison."""
        from flint.paper.session import PaperConfig, PaperSession

        first = self.candles[0]
        config = PaperConfig(
            getattr(self.strategy, "name", type(self.strategy).__name__), first.venue,
            self.market, first.resolution_s, initial_capital=self.initial_capital,
            fee_rate=self.fee_rate, fill_model=self.fill_model,
            fill_options=self.fill_options, warmup_bars=self.warmup,
            allow_short=self.allow_short)
        store = FlintStore(":memory:")
        try:
            store.upsert_candles(self.candles[:self.warmup])
            session = PaperSession.create(store, config, self.strategy, session="parity")
            session.start()
            rates = self.funding_rates
            start = self.candles[self.warmup - 1].ts + first.resolution_s if self.warmup else 0
            k = sum(1 for r in rates if r.ts <= start)
            for bar in self.candles[self.warmup:]:
                close = bar.ts + bar.resolution_s
                due = []
                while k < len(rates) and rates[k].ts <= close:
                    due.append(rates[k])
                    k += 1
                session.step(bar, due)
            session.close()
            return compare_session(store, "parity", self.strategy,
                                   threshold_pct=self.threshold_pct)
        finally:
            store.close()


def _aggregate(fills: Sequence[tuple[str, float, float, float]]) -> FillKey:
    """The venue fills ``(side, price, size, fee)`` of one order as one fill: their
    size-weighted price (the price itself for a single fill), total size and fee."""
    side, price, size, fee = fills[0]
    if len(fills) > 1:  # sizes added in order, as a position adds them up
        size = sum(f[2] for f in fills)
        price = math.fsum(f[1] * f[2] for f in fills) / size
        fee = math.fsum(f[3] for f in fills)
    return (side, price, size, fee)


class VenueFills(FillModel):
    """Fills a market order at the price and size its venue filled it at.

    ``fills[(venue, bar open time)]`` lists the orders the venue filled on that bar,
    in the order they were placed: ``(side, price, size)`` (+1 buys, -1 sells); an
    order is matched to the first of its venue, bar and side not used yet (its venue:
    that of the bar it is quoted on, the candles of the venue it trades on). An order
    the venue did not fill is not filled (a quoted size of 0).
    """

    def __init__(self, fills: dict[tuple[str, int], list[tuple[int, float, float]]]) -> None:
        self.fills = fills
        self._left: dict[tuple[str, int], list[tuple[int, float, float]]] = {}

    def reset(self) -> None:
        self._left = {key: list(orders) for key, orders in self.fills.items()}

    def quote(self, side: int, size: float, base_price: float, bar: Candle,
              book: OrderbookSnapshot | None, terms: VenueTerms) -> FillQuote:
        left = self._left.get((bar.venue, bar.ts), [])
        for number, (their_side, price, filled) in enumerate(left):
            if their_side == side:
                del left[number]
                return FillQuote(price, filled)
        return FillQuote(base_price, 0.0)


def compare_live_session(store: FlintStore, session: str, strategy: Any, *,
                         money_tolerance: float = 1e-6) -> ParityReport:
    """Replay live session ``session`` of ``store`` through the backtest with
    ``strategy`` (a fresh instance of the session's strategy) and compare (see the
    module doc). A session that was resumed, or that started with positions, cannot
    be replayed from flat (a ``SessionError`` says so)."""
    from flint.backtest.engine import BacktestEngine, accepts_ctx
    from flint.live.risk_settings import risk_engine
    from flint.live.session import LiveConfig, read_recording
    from flint.paper.session import SessionError

    recording = read_recording(store, session)
    config = LiveConfig(**recording.config)
    primary = config.venues[0]
    start, end = recording.start, recording.end
    if start is None or end is None:
        raise SessionError(f"live session '{session}' never started: nothing to replay")
    if recording.segments != 1:
        raise SessionError(f"live session '{session}' was resumed ({recording.segments} "
                           f"segments): parity replays an uninterrupted session")
    held = {v: p for v, state in start.items() for p, size in state["positions"].items()
            if size}
    if held:
        raise SessionError(f"live session '{session}' started with positions ({held}): "
                           f"the backtest starts flat")
    initial = math.fsum(state["cash"] for state in start.values())

    session_intents, session_fills, replayed = _session_orders(store, recording, primary)

    # The backtest's side
    recorder = _Recording(strategy, accepts_ctx(strategy))
    candles = {f"{venue}:{config.market}": [*recording.warmup.get(venue, []),
                                            *(s.bars[venue] for s in recording.steps
                                              if venue in s.bars)]
               for venue in config.venues}
    engine = BacktestEngine(
        recorder, initial, fill_model=VenueFills(replayed),
        funding_rates=recording.funding, max_runtime_s=0.0,
        history_size=config.history_size, allow_short=config.allow_short,
        risk=risk_engine(config.risk) if config.risk is not None else None)
    result = engine.run(candles, warmup=len(recording.warmup.get(primary, [])))
    backtest_fills: dict[int, list[FillKey]] = defaultdict(list)
    for fill in result.fills:
        backtest_fills[int(fill.ts)].append((fill.side.value, fill.price, fill.size, fill.fee))

    final_cash = math.fsum(state["cash"] for state in end.values())
    report = ParityReport(session, len(recording.steps), session_intents,
                          {ts: v for ts, v in recorder.intents.items() if v},
                          session_fills, dict(backtest_fills),
                          final_cash, _cash(result), initial)
    for _, venue, _, _, _, amount in result.funding_payments:
        report.backtest_funding[venue] = report.backtest_funding.get(venue, 0.0) + amount
    for step in recording.steps:
        ts = step.bars[primary].ts
        ours, theirs = session_fills.get(ts, []), backtest_fills.get(ts, [])
        for what, differ in (
            ("order intents", not _same(session_intents.get(ts, []),
                                        recorder.intents.get(ts, []), 0.0)),
            ("fills", not _same([f[:3] for f in ours], [f[:3] for f in theirs], 0.0)),
            ("fees", not _same([f[3:] for f in ours], [f[3:] for f in theirs],
                               money_tolerance)),
        ):
            if differ:
                report.first_divergence = ts
                shown = ((session_intents.get(ts, []), recorder.intents.get(ts, []))
                         if what == "order intents" else (ours, theirs))
                report.divergence = f"{what}: session {shown[0]} vs backtest {shown[1]}"
                return report
    report.end_divergence = _end_divergence(end, result, config.market, final_cash,
                                            money_tolerance)
    return report


def _session_orders(store: FlintStore, recording: Any, primary: str) -> tuple[
        dict[int, list[Intent]], dict[int, list[FillKey]],
        dict[tuple[str, int], list[tuple[int, float, float]]]]:
    """A live session's side, by bar: the orders its strategy placed (as asked: the
    venues round sizes and prices), their venue fills (one per order, see
    :func:`_aggregate`), and those fills as :class:`VenueFills` takes them."""
    asked: dict[tuple[str, str], Intent] = {}
    venue_fills: dict[tuple[str, str], list[tuple[str, float, float, float]]] = (
        defaultdict(list))
    for venue, state in recording.start.items():
        journal = OrderJournal(store, state["account"])
        for event in journal.events():
            d = event["detail"]
            if event["kind"] == Kind.INTENT and d.get("tag") != "signal":
                asked[(venue, str(event["client_id"]))] = (
                    d["order_type"], d["side"], float(d["size"]), float(d["price"]),
                    bool(d["reduce_only"]))
        for row in journal.fills():
            venue_fills[(venue, str(row["client_id"]))].append(
                (str(row["side"]), float(row["price"]), float(row["size"]), float(row["fee"])))
    intents: dict[int, list[Intent]] = defaultdict(list)
    fills: dict[int, list[FillKey]] = defaultdict(list)
    replayed: dict[tuple[str, int], list[tuple[int, float, float]]] = defaultdict(list)
    for step in recording.steps:
        ts = step.bars[primary].ts
        for venue, client_id in step.placed:
            if (venue, client_id) in asked:  # v1 signals are compared through their fills
                intents[ts].append(asked[(venue, client_id)])
            found = venue_fills.get((venue, client_id))
            if found:
                fill = _aggregate(found)
                fills[ts].append(fill)
                replayed[(venue, ts)].append((1 if fill[0] == "long" else -1, fill[1],
                                              fill[2]))
    return dict(intents), dict(fills), dict(replayed)


def _cash(result: Any) -> float:
    """The backtest's cash at the end: equity less the open positions' unrealized PnL."""
    return float(result.final_equity) - math.fsum(
        p.pnl for p in result.open_positions)


def _end_divergence(end: dict[str, Any], result: Any, market: str, cash: float,
                    tolerance: float) -> str:
    """What differs between the venues' state at the end and the backtest's, or ""."""
    theirs = {(p.venue, p.market): p.size for p in result.open_positions}
    for venue, state in end.items():
        ours = float(state["positions"].get(market, 0.0))
        other = theirs.get((venue, market), 0.0)
        if not math.isclose(ours, other, rel_tol=0.0, abs_tol=1e-9):
            return f"{venue} position: session {ours} vs backtest {other}"
    backtest_cash = _cash(result)
    if not math.isclose(cash, backtest_cash, rel_tol=0.0, abs_tol=tolerance):
        return f"cash: session {cash} vs backtest {backtest_cash}"
    return ""
