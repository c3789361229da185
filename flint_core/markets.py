"""How a market is named on a venue: the default venue and ``"venue:market"`` keys.

A market trades on a venue; data and orders that name no venue are on
:data:`DEFAULT_VENUE`. Where one key has to name both (a dict of candles of several
venues, a feed of the backtest), it is ``"venue:market"``; a key without a colon
names only the market.
"""

from typing import Final

#: The venue of data and orders that name none.
DEFAULT_VENUE: Final = "default"


def market_key(venue: str, market: str) -> str:
    """The key ``"venue:market"`` of ``market`` on ``venue``."""
    return f"{venue}:{market}"


def split_key(key: str) -> tuple[str | None, str]:
    """``(venue, market)`` of ``"venue:market"``; ``(None, market)`` of a bare ``"market"``.

    ``ValueError`` for an empty key or an empty venue or market around the colon.
    """
    venue, sep, market = key.partition(":")
    if not sep:
        if not key:
            raise ValueError("a market key must not be empty")
        return None, key
    if not venue or not market:
        raise ValueError(f"market key {key!r} must be 'market' or 'venue:market'")
    return venue, market
