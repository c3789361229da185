"""Fill models: where and how much of an order executes.

The built-in models are compiled kernels (:mod:`flint_core.fills`):

- :class:`ClosePriceFill`: market orders at the bar's close;
- :class:`NextBarOpenFill`: market orders at the next bar's open;
- :class:`SlippageFill`: the base price moved ``slippage_bps`` against the order;
- :class:`FillPipeline` (the default): seeded latency, then impact (order book walk,
  square-root participation, flat bps), then partial fills by time in force.

A plugin adds a model by subclassing :class:`FillModel` and registering a factory
through the ``flint_register_fill_models`` hook; :func:`flint.plugins.get_fill_model`
builds any registered model by name (or a venue's default).
"""

import abc

from flint_core.fills import (
    ClosePriceFill,
    FillKernel,
    FillPipeline,
    FillQuote,
    NextBarOpenFill,
    SlippageFill,
    walk_book,
)
from flint_core.records import Candle, OrderbookSnapshot
from flint_core.terms import VenueTerms

__all__ = [
    "ClosePriceFill", "FillModel", "FillPipeline", "FillQuote", "NextBarOpenFill",
    "SlippageFill", "VenueTerms", "walk_book",
]


class FillModel(abc.ABC):
    """Base of fill models. The engine calls, per order:

    - ``latency_s(terms)`` when the order is placed: seconds until it reaches the venue
      (the engine fills it at the close of the first bar ending after that);
    - ``quote(side, size, base_price, bar, book, terms)`` when it executes: side is +1
      (buy) or -1 (sell); ``base_price`` is the bar's close (market orders), the next
      bar's open (when ``next_bar_open`` is true) or the trigger / gapped open (stops and
      take-profits); ``book`` is the market's latest order book snapshot or None;
      ``terms`` are the order venue's fees, impact coefficient and latency.

    ``reset()`` runs at the start of every backtest (re-seed random parts there).
    Resting limit orders do not use the model: they fill at their own price.
    """

    next_bar_open: bool = False

    def reset(self) -> None:  # noqa: B027 (optional hook)
        """Called at the start of every run."""

    def latency_s(self, terms: VenueTerms) -> float:
        """Seconds between placing an order and its arrival; 0 by default."""
        return 0.0

    @abc.abstractmethod
    def quote(
        self,
        side: int,
        size: float,
        base_price: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        """Price (after impact) and available size (at most ``size``) of the order."""


FillModel.register(FillKernel)
