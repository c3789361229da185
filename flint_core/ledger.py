"""The money of a backtest: cash per account, positions per (venue, market), costs.

Perpetual futures are margined, so opening a position moves no cash: cash changes
by realised PnL, fees, funding, borrow fees and transfer costs, and

    equity = cash + unrealised PnL
           = initial + realised + unrealised - fees - funding - borrow - transfer costs

where cash counts money in transit between venue accounts. Without a capital
allocator every venue trades from one shared account.
"""

from typing import Final

from flint_core.enums import Side
from flint_core.records import Fill, Position, PositionInfo
from flint_core.terms import VenueTerms

#: A position left smaller than this fraction of the sizes involved counts as closed.
DUST: Final = 1e-12


class Account:
    """The cash of one venue account (or of the shared account)."""

    def __init__(self, name: str, cash: float) -> None:
        self.name: Final = name
        self.initial: Final = cash
        self.cash = cash
        self.transfer_costs = 0.0

    def __repr__(self) -> str:
        return f"Account({self.name!r}, cash={self.cash!r})"


class PositionSlot:
    """The position of one (venue, market) and what it has earned and cost so far.

    ``size`` is signed (+ long, - short); ``mark`` is the latest close of its price feed.
    """

    def __init__(
        self, venue: str, market: str, terms: VenueTerms, account: Account, feed: int
    ) -> None:
        self.venue: Final = venue
        self.market: Final = market
        self.terms: Final = terms
        self.account: Final = account
        self.feed: Final = feed
        self.size = 0.0
        self.entry_price = 0.0
        self.entry_ts = 0
        self.mark = 0.0
        self.realized = 0.0
        self.fees = 0.0
        self.funding = 0.0
        self.borrow = 0.0
        self.closed_trades = 0
        self.fills = 0
        self.held = False  # has ever held a position
        self.funding_linked = False  # some funding stream pays this slot
        # the strategy's view of this position (flint_core.views), as of ledger version
        self.info: PositionInfo | None = None
        self.info_version = -1

    def unrealized(self) -> float:
        """Price PnL of the open position at ``mark``."""
        return (self.mark - self.entry_price) * self.size

    def __repr__(self) -> str:
        return f"PositionSlot({self.venue}/{self.market}, size={self.size!r})"


class Transfer:
    """Money sent between accounts: debited at ``sent_ts``, credited at ``arrival_ts``."""

    def __init__(
        self,
        source: Account,
        target: Account,
        amount: float,
        cost: float,
        sent_ts: int,
        arrival_ts: int,
    ) -> None:
        self.source: Final = source
        self.target: Final = target
        self.amount: Final = amount
        self.cost: Final = cost
        self.sent_ts: Final = sent_ts
        self.arrival_ts: Final = arrival_ts
        self.arrived = False


_SIDES: Final = (Side.SHORT, Side.LONG)


