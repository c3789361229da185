"""Deterministic synthetic perp markets, so flint runs with no network: ``generate()``.

Three markets (BTC-PERP, ETH-PERP, SOL-PERP) on two venues (``hyperliquid``, funding
every hour; ``binance``, funding every 8 hours), hourly, one year by default,
starting 2024-01-01 00:00 UTC. The same seed gives the same data, bit for bit.

How it is built:

- a two-state Markov chain of volatility regimes (calm / stressed) shared by all
  markets, as crypto stress usually is;
- Student-t (4 degrees of freedom) shocks for fat tails, correlated across markets
  (BTC/ETH 0.82, BTC/SOL 0.72, ETH/SOL 0.78), scaled by each market's volatility and
  the regime: the *index* (oracle) price;
- per venue and market, a premium of the venue's price over the index: a slow,
  mostly positive demand for leverage shared by the venues plus fast venue noise
  that leans with recent returns; each venue's candles trade at index x
  (1 + premium), with wicks and volume that grow with volatility;
- funding that tracks the premium the way venues compute it (average premium plus
  a clamped interest term of 0.01% per 8 h), per the venue's own interval and cap,
  with the oracle and mark price at settlement;
- order-book snapshots every 8 hours (20 levels a side around the venue price,
  spread and depth worse when stressed) and hourly open interest.

The venues keep their real names so their presets (fees, funding interval) apply:
keep sample data in a store of its own (``SampleData.conflicts`` finds real data
it would replace; ``flint data sample`` refuses to overwrite it).
"""

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flint.store import FlintStore
from flint.store.batches import LEVEL

DEFAULT_SEED = 5
#: 2024-01-01 00:00 UTC.
SAMPLE_START_TS = 1_704_067_200
HOUR = 3600

#: market -> (start price, annual volatility, hourly base volume in base units)
MARKETS = {
    "BTC-PERP": (42_000.0, 0.55, 1_200.0),
    "ETH-PERP": (2_300.0, 0.70, 14_000.0),
    "SOL-PERP": (100.0, 0.95, 220_000.0),
}
CORRELATION = np.array([[1.0, 0.82, 0.72], [0.82, 1.0, 0.78], [0.72, 0.78, 1.0]])

#: venue -> (funding interval s, funding cap per interval, share of volume, premium noise)
VENUES = {
    "hyperliquid": (HOUR, 0.04, 0.35, 0.00012),
    "binance": (8 * HOUR, 0.0075, 1.0, 0.00008),
}

#: regime -> (volatility multiplier, probability of staying)
REGIMES = ((0.8, 0.995), (2.2, 0.97))

#: Long-run mean of the premium (traders pay to be long more often than not).
DEMAND_MEAN = 0.0001
BOOK_EVERY_S = 8 * HOUR
BOOK_LEVELS = 20
INTEREST_8H = 0.0001
INTEREST_CLAMP = 0.0005


@attrs.frozen
class SampleData:
    """Generated tables, in the store's column layout (one row per candle, settlement, ...)."""

    candles: pa.Table
    funding: pa.Table
    open_interest: pa.Table
    orderbooks: pa.Table

    def conflicts(self, store: FlintStore) -> list[str]:
        """The sample's candle series that ``store`` already holds with other values.

        Sample data carries real venue names (so venue presets apply); saving it over
        real data of the same venue, market and hours would replace that data.
        """
        found = []
        for venue in VENUES:
            for market in MARKETS:
                mine = self.candles.filter(
                    pc.and_(pc.equal(self.candles["venue"], venue),
                            pc.equal(self.candles["market"], market))
                )
                ts = mine["ts"].to_numpy()
                stored = store.query_candles(market, HOUR, int(ts[0]), int(ts[-1]), venue=venue)
                if len(stored) and not (
                    np.array_equal(stored.timestamps, ts)
                    and np.array_equal(stored.closes, mine["close"].to_numpy())
                ):
                    found.append(f"{venue}/{market}")
        return found

    def save(self, store: FlintStore) -> dict[str, int]:
        """Upsert everything into ``store``; rows new or changed per kind."""
        return {
            "candles": store.upsert_candles(self.candles),
            "funding": store.upsert_funding_rates(self.funding),
            "open_interest": store.upsert_open_interest(self.open_interest),
            "orderbook": store.upsert_orderbook_snapshot(self.orderbooks),
        }


