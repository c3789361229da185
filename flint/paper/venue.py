"""The paper venue: a :class:`~flint.live.adapter.VenueAdapter` that fills orders on
closed bars with the backtest's fill model, fees and funding.

It is the venue :class:`~flint.execution.paper_broker.PaperBroker` trades on, so a
paper session goes through the live core (journal, risk, reconciliation) and only
the venue is simulated. Its money is the kernel's own :class:`~flint_core.ledger.Ledger`
and its matching follows the bar loop (:mod:`flint_core.loop`) step for step, so a
session replayed through :class:`~flint.backtest.engine.BacktestEngine` gives the
same fills (:mod:`flint.backtest.parity` checks it):

- :meth:`on_bar` (before the strategy): market orders waiting for this open
  (``NextBarOpenFill``), the mark, resting stops, then limits and take-profits,
  then the funding settled by the bar's close;
- orders the strategy places are stamped with the bar's open time and drawn a
  latency from the fill model; :meth:`after_strategy` fills those whose latency has
  passed at the bar's close (a later bar's close otherwise).

Differences from the kernel, none of which a parity run meets: no order books, no
margin or liquidation, and the short remainder of a market order is not rested.

Every change is handed to ``persist(change, record)`` before the call returns, as a
real venue commits before it acknowledges: ``change`` (JSON-able, see :meth:`change`)
holds the account, the orders changed and the fills made since the last one, so a
change costs what it changed, not the whole state (inside :meth:`held`, the changes of
a bar are one); :meth:`on_bar` hands the bar's ``record`` over with it, so a bar is
recorded exactly when the venue has processed it.
:class:`SavedState` merges the changes read back into the :meth:`snapshot` a restarted
venue :meth:`restore` s. Finished orders and fills stay listed for
:attr:`PaperVenue.keep_bars` bars (the journal keeps them for good), so the state stays
small. Client order ids are per bar (``fl-<session>-<bar ts>-<n>``), so a strategy re-run
on a bar asks for the same ids.
"""

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from flint.live.adapter import (
    OrderRequest,
    UserEvents,
    VenueAdapter,
    VenueBalance,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueRejected,
)
from flint_core.enums import OrderState, OrderType, Side, TimeInForce
from flint_core.ledger import Account, Ledger, PositionSlot
from flint_core.matching import (
    LIMIT,
    STOP,
    TAKE_PROFIT,
    crossed_on_arrival,
    limit_price_on,
    trigger_price_on,
)
from flint_core.records import Candle, FundingRate
from flint_core.terms import VenueTerms

_KINDS = {OrderType.LIMIT: LIMIT, OrderType.STOP_LOSS: STOP, OrderType.TAKE_PROFIT: TAKE_PROFIT}
_OPEN = (OrderState.CONFIRMED, OrderState.PARTIALLY_FILLED)


@attrs.define
class PaperOrder:
    """An order at the paper venue."""

    client_id: str
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float
    reduce_only: bool
    time_in_force: TimeInForce
    ts: int
    state: OrderState = OrderState.CONFIRMED
    filled: float = 0.0
    avg_price: float = 0.0
    fresh: bool = True  # no bar matched against it yet (resting orders)
    eligible_ts: float = 0.0  # market orders: when their latency has passed
    next_open: bool = False  # market orders waiting for the next bar's open
    latency_ms: float = 0.0
    reason: str = ""

    @property
    def sign(self) -> int:
        return 1 if self.side is Side.LONG else -1

    def report(self, fills: tuple[VenueFill, ...] = ()) -> VenueOrder:
        return VenueOrder(self.client_id, self.market, self.side, self.order_type, self.size,
                          self.state, self.price, self.filled, self.avg_price, self.reduce_only,
                          self.client_id, float(self.ts), self.reason, fills)

    def to_json(self) -> list[Any]:
        return [getattr(self, name).value if enum else getattr(self, name)
                for name, enum in _JSON_FIELDS]

    @classmethod
    def from_json(cls, row: list[Any]) -> "PaperOrder":
        return cls(*(_ENUMS[f.name](v) if f.name in _ENUMS else v
                     for f, v in zip(_FIELDS, row, strict=True)))


_FIELDS = attrs.fields(PaperOrder)
_ENUMS: dict[str, Any] = {"side": Side, "order_type": OrderType, "time_in_force": TimeInForce,
                          "state": OrderState}
_JSON_FIELDS = tuple((f.name, f.name in _ENUMS) for f in _FIELDS)  # what to_json writes


