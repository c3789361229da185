"""Drift names, both ways, in one place: markets (``SOL-PERP``) and perp market indexes
(0), candle resolutions (3600 s) and the Data API's resolution names (``60``).

The indexes are Drift's mainnet perp markets 0-30 (driftpy's
``constants/perp_markets.py``); devnet numbers its markets differently.
"""

from flint.providers.errors import UnknownMarket

VENUE = "drift"
SUFFIX = "-PERP"

#: Drift mainnet perp market indexes by flint market name.
MARKET_INDEX = {
    f"{base}{SUFFIX}": index
    for index, base in enumerate((
        "SOL", "BTC", "ETH", "APT", "1MBONK", "POL", "ARB", "DOGE", "BNB", "SUI", "1MPEPE",
        "OP", "RENDER", "XRP", "HNT", "INJ", "LINK", "RLB", "PYTH", "TIA", "JTO", "SEI",
        "AVAX", "WIF", "JUP", "DYM", "TAO", "W", "KMNO", "TNSR", "DRIFT",
    ))
}
MARKETS = list(MARKET_INDEX)

#: Candle resolutions (seconds) of the Data API and their names in its URLs.
RESOLUTIONS = {
    60: "1", 300: "5", 900: "15", 3600: "60", 14400: "240", 86400: "D", 604800: "W",
}


def to_market(market: str | int) -> str:
    """Drift's name of ``market``: ``SOL-PERP``, ``sol``, ``SOL/USDT:USDT`` or the market
    index ``0`` all give ``SOL-PERP``; :class:`UnknownMarket` listing the markets otherwise."""
    if isinstance(market, int) or str(market).isdigit():
        index = int(market)
        if 0 <= index < len(MARKETS):
            return MARKETS[index]
        raise UnknownMarket(str(market), MARKETS, venue=VENUE)
    base = str(market).strip().upper().split("/")[0]
    base = base.removesuffix(SUFFIX).removesuffix("USDT").removesuffix("USDC")
    name = f"{base}{SUFFIX}"
    if name not in MARKET_INDEX:
        raise UnknownMarket(str(market), MARKETS, venue=VENUE)
    return name


def market_index(market: str | int) -> int:
    """Drift's perp market index of ``market`` (``SOL-PERP`` -> 0)."""
    return MARKET_INDEX[to_market(market)]


def resolution_name(resolution_s: int) -> str:
    """The Data API's name of a resolution in seconds (3600 -> ``60``)."""
    try:
        return RESOLUTIONS[int(resolution_s)]
    except KeyError:
        raise ValueError(
            f"Drift has no {resolution_s} s candles; it has "
            f"{', '.join(f'{s} s ({name})' for s, name in RESOLUTIONS.items())}"
        ) from None
