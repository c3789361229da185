"""Sample market data for tests: :mod:`flint.sample_data` as engine-ready inputs.

The generated markets (BTC/ETH/SOL-PERP, hourly, on ``hyperliquid`` with hourly
funding and ``binance`` with 8-hourly funding) are built once per ``(days, seed)``
and kept for the process, read back through an in-memory
:class:`~flint.store.FlintStore`, the way a backtest reads a real store.

    from flint.testing import sample_bars, sample_funding, sample_venue_configs

    bars = sample_bars("SOL-PERP", "binance", days=60)          # a CandleSeries
    engine = BacktestEngine(strategy, funding_rates=sample_funding("SOL-PERP"),
                            venues=sample_venue_configs())
"""

import functools
from collections.abc import Iterable

import attrs

from flint.sample_data import DEFAULT_SEED, VENUES
from flint_core.records import FundingRate
from flint_core.series import CandleSeries
from flint_core.venues import DEFAULT_VENUE, VenueConfig

#: The venues of the sample data.
SAMPLE_VENUES = tuple(VENUES)


@attrs.frozen
class _Sample:
    candles: dict[tuple[str, str], CandleSeries]  # (venue, market) -> bars
    funding: dict[str, list[FundingRate]]  # market -> every venue's settlements


@functools.cache
def _sample(days: int, seed: int) -> _Sample:
    from flint.sample_data import MARKETS, generate
    from flint.store import FlintStore

    data = generate(seed, days)
    with FlintStore(":memory:") as store:
        data.save(store)
        candles = {
            (venue, market): store.query_candles(market, 3600, venue=venue)
            for venue in VENUES for market in MARKETS
        }
        funding = {market: store.query_funding_rates(market) for market in MARKETS}
    return _Sample(candles, funding)


def sample_bars(
    market: str = "SOL-PERP", venue: str = "binance", days: int = 60, seed: int = DEFAULT_SEED
) -> CandleSeries:
    """Hourly sample candles of ``market`` on ``venue`` (the same object on every call)."""
    sample = _sample(days, seed)
    try:
        return sample.candles[(venue, market)]
    except KeyError:
        raise KeyError(
            f"no sample candles for {venue}/{market}; the sample has "
            f"{', '.join(f'{v}/{m}' for v, m in sample.candles)}"
        ) from None


def sample_funding(
    market: str = "SOL-PERP",
    venues: Iterable[str] | None = None,
    days: int = 60,
    seed: int = DEFAULT_SEED,
) -> list[FundingRate]:
    """Funding settlements of ``market`` on ``venues`` (default: both), by time."""
    wanted = set(SAMPLE_VENUES if venues is None else venues)
    return [r for r in _sample(days, seed).funding[market] if r.source in wanted]


def sample_venue_configs(venues: Iterable[str] = SAMPLE_VENUES) -> dict[str, VenueConfig]:
    """Venue configs named after the sample venues, with the ``default`` venue's costs
    and the sample's funding intervals.

    Lets a test trade on ``binance``/``hyperliquid`` without their plugins installed.
    """
    return {
        name: attrs.evolve(
            DEFAULT_VENUE, name=name, funding_interval_s=VENUES.get(name, (3600,))[0],
            description=f"sample venue {name} (default costs)",
            fee_schedule="none: a test venue with the default venue's preset fees",
        )
        for name in venues
    }