def _candle(row: Sequence[Any], market: str, resolution_s: int, venue: str) -> Candle:
    return Candle(int(row[0]), float(row[1]), float(row[2]), float(row[3]), float(row[4]),
                  float(row[5]), market, resolution_s, venue)


def candle_row(candle: Candle) -> list[Any]:
    """A candle as journaled: ``[ts, open, high, low, close, volume]``."""
    return [candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume]


class PaperVenue(VenueAdapter):
    """One market of one venue, simulated on its closed bars (see the module doc).

    ``terms`` are the venue's fees and latency as the backtest charges them;
    ``fill_model`` is a fresh instance of the backtest's model (it is reset here).
    """

    quote_asset = "USD"
    ambiguity_window_s = 0.0  # the venue is in-process: what it does not know, it never got
    #: Bars a finished order and a fill stay listed (and in the snapshot) after they happen.
    keep_bars = 48

    def __init__(
        self,
        *,
        venue: str,
        market: str,
        resolution_s: int,
        fill_model: Any,
        terms: VenueTerms,
        initial_capital: float,
        persist: Callable[[dict[str, Any], Any], None] = lambda state, record: None,
    ) -> None:
        self.venue = venue
        self.market = market
        self.resolution_s = int(resolution_s)
        self.fill_model = fill_model
        self.terms = terms
        self.persist = persist
        self.account = Account("default", float(initial_capital))
        self.ledger = Ledger([self.account])
        self.slot = PositionSlot("default", market, terms, self.account, 0)
        self.ledger.slots.append(self.slot)
        self.orders: dict[str, PaperOrder] = {}
        self.fills: list[VenueFill] = []
        self.bar: Candle | None = None
        #: Position at the start of the current bar's strategy call (v1 signals read it).
        self.bar_start_size = 0.0
        self.draws = 0  # latency draws so far (replayed into the model on restore)
        self._log: list[VenueOrder | VenueFill] = []  # user events not yet read
        self._logged = 0  # events dropped from the front of _log, once read
        self._changed: dict[str, PaperOrder] = {}  # orders changed since the last commit
        self._made: list[VenueFill] = []  # fills made since the last commit
        self._held: list[Any] | None = None  # [record, forget] of held commits (held())
        fill_model.reset()

    # Time

    @property
    def now(self) -> float:
        """Paper time: the close of the newest bar (0 before the first)."""
        return float(self.bar.ts + self.resolution_s) if self.bar is not None else 0.0

    def new_client_id(self, session: str, number: int) -> str:
        bar = self.bar.ts if self.bar is not None else 0
        return f"fl-{session}-{bar}-{number}"

    # The bar loop

    def on_bar(self, bar: Candle, funding: Iterable[FundingRate] = (), record: Any = None) -> bool:
        """Everything that happens on ``bar`` before the strategy sees it, persisted with
        ``record``; False (and nothing done) for a bar processed already."""
        if self.bar is not None and bar.ts <= self.bar.ts:
            return False
        self.bar = bar
        for order in self._waiting(next_open=True):
            self._fill_taker(order, bar.open, bar)
        self.slot.mark = bar.close
        resting = [o for o in self.orders.values()
                   if o.state in _OPEN and o.order_type is not OrderType.MARKET]
        for order in resting:  # stops first: assume the adverse move came first
            if order.order_type is OrderType.STOP_LOSS:
                self._try_resting(order, bar)
        for order in resting:
            if order.order_type is not OrderType.STOP_LOSS:
                self._try_resting(order, bar)
        for order in resting:
            if order.fresh:  # the change holds it once, not every bar it rests
                order.fresh = False
                self._changed[order.client_id] = order
        close_ts = bar.ts + self.resolution_s
        for rate in funding:
            if rate.ts <= close_ts and self.slot.size != 0.0:
                price = rate.oracle_price
                if not price > 0.0:
                    price = rate.mark_price if rate.mark_price > 0.0 else self.slot.mark
                self.ledger.pay_funding(self.slot, rate.ts, rate.rate, price)
        self.bar_start_size = self.slot.size
        horizon = bar.ts - self.keep_bars * self.resolution_s
        _forget(self.orders, self.fills, horizon)
        self._commit(record, horizon)
        return True

    def after_strategy(self, *, all_now: bool = False) -> None:
        """Fill the market orders whose latency has passed by the bar's close
        (``all_now``: every one, at this close: a kill switch flattening now)."""
        bar = self.bar
        waiting = self._waiting(next_open=False)
        if all_now:
            waiting += self._waiting(next_open=True)
        if bar is None or not waiting:
            return
        close_ts = bar.ts + self.resolution_s
        for order in waiting:
            if all_now or close_ts >= order.eligible_ts:
                self._fill_taker(order, bar.close, bar)
        self._commit()

    def _waiting(self, next_open: bool) -> list[PaperOrder]:
        return [o for o in self.orders.values() if o.order_type is OrderType.MARKET
                and o.state in _OPEN and o.next_open is next_open]

    def _try_resting(self, order: PaperOrder, bar: Candle) -> None:
        if order.state not in _OPEN:
            return
        kind = _KINDS[order.order_type]
        if kind == LIMIT:
            price = limit_price_on(order.sign, order.price, order.fresh, bar)
            if price > 0.0:
                maker = not (order.fresh and crossed_on_arrival(order.sign, order.price, bar))
                self._fill_limit(order, price, maker, bar)
            return
        base = trigger_price_on(kind, order.sign, order.price, bar)
        if base > 0.0:
            self._fill_taker(order, base, bar, tif=TimeInForce.IOC)

    def _size_for(self, order: PaperOrder) -> float:
        held = self.slot.size
        remaining = order.size - order.filled
        if order.reduce_only:
            if held == 0.0 or (held > 0.0) == (order.sign > 0):
                return 0.0
            return min(remaining, abs(held))
        return remaining

    def _fill_taker(self, order: PaperOrder, base: float, bar: Candle,
                    tif: TimeInForce | None = None) -> None:
        size = self._size_for(order)
        if size <= 0.0:
            self._close(order, OrderState.CANCELLED, "nothing to do (reduce-only while flat)")
            return
        quote = self.fill_model.quote(order.sign, size, base, bar, None, self.terms)
        price = quote.price
        if not (price > 0.0 and math.isfinite(price)) or not quote.size >= 0.0:
            raise ValueError(f"fill model {self.fill_model!r} quoted price={price!r} "
                             f"size={quote.size!r} for {order.client_id}")
        filled = min(quote.size, size)
        short = filled < size * (1.0 - 1e-12)
        if filled <= 0.0 or (short and (tif or order.time_in_force) is TimeInForce.FOK):
            self._close(order, OrderState.CANCELLED, "no liquidity")
            return
        self._book(order, filled, price, filled * price * self.terms.taker_rate, False, bar)
        if short:
            self._close(order, OrderState.CANCELLED, "remainder not filled")
        else:  # done, also a reduce-only order sized down to the position
            self._close(order, OrderState.FILLED, "")

    def _fill_limit(self, order: PaperOrder, price: float, maker: bool, bar: Candle) -> None:
        size = self._size_for(order)
        if size <= 0.0:
            self._close(order, OrderState.CANCELLED, "nothing to do (reduce-only while flat)")
            return
        rate = self.terms.maker_rate if maker else self.terms.taker_rate
        self._book(order, size, price, size * price * rate, maker, bar)
        self._close(order, OrderState.FILLED, "")

    def _book(self, order: PaperOrder, size: float, price: float, fee: float, maker: bool,
              bar: Candle) -> None:
        self.ledger.trade(self.slot, order.sign, size, price, bar.ts)
        self.ledger.charge_fee(self.slot, fee)
        done = order.filled
        order.avg_price = (order.avg_price * done + price * size) / (done + size)
        order.filled = done + size
        fill = VenueFill(f"{order.client_id}-{len(self.fills)}", order.client_id, order.market,
                         order.side, price, size, fee, float(bar.ts + self.resolution_s), maker)
        self.fills.append(fill)
        self._made.append(fill)
        self._log.append(fill)
        self._changed[order.client_id] = order

    def _close(self, order: PaperOrder, state: OrderState, reason: str) -> None:
        order.state, order.reason = state, reason or order.reason
        self._log.append(order.report())
        self._changed[order.client_id] = order

    def all_in_size(self, side: Side) -> float:
        """The size of an all-in order (a v1 signal) at this bar's close: the account's
        cash at the fill model's price net of the taker fee, sized as the kernel does."""
        bar = self.bar
        cash = self.account.cash
        if bar is None or cash <= 0.0:
            return 0.0
        sign, rate = (1 if side is Side.LONG else -1), self.terms.taker_rate
        size = cash / (bar.close * (1.0 + rate)) if bar.close > 0.0 else 0.0
        if size <= 0.0:
            return 0.0
        quote = self.fill_model.quote(sign, size, bar.close, bar, None, self.terms)
        return cash / (quote.price * (1.0 + rate)) if quote.price > 0.0 else 0.0

    # The adapter

    def place(self, request: OrderRequest) -> VenueOrder:
        bar = self.bar
        if request.market != self.market:
            raise VenueRejected("unknown_market", f"this paper venue trades {self.market} only")
        if bar is None:
            raise VenueRejected("no_price_data", f"{self.market} has no closed bar yet")
        if request.client_id in self.orders:
            raise VenueRejected("duplicate", f"client id {request.client_id} is used already")
        order = PaperOrder(request.client_id, request.market, request.side, request.order_type,
                           request.size, request.price, request.reduce_only,
                           request.time_in_force, bar.ts)
        if request.order_type is OrderType.MARKET:
            if getattr(self.fill_model, "next_bar_open", False):
                order.next_open = True
            else:
                delay = float(self.fill_model.latency_s(self.terms))
                self.draws += 1
                order.latency_ms = delay * 1000.0
                order.eligible_ts = bar.ts + delay
        self.orders[order.client_id] = order
        self._changed[order.client_id] = order
        self._commit()
        return order.report()

    def cancel(self, client_id: str) -> VenueOrder:
        order = self.orders.get(client_id)
        if order is None:
            raise VenueRejected("not_found", f"no order {client_id}")
        if order.state not in _OPEN or order.order_type is OrderType.MARKET:
            raise VenueRejected("not_open", f"order {client_id} is not resting")
        self._close(order, OrderState.CANCELLED, "cancelled")
        self._commit()
        return order.report()

    def open_orders(self) -> Sequence[VenueOrder]:
        return [o.report() for o in self.orders.values() if o.state in _OPEN]

    def order_status(self, client_id: str) -> VenueOrder | None:
        order = self.orders.get(client_id)
        if order is None:
            return None
        fills = tuple(f for f in self.fills if f.client_id == client_id)
        return order.report(fills)

    def fills_since(self, ts: float) -> Sequence[VenueFill]:
        return [f for f in self.fills if f.ts >= ts]

    def positions(self) -> Sequence[VenuePosition]:
        slot = self.slot
        if slot.size == 0.0:
            return []
        return [VenuePosition(self.market, slot.size, slot.entry_price, slot.mark)]

    def balances(self) -> Sequence[VenueBalance]:
        cash = self.account.cash
        return [VenueBalance(self.quote_asset, cash, cash)]

    def events(self, cursor: str, timeout_s: float) -> UserEvents:
        """The events after ``cursor`` (a count of events); those before it were read,
        and are dropped, so the log holds one bar's events, not a session's."""
        end = self._logged + len(self._log)
        start = min(int(cursor), end) if cursor else end
        if start > self._logged:
            del self._log[:start - self._logged]
            self._logged = start
        batch = self._log[max(start - self._logged, 0):]
        return UserEvents(tuple(e for e in batch if isinstance(e, VenueOrder)),
                          tuple(e for e in batch if isinstance(e, VenueFill)), str(end))

    # State

    @property
    def equity(self) -> float:
        """Cash plus the open position at the last close."""
        return self.ledger.equity()

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to :meth:`restore` this venue (JSON-able; floats exact)."""
        return self._account_state(self.orders.values(), self.fills)

    def change(self) -> dict[str, Any]:
        """What changed since the last change (or the start, or a restore): a
        :meth:`snapshot` with only the orders changed (and still listed) and the fills
        made since (:class:`SavedState` merges it)."""
        orders = self.orders
        change = self._account_state((o for cid, o in self._changed.items() if cid in orders),
                                     self._made)
        self._changed.clear()
        self._made.clear()
        return change

    def _account_state(self, orders: Iterable[PaperOrder],
                       fills: Iterable[VenueFill]) -> dict[str, Any]:
        slot, ledger = self.slot, self.ledger
        return {
            "bar": candle_row(self.bar) if self.bar is not None else None,
            "bar_start_size": self.bar_start_size, "draws": self.draws,
            "cash": self.account.cash,
            "ledger": [ledger.cash, ledger.realized, ledger.fees, ledger.funding,
                       ledger.traded_notional],
            "slot": [slot.size, slot.entry_price, slot.entry_ts, slot.mark, slot.realized,
                     slot.fees, slot.funding, slot.closed_trades, slot.fills, slot.held],
            "orders": [o.to_json() for o in orders],
            "fills": [_fill_row(f) for f in fills],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take the state of :meth:`snapshot` (the fill model's latency draws replayed)."""
        self.bar = (_candle(state["bar"], self.market, self.resolution_s, self.venue)
                    if state["bar"] is not None else None)
        self.bar_start_size = float(state["bar_start_size"])
        self.account.cash = float(state["cash"])
        ledger, slot = self.ledger, self.slot
        (ledger.cash, ledger.realized, ledger.fees, ledger.funding,
         ledger.traded_notional) = (float(x) for x in state["ledger"])
        (slot.size, slot.entry_price, entry_ts, slot.mark, slot.realized, slot.fees,
         slot.funding, closed, fills, held) = state["slot"]
        slot.entry_ts, slot.closed_trades, slot.fills, slot.held = (
            int(entry_ts), int(closed), int(fills), bool(held))
        if slot.size != 0.0 and slot not in ledger.open:
            ledger.open.append(slot)
        self.orders = {o[0]: PaperOrder.from_json(o) for o in state["orders"]}
        self.fills = [_fill(row) for row in state["fills"]]
        self.fill_model.reset()
        self.draws = int(state["draws"])
        for _ in range(self.draws):
            self.fill_model.latency_s(self.terms)
        self._changed.clear()
        self._made.clear()

    def _commit(self, record: Any = None, forget: int | None = None) -> None:
        """Persist the change (``forget``: the time before which :meth:`on_bar` dropped
        finished orders and fills, for :class:`SavedState` to do the same)."""
        held = self._held
        if held is not None:  # one change when held() ends
            held[0] = record if record is not None else held[0]
            held[1] = forget if forget is not None else held[1]
            return
        change = self.change()
        if forget is not None:
            change["forget"] = forget
        self.persist(change, record)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """The changes made inside are persisted as one when it ends (for a paper bar
        whose journal appends are written together anyway: see
        :meth:`flint.live.journal.OrderJournal.batched`)."""
        self._held = [None, None]
        try:
            yield
        finally:
            (record, forget), self._held = self._held, None
            if record is not None or forget is not None or self._changed or self._made:
                self._commit(record, forget)


