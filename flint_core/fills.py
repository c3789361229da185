"""Fill kernels: the price and size at which a market or triggered order executes.

The engine hands a fill model a *base price* (the bar's close for a market order,
the next bar's open under :class:`NextBarOpenFill`, the trigger or the gapped open
for a stop or take-profit) and the model returns a :class:`FillQuote`: the price
after its costs and the size the market can take. The engine then applies the
order's time in force to a short quote (IOC fills what is there, FOK fills nothing,
GTC rests the remainder as a limit at the quoted price). Resting limits do not go
through a fill model: they fill at their own price.

A fill model has the interface of :class:`FillKernel`: ``next_bar_open``,
``reset()``, ``latency_s(terms)`` and ``quote(...)``.
"""

import math
import random
from typing import Final

from flint_core.records import Candle, OrderbookLevel, OrderbookSnapshot
from flint_core.terms import VenueTerms


class FillQuote:
    """Where an order executes: ``price`` per unit, ``size`` available (<= asked)."""

    def __init__(self, price: float, size: float, impact_bps: float = 0.0) -> None:
        self.price: Final = price
        self.size: Final = size
        self.impact_bps: Final = impact_bps

    def __repr__(self) -> str:
        return f"FillQuote({self.price!r} x {self.size!r}, impact {self.impact_bps!r} bps)"


def walk_book(levels: tuple[OrderbookLevel, ...], size: float) -> tuple[float, float]:
    """Average price and size taken walking ``levels`` best first for ``size``.

    Returns ``(0.0, 0.0)`` when the side is empty; the size is below ``size`` when the
    book is too thin.
    """
    taken = 0.0
    cost = 0.0
    for level in levels:
        if taken >= size:
            break
        take = min(level.size, size - taken)
        if take <= 0.0:
            continue
        taken += take
        cost += take * level.price
    if taken <= 0.0:
        return 0.0, 0.0
    return cost / taken, taken


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0.0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value!r}")


class FillKernel:
    """Shared base of the built-in fill models: no latency, no next-bar deferral."""

    def __init__(self, name: str) -> None:
        self.name: Final = name
        self.next_bar_open = False

    def reset(self) -> None:
        """Called at the start of every run (re-seeds random parts)."""

    def latency_s(self, terms: VenueTerms) -> float:
        """Seconds between placing an order and its arrival at ``terms``' venue."""
        return 0.0

    def quote(
        self,
        side: int,
        size: float,
        base_price: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        """Execution of ``size`` (side +1 buy, -1 sell) around ``base_price`` on ``bar``."""
        return FillQuote(base_price, size, 0.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ClosePriceFill(FillKernel):
    """Market orders fill at the bar's close, in full, with no slippage (fees still apply)."""

    def __init__(self) -> None:
        super().__init__("close")


class NextBarOpenFill(FillKernel):
    """Market orders placed on a bar fill at the next bar's open, in full, no slippage."""

    def __init__(self) -> None:
        super().__init__("next_bar_open")
        self.next_bar_open = True


class SlippageFill(FillKernel):
    """The base price moved ``slippage_bps`` against the order (buys higher, sells lower)."""

    def __init__(self, slippage_bps: float = 5.0) -> None:
        super().__init__("slippage")
        _check_non_negative("slippage_bps", slippage_bps)
        self.slippage_bps: Final = float(slippage_bps)

    def quote(
        self,
        side: int,
        size: float,
        base_price: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        price = base_price * (1.0 + side * self.slippage_bps / 1e4)
        return FillQuote(price, size, self.slippage_bps)

    def __repr__(self) -> str:
        return f"SlippageFill(slippage_bps={self.slippage_bps!r})"


class FillPipeline(FillKernel):
    """Latency, then market impact in three tiers, then partial fills (the default model).

    Latency: ``base + U(-jitter, +jitter)`` seconds (floored at 0), from a random
    generator seeded with ``latency_seed`` at every run, so runs are reproducible.
    The engine stamps an order with its bar's open time and fills it at the close of
    the first bar ending at or after stamp + latency: on the same bar while latency
    is shorter than a bar, on a later bar otherwise (never dropped).

    Impact, per order:

    1. an order book snapshot of the market is present: walk it; the fill price is
       the base price scaled by the walk's average price over the book's mid (so
       spread and depth count, not the snapshot's price level), and the size is
       what the book holds (a thin book gives a partial fill);
    2. otherwise, when the bar has volume: ``k * sqrt(size / bar_volume)`` as a
       fraction of the price, ``k`` = ``impact_coefficient`` or the venue's;
    3. otherwise a flat ``fallback_bps``.

    ``base_latency_s`` / ``latency_jitter_s`` default to the order venue's config.
    """

    def __init__(
        self,
        impact_coefficient: float | None = None,
        fallback_bps: float = 5.0,
        base_latency_s: float | None = None,
        latency_jitter_s: float | None = None,
        latency_seed: int = 0,
        latency_enabled: bool = True,
    ) -> None:
        super().__init__("pipeline")
        for name, value in (
            ("impact_coefficient", impact_coefficient),
            ("base_latency_s", base_latency_s),
            ("latency_jitter_s", latency_jitter_s),
        ):
            if value is not None:
                _check_non_negative(name, value)
        _check_non_negative("fallback_bps", fallback_bps)
        self.impact_coefficient: Final = impact_coefficient
        self.fallback_bps: Final = float(fallback_bps)
        self.base_latency_s: Final = base_latency_s
        self.latency_jitter_s: Final = latency_jitter_s
        self.latency_seed: Final = latency_seed
        self.latency_enabled: Final = latency_enabled
        self._rng = random.Random(latency_seed)

    def reset(self) -> None:
        self._rng.seed(self.latency_seed)

    def latency_s(self, terms: VenueTerms) -> float:
        if not self.latency_enabled:
            return 0.0
        base = terms.base_latency_s if self.base_latency_s is None else self.base_latency_s
        jitter = terms.latency_jitter_s if self.latency_jitter_s is None else self.latency_jitter_s
        if jitter > 0.0:  # uniform(-jitter, jitter), spelled out to skip a Python-level call
            base += -jitter + (jitter - -jitter) * self._rng.random()
        return max(0.0, base)

    def quote(
        self,
        side: int,
        size: float,
        base_price: float,
        bar: Candle,
        book: OrderbookSnapshot | None,
        terms: VenueTerms,
    ) -> FillQuote:
        if book is not None:
            average, available = walk_book(book.asks if side > 0 else book.bids, size)
            mid = book.mid
            if available > 0.0 and mid > 0.0:
                price = base_price * average / mid
                return FillQuote(price, available, abs(price / base_price - 1.0) * 1e4)
        if bar.volume > 0.0:
            k = terms.impact_coefficient if self.impact_coefficient is None else (
                self.impact_coefficient
            )
            fraction = k * math.sqrt(size / bar.volume)
            return FillQuote(base_price * (1.0 + side * fraction), size, fraction * 1e4)
        fraction = self.fallback_bps / 1e4
        return FillQuote(base_price * (1.0 + side * fraction), size, self.fallback_bps)

    def __repr__(self) -> str:
        return (
            f"FillPipeline(impact_coefficient={self.impact_coefficient!r}, "
            f"fallback_bps={self.fallback_bps!r}, base_latency_s={self.base_latency_s!r}, "
            f"latency_jitter_s={self.latency_jitter_s!r}, latency_seed={self.latency_seed!r}, "
            f"latency_enabled={self.latency_enabled!r})"
        )
