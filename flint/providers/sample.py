"""The ``sample`` provider: the generated markets of :mod:`flint.sample_data`, offline."""

import functools
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flint.providers.base import DataProvider
from flint.sample_data import DEFAULT_SEED, HOUR, SAMPLE_START_TS, VENUES, SampleData, generate
from flint.store import batches
from flint.store.batches import Spec, to_records, to_series
from flint_core.records import Candle, FundingRate, OpenInterest, OrderbookSnapshot

#: The venue served when a fetch names none.
DEFAULT_VENUE = next(iter(VENUES))


class SampleProvider(DataProvider):
    """Deterministic synthetic BTC/ETH/SOL perps on hyperliquid and binance (hourly)."""

    name = "sample"
    capabilities = frozenset({"candles", "funding", "orderbook", "open_interest"})

    def __init__(
        self, seed: int = DEFAULT_SEED, days: int = 365, start_ts: int = SAMPLE_START_TS
    ) -> None:
        self.seed, self.days, self.start_ts = seed, days, start_ts

    @functools.cached_property
    def data(self) -> SampleData:
        """Everything generated (on first use)."""
        return generate(self.seed, self.days, self.start_ts)

    @staticmethod
    def _select(
        table: pa.Table, market: str, start_ts: int, end_ts: int, venue: str | None
    ) -> pa.Table:
        mask = pc.and_(
            pc.equal(table["market"], market),
            pc.and_(pc.greater_equal(table["ts"], start_ts), pc.less_equal(table["ts"], end_ts)),
        )
        if venue is not None:
            mask = pc.and_(mask, pc.equal(table["venue"], venue))
        return table.filter(mask).sort_by([("ts", "ascending"), ("venue", "ascending")])

    def fetch_candles(
        self,
        market: str,
        resolution_s: int,
        start_ts: int,
        end_ts: int,
        *,
        venue: str | None = None,
    ) -> Sequence[Candle]:
        """Hourly candles of one venue (``hyperliquid`` unless ``venue`` is given)."""
        if resolution_s != HOUR:
            raise ValueError(f"sample data is hourly (3600 s), not {resolution_s} s")
        venue = venue or DEFAULT_VENUE
        table = self._select(self.data.candles, market, start_ts, end_ts, venue)
        return to_series(table, market, HOUR, venue)

    def _records(
        self, table: pa.Table, spec: Spec, market: str, start_ts: int, end_ts: int,
        venue: str | None,
    ) -> list[Any]:
        return to_records(self._select(table, market, start_ts, end_ts, venue), spec)

    def fetch_funding(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[FundingRate]:
        """Funding of both venues (or ``venue``), by (ts, venue)."""
        return self._records(self.data.funding, batches.FUNDING, market, start_ts, end_ts, venue)

    def fetch_open_interest(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OpenInterest]:
        """Hourly open interest of both venues (or ``venue``), by (ts, venue)."""
        return self._records(
            self.data.open_interest, batches.OPEN_INTEREST, market, start_ts, end_ts, venue
        )

    def fetch_orderbook(
        self, market: str, start_ts: int, end_ts: int, *, venue: str | None = None
    ) -> list[OrderbookSnapshot]:
        """8-hourly order-book snapshots of both venues (or ``venue``), by (ts, venue)."""
        return self._records(
            self.data.orderbooks, batches.ORDERBOOKS, market, start_ts, end_ts, venue
        )