def _forget(orders: dict[str, PaperOrder], fills: list[VenueFill], before_ts: int) -> None:
    """Drop the finished orders placed and the fills made before ``before_ts`` (bounded
    state: the journal keeps them for good). Both are in time order, so only the old
    ones are looked at."""
    old = []
    for cid, order in orders.items():
        if order.ts >= before_ts:
            break
        if order.state not in _OPEN:
            old.append(cid)
    for cid in old:
        del orders[cid]
    first = 0
    while first < len(fills) and fills[first].ts < before_ts:
        first += 1
    del fills[:first]


def _fill_row(f: VenueFill) -> tuple[Any, ...]:
    return (f.trade_id, f.client_id, f.market, f.side, f.price, f.size, f.fee, f.ts,
            f.is_maker)


def _fill(row: Sequence[Any]) -> VenueFill:
    trade_id, client_id, market, side, price, size, fee, ts, maker = row
    return VenueFill(trade_id, client_id, market, Side(side), price, size, fee, ts, maker)


class SavedState:
    """The venue's state as its journal has it: the :meth:`PaperVenue.change` s merged
    in the order they were made, after the last full :meth:`PaperVenue.snapshot`
    (which sessions journaled before changes were) when there is one."""

    def __init__(self) -> None:
        self._account: dict[str, Any] | None = None  # the snapshot's other keys
        self._orders: dict[str, PaperOrder] = {}
        self._fills: list[VenueFill] = []

    def merge(self, detail: dict[str, Any]) -> None:
        """Take one journaled ``{"change": ...}`` (or an old ``{"state": snapshot}``)."""
        change = detail.get("change")
        if change is None:  # a whole snapshot
            change = detail["state"]
            self._orders, self._fills = {}, []
        if "forget" in change:  # first: the change lists only what the venue kept
            _forget(self._orders, self._fills, change["forget"])
        self._account = {k: v for k, v in change.items()
                         if k not in ("orders", "fills", "forget")}
        for row in change["orders"]:
            self._orders[row[0]] = PaperOrder.from_json(row)
        self._fills.extend(_fill(row) for row in change["fills"])

    def snapshot(self) -> dict[str, Any] | None:
        """The merged state as :meth:`PaperVenue.snapshot` gives it (None: no state)."""
        if self._account is None:
            return None
        return {**self._account, "orders": [o.to_json() for o in self._orders.values()],
                "fills": [_fill_row(f) for f in self._fills]}
