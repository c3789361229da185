"""The example venue's fill model."""

from flint.models import Candle, OrderbookSnapshot
from flint.plugins import FillModel, FillQuote, VenueTerms


class SpreadFill(FillModel):
    """Market orders fill in full at the base price plus half the venue's spread."""

    def __init__(self, spread_bps: float = 4.0) -> None:
        if not spread_bps >= 0:
            raise ValueError(f"spread_bps must be >= 0, got {spread_bps!r}")
        self.spread_bps = float(spread_bps)

    def quote(
        self,
        side: int,
        size: float,
        base_price: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        """Buys pay, sells give up, half the spread."""
        half = self.spread_bps / 2
        return FillQuote(base_price * (1 + side * half / 1e4), size, half)
