"""Hyperliquid's tick and lot rules for perps, used before signing and by the fake.

A size has at most ``szDecimals`` decimals. A price has at most 5 significant figures
and at most ``6 - szDecimals`` decimals; an integer price is always valid. Orders
must be worth at least :data:`MIN_NOTIONAL` USD.
"""

from decimal import Decimal, InvalidOperation

#: Decimals a perp price may have, before subtracting the coin's ``szDecimals``.
PRICE_DECIMALS = 6
#: Significant figures a non-integer price may have.
PRICE_SIG_FIGS = 5
#: The smallest order value (USD) the venue takes.
MIN_NOTIONAL = 10.0


def round_price(price: float, sz_decimals: int) -> float:
    """``price`` rounded to the nearest valid price of a coin with ``sz_decimals``
    (ValueError if that is 0: the price is below half a tick)."""
    if not price > 0:
        raise ValueError(f"price must be positive, got {price!r}")
    if price >= 10 ** PRICE_SIG_FIGS:
        return float(round(price))
    rounded = round(float(f"{price:.{PRICE_SIG_FIGS}g}"), PRICE_DECIMALS - sz_decimals)
    if rounded <= 0:
        raise ValueError(f"price {price!r} is below the tick of "
                         f"{10.0 ** -(PRICE_DECIMALS - sz_decimals):g}")
    return rounded


def round_size(size: float, sz_decimals: int) -> float:
    """``size`` rounded down to the lot (never more than asked); 0.0 below one lot."""
    if not size > 0:
        raise ValueError(f"size must be positive, got {size!r}")
    lots = Decimal(repr(size)).scaleb(sz_decimals).to_integral_value(rounding="ROUND_DOWN")
    return float(lots.scaleb(-sz_decimals))


def price_error(text: str, sz_decimals: int) -> str:
    """Why the wire price ``text`` is invalid, or "" if it is valid."""
    value = _decimal(text)
    if value is None or value <= 0:
        return f"invalid price {text!r}"
    if value == value.to_integral_value():
        return ""
    digits = value.normalize().as_tuple()
    decimals = -int(digits.exponent)
    if len(digits.digits) > PRICE_SIG_FIGS or decimals > PRICE_DECIMALS - sz_decimals:
        return "Tick size violation"
    return ""


def size_error(text: str, sz_decimals: int) -> str:
    """Why the wire size ``text`` is invalid, or "" if it is valid."""
    value = _decimal(text)
    if value is None or value <= 0:
        return f"invalid size {text!r}"
    if -int(value.normalize().as_tuple().exponent) > sz_decimals:
        return "Order has invalid size."
    return ""


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return value if value.is_finite() else None
