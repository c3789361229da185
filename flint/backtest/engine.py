"""The backtest engine: replay candles through a strategy, bar by bar.

The loop itself is compiled kernel code (:mod:`flint_core.loop`, where the order of
events within a bar is documented); this module turns the user's inputs into feeds,
venue terms and accounts, runs the loop and builds the :class:`BacktestResult`.

v1 strategies (signals): ``BUY`` opens a long on the primary market when flat, sized
all-in: the account's cash at the fill price net of the taker fee
(``size = cash / (price * (1 + fee))``), so notional plus fee equals the cash.
``SELL`` closes it. With ``allow_short=True`` the signals are symmetric: ``SELL``
also opens an all-in short, ``BUY`` closes a short and opens a long. A new signal is
ignored while the previous one's orders are still on their way.

Venues and costs: an order trades on the venue it names. One that names none (and
every v1 signal) is on the ``default`` venue, which stands for the venue its market's
candles come from: it pays that venue's maker/taker fees (maker for resting limits,
taker otherwise), latency, impact, margins and funding (its positions, fills and, with
an allocator, account keep the name ``default``). A venue's config comes from
``venues=``, else its registered preset with the flint.yaml overrides
(:func:`flint.plugins.get_venue_config`).
``fee_rate`` keeps the seed's meaning for candles with no venue: it is both fee rates
of :data:`~flint_core.venues.DEFAULT_VENUE` (unless ``venues=`` names ``default``).
Candles of a venue no installed plugin describes trade at those default costs, with a
``venue_unknown`` warning; an order naming a venue that has neither candles nor a
config is an error naming the plugin that provides it. A ``fee_rate`` other than the
seed's that no trade paid (every trade was on a venue with its own rates) is reported
as ``fee_rate_unused``; ``venues=`` is how to change a venue's rates.

Funding (ARCHITECTURE section 5): a position pays or receives the funding of its own
venue, at each of that venue's settlements (whatever interval the venue used):
``rate x size x price`` with the record's oracle price, else its mark price, else the
close of the bar that settlement falls in; longs pay a positive rate. A position on
the ``default`` venue pays the funding of the venue its candles come from. A
settlement at ``ts`` is applied on the bar with ``open < ts <= close`` to the position
held at that point (after that bar's resting orders, before its new market orders).
"""

import inspect
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from flint.analytics.metrics import bar_returns, max_drawdown, periods_per_year, sharpe_ratio
from flint.backtest.result import BacktestResult
from flint.execution.backtest_context import BacktestContext
from flint.execution.capital import VenueAllocator, transfer_record
from flint.execution.margin import MarginEngine
from flint.execution.risk_gate import Observed
from flint.plugins import get_fill_model, get_venue_config
from flint.risk.engine import RiskEngine
from flint_core.errors import BacktestTimeoutError
from flint_core.feeds import Feed, FundingStream
from flint_core.funding import FundingColumns
from flint_core.inputs import build_inputs
from flint_core.ledger import PositionSlot
from flint_core.loop import BacktestCore
from flint_core.markets import DEFAULT_VENUE
from flint_core.records import Position
from flint_core.terms import VenueTerms, terms_from_config
from flint_core.venues import DEFAULT_VENUE as DEFAULT_CONFIG
from flint_core.venues import VenueConfig

__all__ = ["BacktestEngine", "BacktestResult", "BacktestTimeoutError"]

#: The seed's flat fee rate: ``fee_rate``'s default.
SEED_FEE_RATE = 0.0005
#: Fewer closed trades than this raise ``low_trade_count``.
LOW_TRADE_COUNT = 5
#: Bars of ``history`` a strategy sees unless ``history_size`` says otherwise.
HISTORY_SIZE = 500
#: Traded notional per year above this multiple of average equity raises ``high_turnover``.
HIGH_TURNOVER = 100.0


