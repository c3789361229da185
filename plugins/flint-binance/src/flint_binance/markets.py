"""CCXT names, both ways, in one place: flint markets (``SOL-PERP``), exchange ids
(``SOLUSDT``) and unified symbols (``SOL/USDT:USDT``); candle resolutions (3600 s)
and timeframes (``1h``)."""

from collections.abc import Iterable, Mapping
from typing import Any

from flint.providers.errors import UnknownMarket

SUFFIX = "-PERP"

#: Candle resolutions (seconds) Binance USD-M serves, and their timeframe names.
TIMEFRAMES = {
    60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 7200: "2h",
    14400: "4h", 21600: "6h", 28800: "8h", 43200: "12h", 86400: "1d",
}


class MarketNames:
    """The perpetual swaps of an exchange settled in ``settle``, by flint name.

    ``markets`` is ccxt's ``exchange.markets`` (unified symbol -> market dict).
    """

    def __init__(self, markets: Mapping[str, Mapping[str, Any]], venue: str,
                 settle: str = "USDT") -> None:
        self.venue = venue
        self._symbols: dict[str, str] = {}  # flint market -> unified symbol
        self._markets: dict[str, str] = {}  # unified symbol or exchange id -> flint market
        for symbol, market in sorted(markets.items()):
            if not (market.get("swap") and market.get("linear") and market.get("settle") == settle
                    and market.get("active", True) is not False):
                continue
            name = to_market(str(market["base"]))
            self._symbols[name] = symbol
            self._markets[symbol] = self._markets[str(market["id"])] = name

    def names(self) -> list[str]:
        """The flint names of the exchange's markets, sorted."""
        return sorted(self._symbols)

    def symbol(self, market: str) -> str:
        """The unified symbol of ``market`` (``SOL-PERP``, ``SOL``, ``SOLUSDT`` or
        ``SOL/USDT:USDT``; case-insensitive); :class:`UnknownMarket` listing the markets."""
        return self._symbols[self.market(market)]

    def market(self, name: str) -> str:
        """The flint name of any spelling of a market (see :meth:`symbol`)."""
        text = name.strip()
        for candidate in (text, text.upper()):
            if candidate in self._symbols:
                return candidate
            if candidate in self._markets:
                return self._markets[candidate]
            if to_market(candidate) in self._symbols:
                return to_market(candidate)
        raise UnknownMarket(name, self.names(), venue=self.venue)


def to_market(base: str) -> str:
    """flint market of a perp's base currency: ``SOL`` -> ``SOL-PERP``."""
    return base if base.upper().endswith(SUFFIX) else f"{base.upper()}{SUFFIX}"


def timeframe(resolution_s: int, available: Iterable[str] = TIMEFRAMES.values()) -> str:
    """The timeframe name of a resolution in seconds, if the exchange has it."""
    name = TIMEFRAMES.get(int(resolution_s))
    known = set(available)
    if name is None or name not in known:
        offered = [f"{s} s ({n})" for s, n in TIMEFRAMES.items() if n in known]
        raise ValueError(f"no {resolution_s} s candles here; there are {', '.join(offered)}")
    return name
