"""The fake Binance's current market state: ``GET /fapi/v1/premiumIndex`` (mark and index
price, the funding rate of the coming settlement) and ``GET /fapi/v1/openInterest``.

Prices come from the last close of the symbol's candles, the funding rate from its last
settlement, open interest is a fixed 12345.6 coins; each is stamped with the fake's
``now``.
"""

from typing import Any

from flint.testing.fakes import FakeVenueServer

OPEN_INTEREST = "12345.6"


def serve_market_state(fake: Any) -> None:
    """Add the two routes to ``fake`` (a ``FakeBinance``)."""
    def premium_index(query: dict[str, str]) -> tuple[Any, ...]:
        symbol = fake._symbol(query)
        if symbol is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        close = f"{fake._last_close(symbol):g}"
        rates = fake._funding.get(symbol, ([], []))[1]
        ms = int(fake.now * 1000)
        return 200, {"symbol": symbol, "markPrice": close, "indexPrice": close,
                     "estimatedSettlePrice": close,
                     "lastFundingRate": rates[-1]["fundingRate"] if rates else "0.0001",
                     "interestRate": "0.0001", "nextFundingTime": ms + 3_600_000, "time": ms}

    def open_interest(query: dict[str, str]) -> tuple[Any, ...]:
        symbol = fake._symbol(query)
        if symbol is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        return 200, {"symbol": symbol, "openInterest": OPEN_INTEREST,
                     "time": int(fake.now * 1000)}

    server: FakeVenueServer = fake
    server.route("GET", "/fapi/v1/premiumIndex", fake._answer(premium_index))
    server.route("GET", "/fapi/v1/openInterest", fake._answer(open_interest))