def _regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    """0 (calm) or 1 (stressed) per hour."""
    draws = rng.random(n)
    out = np.empty(n, dtype=np.int64)
    state = 0
    for i in range(n):
        if draws[i] > REGIMES[state][1]:
            state = 1 - state
        out[i] = state
    return out


def _ar1(shocks: np.ndarray, phi: float, mean: float = 0.0) -> np.ndarray:
    """``x[i] = mean + phi * (x[i-1] - mean) + shocks[i]``, starting from ``mean``."""
    out = np.empty_like(shocks)
    level = np.full(shocks.shape[1:], mean)
    for i in range(len(shocks)):
        level = mean + phi * (level - mean) + shocks[i]
        out[i] = level
    return out


def _keys(venue: str, market: str, n: int) -> dict[str, pa.Array]:
    return {"venue": pa.array([venue] * n), "market": pa.array([market] * n)}


@attrs.frozen
class _Index:
    """Hourly index (oracle) paths of every market and the shared regime."""

    returns: np.ndarray  # (hours, markets) log returns
    close: np.ndarray  # (hours, markets)
    step_sigma: np.ndarray  # (hours, markets) volatility of each hour
    stress: np.ndarray  # (hours,) 1.0 when stressed
    scale: np.ndarray  # (hours,) volatility multiplier of the regime


def _index(rng: np.random.Generator, n: int) -> _Index:
    regime = _regimes(rng, n)
    scale = np.array([REGIMES[0][0], REGIMES[1][0]])[regime]
    start = np.array([v[0] for v in MARKETS.values()])
    sigma = np.array([v[1] for v in MARKETS.values()]) / np.sqrt(365 * 24)
    shocks = rng.standard_t(4, size=(n, len(MARKETS))) / np.sqrt(2.0)  # unit variance
    shocks = shocks @ np.linalg.cholesky(CORRELATION).T
    step_sigma = sigma[None, :] * scale[:, None]
    returns = step_sigma * shocks - 0.5 * step_sigma**2
    close = start * np.exp(np.cumsum(returns, axis=0))
    return _Index(returns, close, step_sigma, regime.astype(np.float64), scale)


