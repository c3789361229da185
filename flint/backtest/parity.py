"""Parity: a paper session's inputs replayed through the backtest give the same orders
and fills.

:func:`compare_session` reads what a paper session consumed (warm-up bars, bars,
funding: :mod:`flint.paper.session`), runs the backtest engine configured as the
session (same fill model and options, fees, capital) on exactly those inputs, and
compares, bar by bar, the order intents the strategy placed through ``ctx`` and the
fills (price, size, fee, side), exactly unless ``tolerance`` says otherwise. v1
signals are compared through their fills (the backtest sizes an all-in order when it
fills). The report names the first bar where the two paths differ.

:class:`ParityTest` is the seed's mode: a strategy over candles through both paths
(a paper session on an in-memory store, then :func:`compare_session`).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from flint.execution.context import ExecutionContext
from flint.execution.order_tracker import STRATEGY, OrderTracker
from flint.live.journal import OrderJournal
from flint.store import FlintStore
from flint_core.enums import OrderState, OrderType, Signal
from flint_core.records import Candle, FundingRate

#: (order type, side, size, price, reduce_only) of an order the strategy placed.
Intent = tuple[str, str, float, float, bool]
#: (side, price, size, fee) of a fill.
FillKey = tuple[str, float, float, float]


@attrs.define
class ParityReport:
    """How a paper session and its backtest replay compare."""

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
        """Same intents and fills on every bar."""
        return self.first_divergence is None

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
        return f"parity broken at bar ts={self.first_divergence}: {self.divergence}; {line}"


class _RecordingContext:
    """Forwards to a context and keeps the orders placed through it per bar."""

    def __init__(self, ctx: Any, record: Callable[[Intent], None]) -> None:
        self._ctx = ctx
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def market_order(self, market: str, side: Any, size: float, reduce_only: bool = False,
                     *args: Any, **kwargs: Any) -> str:
        self._record((OrderType.MARKET.value, str(side.value), float(size), 0.0,
                      bool(reduce_only)))
        return str(self._ctx.market_order(market, side, size, reduce_only, *args, **kwargs))

    def limit_order(self, market: str, side: Any, size: float, price: float,
                    reduce_only: bool = False, *args: Any, **kwargs: Any) -> str:
        self._record((OrderType.LIMIT.value, str(side.value), float(size), float(price),
                      bool(reduce_only)))
        return str(self._ctx.limit_order(market, side, size, price, reduce_only, *args, **kwargs))

    def stop_order(self, market: str, side: Any, size: float, trigger_price: float,
                   *args: Any, **kwargs: Any) -> str:
        self._record((OrderType.STOP_LOSS.value, str(side.value), float(size),
                      float(trigger_price), bool(kwargs.get("reduce_only", True))))
        return str(self._ctx.stop_order(market, side, size, trigger_price, *args, **kwargs))

    def take_profit_order(self, market: str, side: Any, size: float, trigger_price: float,
                          *args: Any, **kwargs: Any) -> str:
        self._record((OrderType.TAKE_PROFIT.value, str(side.value), float(size),
                      float(trigger_price), bool(kwargs.get("reduce_only", True))))
        return str(self._ctx.take_profit_order(market, side, size, trigger_price, *args,
                                               **kwargs))

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
    state = recording.venue_state["state"] if recording.venue_state else None
    paper_equity = config.initial_capital
    if state is not None:
        size, entry, mark = state["slot"][0], state["slot"][1], state["slot"][3]
        paper_equity = float(state["cash"]) + (mark - entry) * size

    recorder = _Recording(strategy, accepts_ctx(strategy))
    backtest_fills: dict[int, list[FillKey]] = defaultdict(list)
    backtest_equity = config.initial_capital
    if recording.bars:
        engine = config.engine(recorder, recording.all_funding)
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