class Ledger:
    """Accounts, positions, fills, closed trades and the running totals of a run.

    ``version`` changes whenever cash or a position does (and, from the bar loop,
    when the marks of open positions move), so views of them can be kept until then.
    """

    def __init__(self, accounts: list[Account]) -> None:
        if not accounts:
            raise ValueError("a ledger needs at least one account")
        self.accounts: Final = accounts
        self.initial: Final = sum((a.cash for a in accounts), 0.0)
        self.cash = self.initial  # every account plus money in transit
        self.in_transit = 0.0
        self.realized = 0.0
        self.fees = 0.0
        self.funding = 0.0
        self.borrow = 0.0
        self.transfer_costs = 0.0
        self.traded_notional = 0.0
        self.version = 0
        self.slots: list[PositionSlot] = []
        self.open: list[PositionSlot] = []
        self.fills: list[Fill] = []
        self.trades: list[Position] = []
        self.pending: list[Transfer] = []
        self.transfers: list[Transfer] = []
        self.funding_payments: list[tuple[int, str, str, float, float, float]] = []
        self.borrow_payments: list[tuple[int, str, str, float, float, float]] = []

    # Valuation

    def unrealized(self) -> float:
        """Unrealised PnL of every open position."""
        total = 0.0
        for slot in self.open:
            total += (slot.mark - slot.entry_price) * slot.size
        return total

    def equity(self) -> float:
        """Cash (with money in transit) plus unrealised PnL."""
        if not self.open:
            return self.cash
        return self.cash + self.unrealized()

    def account_equity(self, account: Account) -> float:
        """An account's cash plus the unrealised PnL of its positions."""
        total = account.cash
        for slot in self.open:
            if slot.account is account:
                total += (slot.mark - slot.entry_price) * slot.size
        return total

    # Trading

    def trade(self, slot: PositionSlot, side: int, size: float, price: float, ts: int) -> float:
        """Apply a fill of ``size`` (side +1 buy / -1 sell) at ``price``; the realised PnL.

        Adding to a position averages its entry price; reducing it realises PnL on the
        reduced size and records a closed trade; crossing zero closes the position and
        opens the remainder on the other side at ``price``.
        """
        old = slot.size
        signed = side * size
        self.version += 1
        self.traded_notional += size * price
        slot.fills += 1
        if old == 0.0 or (old > 0.0) == (signed > 0.0):
            new = old + signed
            slot.entry_price = (slot.entry_price * abs(old) + price * size) / abs(new)
            if old == 0.0:
                slot.entry_ts = ts
                slot.held = True
                self.open.append(slot)
            slot.size = new
            return 0.0
        closing = min(size, abs(old))
        direction = 1.0 if old > 0.0 else -1.0
        realized = (price - slot.entry_price) * closing * direction
        self.trades.append(
            Position(
                slot.entry_price, closing * direction, slot.entry_ts, price, ts, realized, True,
                slot.market, slot.venue,
            )
        )
        slot.closed_trades += 1
        slot.realized += realized
        self.realized += realized
        self._move(slot.account, realized)
        new = old + signed
        if abs(new) <= DUST * max(abs(old), size):
            new = 0.0
        if new == 0.0:
            slot.size = 0.0
            slot.entry_price = 0.0
            self.open.remove(slot)
        elif (new > 0.0) != (old > 0.0):  # flipped: the rest opens at this price
            slot.size = new
            slot.entry_price = price
            slot.entry_ts = ts
        else:
            slot.size = new
        return realized

    def charge_fee(self, slot: PositionSlot, fee: float) -> None:
        """Debit a trading fee (negative: a rebate) from the slot's account."""
        slot.fees += fee
        self.fees += fee
        self._move(slot.account, -fee)

    def record_fill(self, fill: Fill) -> None:
        """Keep ``fill`` in the run's fill list."""
        self.fills.append(fill)

    # Carry

    def pay_funding(self, slot: PositionSlot, ts: int, rate: float, price: float) -> float:
        """Funding of one settlement: ``rate * size * price`` (> 0 paid, < 0 received)."""
        amount = rate * slot.size * price
        slot.funding += amount
        self.funding += amount
        self._move(slot.account, -amount)
        self.funding_payments.append((ts, slot.venue, slot.market, rate, price, amount))
        return amount

    def pay_borrow(self, slot: PositionSlot, ts: int, rate: float, price: float) -> float:
        """Borrow fee: ``rate * |size| * price`` (both sides pay); returns the amount."""
        amount = rate * abs(slot.size) * price
        slot.borrow += amount
        self.borrow += amount
        self._move(slot.account, -amount)
        self.borrow_payments.append((ts, slot.venue, slot.market, rate, price, amount))
        return amount

    # Transfers

    def send(
        self, source: Account, target: Account, amount: float, cost: float, now: int, arrival: int
    ) -> bool:
        """Debit ``amount + cost`` from ``source`` now and credit ``amount`` at ``arrival``.

        False (nothing moves) when ``source`` holds less than ``amount + cost``.
        """
        if amount <= 0.0 or source.cash < amount + cost:
            return False
        self.version += 1
        source.cash -= amount + cost
        source.transfer_costs += cost
        self.cash -= cost
        self.in_transit += amount
        self.transfer_costs += cost
        transfer = Transfer(source, target, amount, cost, now, arrival)
        self.pending.append(transfer)
        self.transfers.append(transfer)
        return True

    def receive(self, now: int) -> int:
        """Credit every transfer that has arrived by ``now``; how many arrived."""
        arrived = [t for t in self.pending if t.arrival_ts <= now]
        if arrived:
            self.version += 1
        for transfer in arrived:
            self.pending.remove(transfer)
            transfer.arrived = True
            transfer.target.cash += transfer.amount
            self.in_transit -= transfer.amount
        if not self.pending:
            self.in_transit = 0.0
        return len(arrived)

    def _move(self, account: Account, delta: float) -> None:
        self.version += 1
        account.cash += delta
        self.cash += delta


def side_of(side: int) -> Side:
    """The :class:`Side` of +1 (LONG) or -1 (SHORT)."""
    return _SIDES[1] if side > 0 else _SIDES[0]
