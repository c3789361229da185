"""Hyperliquid names, both ways, in one place: markets (``SOL-PERP``) and coins
(``SOL``), candle resolutions (3600 s) and intervals (``1h``)."""

from flint.providers.errors import UnknownMarket

VENUE = "hyperliquid"
SUFFIX = "-PERP"

#: Candle resolutions (seconds) Hyperliquid serves and flint stores, and their interval names.
INTERVALS = {
    60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 7200: "2h",
    14400: "4h", 28800: "8h", 43200: "12h", 86400: "1d",
}


def to_market(coin: str) -> str:
    """flint market of a Hyperliquid perp coin: ``SOL`` -> ``SOL-PERP``."""
    return f"{coin}{SUFFIX}"


def to_coin(market: str, coins: list[str]) -> str:
    """Hyperliquid coin of ``market`` (``SOL-PERP`` or ``SOL``; case-insensitive), one of
    ``coins``; :class:`UnknownMarket` listing the venue's markets otherwise."""
    name = market[: -len(SUFFIX)] if market.upper().endswith(SUFFIX) else market
    if name in coins:
        return name
    folded = {coin.lower(): coin for coin in coins}
    if name.lower() in folded:
        return folded[name.lower()]
    raise UnknownMarket(market, [to_market(c) for c in coins], venue=VENUE)


def interval(resolution_s: int) -> str:
    """Hyperliquid's interval name of a resolution in seconds."""
    try:
        return INTERVALS[int(resolution_s)]
    except KeyError:
        raise ValueError(
            f"Hyperliquid has no {resolution_s} s candles; it has "
            f"{', '.join(f'{s} s ({name})' for s, name in INTERVALS.items())}"
        ) from None
