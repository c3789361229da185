"""Order entry of a backtest context: the argument checks and ``place``, compiled.

The backtest context binds :meth:`OrderEntry.market_order` as its own
``market_order`` (as it binds ``position``), so a strategy's market order reaches
the bar loop without an interpreted frame; its other order kinds check their price
and call :meth:`OrderEntry.place`. Bad arguments raise a one-line ``ValueError`` /
``TypeError`` naming the argument, before anything is placed.
"""

import math
from typing import Any, Final

from flint_core.enums import Side, TimeInForce
from flint_core.loop import BacktestCore
from flint_core.markets import DEFAULT_VENUE
from flint_core.matching import FOK, GTC, IOC, MARKET

# Members bound once: on Python 3.11 ``Side.LONG`` costs a slow EnumType.__getattr__ hook.
_LONG: Final = Side.LONG
_SHORT: Final = Side.SHORT
_IOC_TIF: Final = TimeInForce.IOC
_TIF_CODES: Final = {TimeInForce.IOC: IOC, TimeInForce.FOK: FOK, TimeInForce.GTC: GTC}


def side_sign(side: Any) -> int:
    """+1 for ``Side.LONG`` (or ``"long"``), -1 for ``Side.SHORT``; else ``ValueError``."""
    if side is _LONG:
        return 1
    if side is _SHORT:
        return -1
    try:
        return Side(side).sign
    except ValueError:
        raise ValueError(f"side must be Side.LONG or Side.SHORT, got {side!r}") from None


def tif_code(time_in_force: Any) -> int:
    """The kernel's code (IOC, FOK, GTC) of a :class:`TimeInForce` or its value."""
    code = _TIF_CODES.get(time_in_force) if isinstance(time_in_force, TimeInForce) else None
    return code if code is not None else _TIF_CODES[TimeInForce(time_in_force)]


def positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0, or an error naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not (number > 0.0 and math.isfinite(number)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def market_name(market: object) -> str:
    """``market`` (or a venue name) checked to be a non-empty string."""
    if not isinstance(market, str) or not market:
        raise ValueError(f"market must be a non-empty string, got {market!r}")
    return market


class OrderEntry:
    """Checks a context's order arguments and places the order with its core."""

    def __init__(self, core: BacktestCore) -> None:
        self._core: Final = core

    def place(
        self,
        kind: int,
        market: object,
        side: object,
        size: object,
        price: float,
        reduce_only: object,
        tag: object,
        venue: object,
        tif: int,
    ) -> str:
        """Place an order of ``kind`` (``price`` checked by the caller); its id or ""."""
        return self._core.place(
            kind, market_name(market), side_sign(side), positive("size", size), price=price,
            reduce_only=bool(reduce_only), tag=str(tag), venue=market_name(venue), tif=tif,
        )

    def market_order(
        self,
        market: object,
        side: object,
        size: object,
        reduce_only: object = False,
        tag: object = "",
        venue: object = DEFAULT_VENUE,
        *,
        time_in_force: object = _IOC_TIF,
    ) -> str:
        """``ExecutionContext.market_order`` of a backtest."""
        return self.place(MARKET, market, side, size, 0.0, reduce_only, tag, venue,
                          tif_code(time_in_force))