def accepts_ctx(strategy: Any) -> bool:
    """Whether ``strategy.on_candle`` takes a third (``ctx``) argument."""
    try:
        signature = inspect.signature(strategy.on_candle)
    except (TypeError, ValueError):
        return True
    params = list(signature.parameters.values())
    if "ctx" in signature.parameters:
        return True
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    positional = [
        p for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 3


class BacktestEngine:
    """Event-driven candle replay of one strategy.

    The seed's arguments come first; ``funding_rates`` may also be a
    :class:`~flint_core.funding.FundingColumns` (or ``{venue: FundingColumns}``), the
    same settlements as columns, read without a record a row. Beyond them (keyword-only):
    ``borrow_snapshots`` and ``oracle_prices`` (more event data), ``venues`` (venue
    configs by name, over the registered presets), ``history_size`` (bars in
    ``history``, default 500), ``allow_short`` (v1 ``SELL`` opens shorts) and
    ``max_resting_orders`` (open limit/stop/take-profit orders at a time) and ``risk``
    (a :class:`~flint.risk.RiskEngine` every order passes, as in paper and live
    trading; each run starts from the engine's state when given here).
    ``max_runtime_s`` = 0 disables the time limit. ``fill_model`` is a fill model or
    the name of a registered one; without it (or with ``"default"``), a run uses the
    default fill model of its primary market's venue
    (:func:`flint.plugins.get_fill_model`: the registered model whose ``venues`` name
    it, else ``FillPipeline``).
    """

    def __init__(
        self,
        strategy: Any,
        initial_capital: float = 10_000.0,
        fee_rate: float = SEED_FEE_RATE,
        fill_model: Any = None,
        funding_rates: list[Any] | Mapping[str, Any] | FundingColumns | None = None,
        orderbook_snapshots: list[Any] | None = None,
        open_interest: list[Any] | None = None,
        margin_engine: MarginEngine | None = None,
        capital_allocator: VenueAllocator | None = None,
        max_runtime_s: float = 300.0,
        *,
        borrow_snapshots: list[Any] | None = None,
        oracle_prices: list[Any] | None = None,
        venues: Mapping[str, VenueConfig] | None = None,
        history_size: int = HISTORY_SIZE,
        allow_short: bool = False,
        max_resting_orders: int = 1000,
        risk: RiskEngine | None = None,
    ) -> None:
        if not callable(getattr(strategy, "on_candle", None)):
            raise TypeError(f"strategy must have an on_candle method, got {strategy!r}")
        if not (initial_capital > 0 and math.isfinite(initial_capital)):
            raise ValueError(
                f"initial_capital must be a finite number > 0, got {initial_capital!r}"
            )
        if not (0 <= fee_rate < 1):
            raise ValueError(f"fee_rate must be within [0, 1), got {fee_rate!r}")
        if not max_runtime_s >= 0:
            raise ValueError(f"max_runtime_s must be >= 0 (0 disables it), got {max_runtime_s!r}")
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1, got {history_size!r}")
        if isinstance(fill_model, str):
            fill_model = None if fill_model == "default" else get_fill_model(fill_model)
        if fill_model is not None and not callable(getattr(fill_model, "quote", None)):
            raise TypeError(f"fill_model must be a fill model (with quote()), got {fill_model!r}")
        self.strategy = strategy
        self.initial_capital = float(initial_capital)
        self.fee_rate = float(fee_rate)
        self.fill_model = fill_model  # None: the default of the primary market's venue
        self.risk = risk
        self._risk_start = risk.snapshot() if risk is not None else None
        self.funding_rates = funding_rates
        self.orderbook_snapshots = orderbook_snapshots
        self.open_interest = open_interest
        self.margin_engine = margin_engine
        self.capital_allocator = capital_allocator
        self.max_runtime_s = float(max_runtime_s)
        self.borrow_snapshots = borrow_snapshots
        self.oracle_prices = oracle_prices
        self.venues = dict(venues or {})
        for name, config in self.venues.items():
            if not isinstance(config, VenueConfig) or config.name != name:
                raise ValueError(f"venues['{name}'] must be a VenueConfig named '{name}'")
        self.history_size = int(history_size)
        self.allow_short = bool(allow_short)
        self.max_resting_orders = int(max_resting_orders)

    # Venues and accounts

    def venue_config(self, name: str) -> VenueConfig:
        """The config a venue trades with in this engine (before margin overrides)."""
        if name in self.venues:
            return self.venues[name]
        if name == DEFAULT_VENUE:
            return DEFAULT_CONFIG
        return get_venue_config(name)

    def venue_terms(self, name: str) -> VenueTerms:
        """The numbers the kernel charges on ``name``: ``fee_rate`` on ``default``
        (a ``KeyError`` for a venue with no config)."""
        config = self.venue_config(name)
        if self.margin_engine is not None:
            config = self.margin_engine.apply(config)
        if name == DEFAULT_VENUE and name not in self.venues:
            return terms_from_config(config, self.fee_rate, self.fee_rate)
        return terms_from_config(config)

    # Running

    def run(self, candles: Any, extra_markets: Mapping[str, Any] | None = None, *,
            warmup: int = 0) -> BacktestResult:
        """Backtest on ``candles`` (a list, a ``CandleSeries`` or a dict of them).

        A dict is keyed ``"market"`` or ``"venue:market"``; the market with the most
        bars drives the loop (the strategy is called once per bar of it) and the others,
        like ``extra_markets``, are available through ``ctx`` and tradable.

        ``warmup``: the first ``warmup`` bars of the driving market (and the other
        markets' bars before the same time) only fill ``history``: the strategy is not
        called on them and nothing trades; the run, its equity curve and its
        timestamps start at the bar after them.
        """
        self.strategy.reset()
        if _empty(candles):
            return BacktestResult(
                initial_capital=self.initial_capital, final_equity=self.initial_capital,
                strategy_warnings=["no_data: no candles to backtest"],
            )
        allocator = self.capital_allocator
        inputs = build_inputs(
            candles,
            fill_model=self.fill_model,
            terms_for=self.venue_terms,
            capital=self.initial_capital,
            extra_markets=extra_markets,
            balances=allocator.initial_balances if allocator is not None else None,
            history_size=self.history_size,
            warmup=warmup,
            funding=self.funding_rates,
            books=self.orderbook_snapshots,
            open_interest=self.open_interest,
            oracles=self.oracle_prices,
            borrow=self.borrow_snapshots,
            margin=self.margin_engine is not None,
            allow_short=self.allow_short,
            max_resting=self.max_resting_orders,
            max_runtime_s=self.max_runtime_s,
            transfer_routes=(
                {k: (r.time_s, r.cost_usd) for k, r in allocator.routes.items()}
                if allocator is not None else None
            ),
            transfer_default=(
                (allocator.default.time_s, allocator.default.cost_usd)
                if allocator is not None else None
            ),
        )
        if inputs.fill_model is None:  # the default model of the primary market's venue
            primary = inputs.markets[0].series.venue
            inputs = replace(inputs, fill_model=get_fill_model(venue=primary))
        inputs.fill_model.reset()
        core = BacktestCore(inputs)
        strategy: Any = self.strategy
        if self.risk is not None and self._risk_start is not None:
            self.risk.restore(self._risk_start)
        ctx = BacktestContext(core, self.risk)
        if ctx.risk_gate is not None:
            strategy = Observed(strategy, ctx.risk_gate)
        started = time.perf_counter()
        core.run(strategy, ctx, accepts_ctx(self.strategy))
        result = self._result(core, ctx)
        result.logs.append(f"ran {core.feeds[0].n} bars in {time.perf_counter() - started:.3f} s")
        return result

    # Results

    def _result(self, core: BacktestCore, ctx: BacktestContext) -> BacktestResult:
        ledger = core.ledger
        primary = core.feeds[0]
        curve = core.equity_curve
        final = ledger.equity()
        trades = ledger.trades
        winners = sum(1 for t in trades if t.pnl > 0)
        series = np.fromiter(curve, dtype=np.float64, count=len(curve))
        with_start = np.concatenate(([ledger.initial], series))
        per_pnl: dict[str, float] = {}
        per_trades: dict[str, int] = {}
        per_funding: dict[str, float] = {}
        per_fees: dict[str, float] = {}
        for slot in ledger.slots:
            v = slot.venue
            net = slot.realized - slot.fees - slot.funding - slot.borrow
            if slot.size != 0.0:
                net += slot.unrealized()
            per_pnl[v] = per_pnl.get(v, 0.0) + net
            per_trades[v] = per_trades.get(v, 0) + slot.closed_trades
            per_funding[v] = per_funding.get(v, 0.0) - slot.funding
            per_fees[v] = per_fees.get(v, 0.0) + slot.fees
        for account in ledger.accounts:
            if account.transfer_costs:
                per_pnl[account.name] = per_pnl.get(account.name, 0.0) - account.transfer_costs
        open_positions = [
            _open_record(slot) for slot in ledger.slots if slot.size != 0.0
        ]
        result = BacktestResult(
            total_pnl=final - ledger.initial,
            win_rate=winners / len(trades) if trades else 0.0,
            max_drawdown=max_drawdown(with_start),
            sharpe_ratio=sharpe_ratio(
                bar_returns(with_start), periods_per_year(primary.resolution_s)
            ),
            total_trades=len(trades),
            winning_trades=winners,
            losing_trades=len(trades) - winners,
            positions=list(trades),
            equity_curve=curve,
            fills=list(ledger.fills),
            total_fees=ledger.fees,
            funding_paid=ledger.funding,
            strategy_warnings=[],
            per_venue_pnl=per_pnl,
            per_venue_trades=per_trades,
            per_venue_funding_income=per_funding,
            total_tx_costs=0.0,
            jupiter_borrow_paid=ledger.borrow,
            borrow_payments=list(ledger.borrow_payments),
            margin_stats=self._margin_stats(core),
            initial_capital=ledger.initial,
            final_equity=final,
            resolution_s=primary.resolution_s,
            timestamps=primary.series.timestamps,
            open_positions=open_positions,
            funding_payments=list(ledger.funding_payments),
            transfers=[transfer_record(t) for t in ledger.transfers],
            transfer_costs=ledger.transfer_costs,
            per_venue_fees=per_fees,
            logs=list(ctx.logs),
        )
        result.strategy_warnings = self._cost_warnings(core)
        result.strategy_warnings += self._warnings(core, result, series)
        return result

    def _cost_warnings(self, core: BacktestCore) -> list[str]:
        """What the run assumed about costs that the user may not expect."""
        notes = [
            f"venue_unknown: {reason}; orders on its candles paid the default venue's costs "
            f"(fee_rate {self.fee_rate:g} for maker and taker); pass venues={{name: "
            f"VenueConfig(...)}} to give its own"
            for reason in core.unknown_venues
        ]
        traded = {slot.terms.name for slot in core.ledger.slots}
        preset = sorted(traded - set(self.venues))
        if self.fee_rate != SEED_FEE_RATE and preset and DEFAULT_VENUE not in traded:
            notes.append(
                f"fee_rate_unused: fee_rate={self.fee_rate:g} prices candles with no venue; "
                f"this run traded on {', '.join(preset)} at the venue's own maker/taker "
                f"rates (change them with venues={{name: VenueConfig(...)}} or flint.yaml "
                f"venues.<name>)"
            )
        return notes

    def _margin_stats(self, core: BacktestCore) -> dict[str, Any] | None:
        if self.margin_engine is None:
            return None
        return {
            "liquidations": core.liquidations,
            "rejections": core.warning_counts.get("margin_rejected", 0),
            "max_leverage": core.max_leverage,
            "min_margin_ratio": (
                None if math.isinf(core.min_margin_ratio) else core.min_margin_ratio
            ),
            "peak_margin_used": core.peak_margin_used,
        }

    def _warnings(
        self, core: BacktestCore, result: BacktestResult, curve: np.ndarray
    ) -> list[str]:
        notes = list(core.warnings)
        notes += _funding_warnings(core)
        notes += _coverage_warnings(core)
        if result.total_trades < LOW_TRADE_COUNT:
            notes.append(
                f"low_trade_count: {result.total_trades} closed trade(s); fewer than "
                f"{LOW_TRADE_COUNT} makes win rate and Sharpe meaningless"
            )
        bars = len(curve)
        if bars and core.ledger.traded_notional > 0:
            average = float(np.mean(curve))
            years = bars / periods_per_year(core.feeds[0].resolution_s)
            if average > 0 and years > 0:
                turnover = core.ledger.traded_notional / average / years
                if turnover > HIGH_TURNOVER:
                    notes.append(
                        f"high_turnover: traded {turnover:.0f}x average equity per year; "
                        f"results are dominated by costs and fill assumptions"
                    )
        for code, count in sorted(core.warning_counts.items()):
            hidden = count - sum(1 for n in core.warnings if n.startswith(f"{code}:"))
            if hidden > 0:
                notes.append(f"{code}: ... and {hidden} more")
        return notes


def _empty(candles: Any) -> bool:
    if isinstance(candles, Mapping):
        return all(_empty(v) for v in candles.values()) if candles else True
    try:
        return len(candles) == 0
    except TypeError:
        return False


def _open_record(slot: PositionSlot) -> Position:
    return Position(
        slot.entry_price, slot.size, slot.entry_ts, slot.mark, 0, slot.unrealized(), False,
        slot.market, slot.venue,
    )


def _funding_warnings(core: BacktestCore) -> list[str]:
    notes = []
    given = sorted({f"{s.venue}/{s.market}" for s in core.funding})
    for slot in core.ledger.slots:
        if not slot.held or slot.funding_linked:
            continue
        feed = core.feeds[slot.feed]
        via = f" (candles from {feed.venue})" if slot.venue == DEFAULT_VENUE else ""
        notes.append(
            f"no_funding_data: {slot.venue}/{slot.market}{via} held a position but no funding "
            f"applies to it; funding given for: {', '.join(given) or 'nothing'}"
        )
    return notes


def _coverage_warnings(core: BacktestCore) -> list[str]:
    notes = []
    for feed in core.feeds:
        ts = feed.series.timestamps
        if ts.size < 2:
            continue
        gaps = np.flatnonzero(np.diff(ts) > feed.resolution_s)
        if gaps.size:
            missing = int(((np.diff(ts)[gaps] // feed.resolution_s) - 1).sum())
            first = int(ts[gaps[0]])
            notes.append(
                f"coverage_gap: {feed.key} misses {missing} bar(s) in {gaps.size} gap(s), "
                f"the first after ts={first}"
            )
    for stream in core.funding:
        if not stream.slots:
            continue
        notes += _funding_gaps(stream, core.feeds[stream.slots[0].feed])
    return notes


def _funding_gaps(stream: FundingStream, feed: Feed) -> list[str]:
    ts = np.asarray(stream.ts, dtype=np.int64)
    intervals = np.asarray(stream.interval_s, dtype=np.int64)
    first_bar = int(feed.series.timestamps[0])
    last_close = int(feed.series.timestamps[-1]) + feed.resolution_s
    notes = []
    label = f"funding of {stream.venue}/{stream.market}"
    if ts[0] > first_bar + intervals[0]:
        notes.append(f"coverage_gap: {label} starts at ts={int(ts[0])}, after the first bar")
    if ts[-1] + intervals[-1] < last_close:
        notes.append(f"coverage_gap: {label} ends at ts={int(ts[-1])}, before the last bar")
    inside = (ts > first_bar) & (ts <= last_close)
    steps = np.diff(ts)
    late = np.flatnonzero((steps > 1.5 * intervals[1:]) & inside[1:])
    if late.size:
        notes.append(
            f"coverage_gap: {label} has {late.size} missing settlement gap(s), the first "
            f"after ts={int(ts[late[0]])}"
        )
    return notes