def generate(
    seed: int = DEFAULT_SEED, days: int = 365, start_ts: int = SAMPLE_START_TS
) -> SampleData:
    """Generate ``days`` of hourly data from ``start_ts`` (a UTC midnight) with ``seed``."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if start_ts % 86400:
        raise ValueError(f"start_ts must be a UTC midnight, got {start_ts}")
    rng = np.random.default_rng(seed)
    n = days * 24
    ts = start_ts + HOUR * np.arange(n, dtype=np.int64)
    index = _index(rng, n)
    # Demand for leverage per market, shared by the venues: slow, mostly long-biased.
    demand = _ar1(rng.normal(0.0, 0.00002, size=(n, len(MARKETS))), 0.998, DEMAND_MEAN)
    tables: dict[str, list[pa.Table]] = {"candles": [], "funding": [], "oi": [], "books": []}
    for venue in VENUES:
        _venue(rng, venue, ts, index, demand, tables)
    return SampleData(*(pa.concat_tables(parts) for parts in tables.values()))


def _venue(
    rng: np.random.Generator,
    venue: str,
    ts: np.ndarray,
    index: _Index,
    demand: np.ndarray,
    tables: dict[str, list[pa.Table]],
) -> None:
    """Add one venue's candles, funding, open interest and books to ``tables``."""
    interval, cap, share, noise = VENUES[venue]
    n, k = index.close.shape
    # The venue's premium over the index: demand plus fast noise leaning with returns.
    eps = rng.normal(0.0, noise, size=(n, k)) * index.scale[:, None]
    premium = demand + _ar1(eps + 0.02 * index.returns, 0.9)
    close = index.close * (1.0 + premium)
    start = np.array([v[0] for v in MARKETS.values()])
    open_ = np.vstack([start, close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.6, size=(2, n, k))) * index.step_sigma
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    activity = np.exp(rng.normal(0.0, 0.35, size=(n, k)))
    activity *= 1.0 + 40.0 * np.abs(index.returns) + 0.6 * index.stress[:, None]

    # Funding per interval: average premium + clamped interest, scaled and capped.
    per = interval // HOUR
    periods = n // per
    avg = premium[: periods * per].reshape(periods, per, k).mean(axis=1)
    rate_8h = np.where(  # = avg + clamp(interest - avg): exactly the interest when close
        np.abs(INTEREST_8H - avg) <= INTEREST_CLAMP,
        INTEREST_8H,
        avg + np.clip(INTEREST_8H - avg, -INTEREST_CLAMP, INTEREST_CLAMP),
    )
    rate = np.clip(rate_8h * (interval / (8 * HOUR)), -cap, cap)
    settle = np.arange(1, periods + 1) * per - 1  # last bar of each interval
    book_rows = np.arange(0, n, BOOK_EVERY_S // HOUR)

    for j, market in enumerate(MARKETS):
        base_volume = MARKETS[market][2] * share
        tables["candles"].append(pa.table({
            **_keys(venue, market, n),
            "resolution_s": pa.array(np.full(n, HOUR, dtype=np.int32)),
            "ts": ts, "open": open_[:, j], "high": high[:, j], "low": low[:, j],
            "close": close[:, j], "volume": base_volume * activity[:, j],
        }))
        tables["funding"].append(pa.table({
            **_keys(venue, market, periods),
            "ts": ts[settle] + HOUR, "rate": rate[:, j],
            "interval_s": pa.array(np.full(periods, interval, dtype=np.int32)),
            "oracle_price": index.close[settle, j], "mark_price": close[settle, j],
        }))
        log_oi = _ar1(rng.normal(0.0, 0.01, size=(n,)), 0.999)
        open_interest = base_volume * 40.0 * np.exp(log_oi)
        tables["oi"].append(pa.table({
            **_keys(venue, market, n), "ts": ts,
            "long_oi": open_interest, "short_oi": open_interest,
        }))
        tables["books"].append(_books(
            rng, venue, market, ts[book_rows], open_[book_rows, j],
            index.stress[book_rows], base_volume,
        ))


def _books(
    rng: np.random.Generator,
    venue: str,
    market: str,
    ts: np.ndarray,
    mid: np.ndarray,
    stress: np.ndarray,
    base_volume: float,
) -> pa.Table:
    """Snapshots with ``BOOK_LEVELS`` levels a side, strictly ordered, around ``mid``."""
    k = len(ts)
    steps = np.arange(BOOK_LEVELS, dtype=np.float64)
    half_spread = mid * 1e-4 * (0.5 + stress)
    gap = mid * 2e-4 * (1.0 + stress)
    offsets = half_spread[:, None] + gap[:, None] * steps[None, :]
    bids = mid[:, None] - offsets
    asks = mid[:, None] + offsets
    depth = base_volume * 0.02 * (1.0 + 0.25 * steps)[None, :] / (1.0 + stress[:, None])
    sizes = depth * np.exp(rng.normal(0.0, 0.3, size=(2, k, BOOK_LEVELS)))
    list_offsets = pa.array(np.arange(0, k * BOOK_LEVELS + 1, BOOK_LEVELS, dtype=np.int32))

    def side(prices: np.ndarray, size: np.ndarray) -> pa.ListArray:
        levels = pa.StructArray.from_arrays(
            [pa.array(prices.ravel()), pa.array(size.ravel())], fields=list(LEVEL)
        )
        return pa.ListArray.from_arrays(list_offsets, levels)

    return pa.table({
        **_keys(venue, market, k), "ts": ts,
        "bids": side(bids, sizes[0]), "asks": side(asks, sizes[1]),
    })
