"""Margin arithmetic: pre-trade checks and liquidation prices (cross margin per account).

An account's positions share its cash. A position is liquidated when its account's
equity falls to the maintenance margin of its positions; its liquidation price holds
the account's other positions at their marks. Opening or increasing a position needs
the venue's initial margin on the added notional out of the account's free margin
(equity minus the initial margin already used) and must keep the account's notional
within the venue's maximum leverage.
"""

from flint_core.ledger import Ledger, PositionSlot


def exposure(ledger: Ledger) -> tuple[float, float]:
    """Notional at mark and initial margin of every open position."""
    notional = 0.0
    used = 0.0
    for slot in ledger.open:
        value = abs(slot.size) * slot.mark
        notional += value
        used += slot.terms.initial_margin * value
    return notional, used


def margin_used(ledger: Ledger, slot: PositionSlot) -> float:
    """Initial margin held by the open positions of ``slot``'s account."""
    used = 0.0
    for other in ledger.open:
        if other.account is slot.account:
            used += other.terms.initial_margin * abs(other.size) * other.mark
    return used


def account_notional(ledger: Ledger, slot: PositionSlot) -> float:
    """Notional at mark of the open positions of ``slot``'s account."""
    total = 0.0
    for other in ledger.open:
        if other.account is slot.account:
            total += abs(other.size) * other.mark
    return total


def check_increase(ledger: Ledger, slot: PositionSlot, added: float, price: float) -> str:
    """Why adding ``added`` units at ``price`` to ``slot`` is refused ("" when allowed)."""
    if added <= 0.0:
        return ""
    terms = slot.terms
    equity = ledger.account_equity(slot.account)
    free = equity - margin_used(ledger, slot)
    required = terms.initial_margin * added * price
    if required > free:
        return (
            f"needs {required:.2f} initial margin on {slot.venue}/{slot.market} but account "
            f"'{slot.account.name}' has {free:.2f} free"
        )
    notional = account_notional(ledger, slot) + added * price
    if equity <= 0.0 or notional > terms.max_leverage * equity * (1.0 + 1e-12):
        return (
            f"would take account '{slot.account.name}' to {notional:.2f} notional on "
            f"{equity:.2f} equity, above {slot.venue}'s max leverage {terms.max_leverage:g}"
        )
    return ""


def liquidation_level(entry_price: float, size: float, buffer: float, mm: float) -> float:
    """Price at which a position of signed ``size`` from ``entry_price`` is liquidated.

    ``buffer`` is the account's cash plus what its other positions add over their own
    maintenance margin. Solves ``buffer + (p - entry) * size = mm * |size| * p``;
    0.0 when a long can never be liquidated (it would take a price at or below zero).
    """
    if size > 0.0:
        price = (entry_price * size - buffer) / (size * (1.0 - mm))
        return price if price > 0.0 else 0.0
    if size < 0.0:
        qty = -size
        return (entry_price * qty + buffer) / (qty * (1.0 + mm))
    return 0.0


def liquidation_price(ledger: Ledger, slot: PositionSlot) -> float:
    """Liquidation price of ``slot`` with its account's other positions at their marks."""
    buffer = slot.account.cash
    for other in ledger.open:
        if other is not slot and other.account is slot.account:
            buffer += (other.mark - other.entry_price) * other.size
            buffer -= other.terms.maintenance_margin * abs(other.size) * other.mark
    return liquidation_level(slot.entry_price, slot.size, buffer, slot.terms.maintenance_margin)
