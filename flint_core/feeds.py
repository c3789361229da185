"""What the bar loop reads: candle feeds and time-stamped event streams.

A :class:`Feed` is one (venue, market) candle series. Given the list of candles the
series came from, it hands out those very candles; otherwise it reads its numpy
columns a chunk at a time into Python lists (so the compiled loop indexes lists, not
arrays) and builds the current :class:`~flint_core.records.Candle` from them; ``history`` is
one :class:`~flint_core.series.CandleSeries` window over the same columns, moved
bar by bar, never copied (it names the current candle as ``following``, so
indicators asked for values as of that candle read their cached series directly).

An :class:`EventStream` holds records of one kind (order books, open interest,
oracle prices, borrow rates) for one (venue, market), oldest first, and reveals them
as bars close; a :class:`FundingStream` does the same for funding settlements, held
as one list a field (a record is built only when one is asked for).
"""

from typing import Any, Final

from flint_core.inputs import EventData, FundingData
from flint_core.ledger import PositionSlot
from flint_core.markets import market_key
from flint_core.records import Candle, FundingRate
from flint_core.series import CandleSeries

#: Bars read from the numpy columns at a time.
CHUNK: Final = 2048


class Feed:
    """One candle series as the loop walks it; ``pos`` is its newest closed bar (-1: none).

    ``lead_in`` bars of the root before ``series`` (a warm-up) are history only: the
    loop never visits them, but ``history`` and :meth:`closed_window` reach back into them.
    """

    def __init__(
        self,
        series: CandleSeries,
        candles: list[Candle] | None,
        history_size: int,
        lead_in: int = 0,
    ) -> None:
        if not 0 <= lead_in <= series.start:
            raise ValueError(
                f"lead_in must be within [0, {series.start}] (the bars before the series), "
                f"got {lead_in}"
            )
        self.series: Final = series
        self.candles: Final = candles
        self.market: Final = series.market
        self.venue: Final = series.venue
        self.resolution_s: Final = series.resolution_s
        self.key: Final = market_key(series.venue, series.market)
        self.n: Final = len(series)
        self.offset: Final = series.start
        self.history_size: Final = history_size
        self.floor: Final = -lead_in  # oldest bar history may reach, relative to the series
        self.history: Final = series.root.window(series.start, series.start)
        self._ts: Any = None  # the series' columns, read on the first chunk
        self._open: Any = None
        self._high: Any = None
        self._low: Any = None
        self._close: Any = None
        self._volume: Any = None
        self._base = 0
        self._c_ts: list[int] = []
        self._c_open: list[float] = []
        self._c_high: list[float] = []
        self._c_low: list[float] = []
        self._c_close: list[float] = []
        self._c_volume: list[float] = []
        self.slots: list[PositionSlot] = []
        self.pos = -1
        self.bar: Candle | None = None
        self.close = 0.0

    def _load(self, i: int) -> None:
        if self._ts is None:
            series = self.series
            self._ts = series.timestamps
            self._open = series.opens
            self._high = series.highs
            self._low = series.lows
            self._close = series.closes
            self._volume = series.volumes
        stop = min(i + CHUNK, self.n)
        self._base = i
        self._c_ts = self._ts[i:stop].tolist()
        self._c_open = self._open[i:stop].tolist()
        self._c_high = self._high[i:stop].tolist()
        self._c_low = self._low[i:stop].tolist()
        self._c_close = self._close[i:stop].tolist()
        self._c_volume = self._volume[i:stop].tolist()

    def ts_at(self, i: int) -> int:
        """Open time of bar ``i`` (bars are read forwards)."""
        k = i - self._base
        if k < 0 or k >= len(self._c_ts):
            self._load(i)
            k = 0
        return self._c_ts[k]

    def candle_at(self, i: int) -> Candle:
        """Bar ``i`` as a :class:`Candle` (bars are read forwards)."""
        if self.candles is not None:
            return self.candles[i]
        k = i - self._base
        if k < 0 or k >= len(self._c_ts):
            self._load(i)
            k = 0
        return Candle(
            self._c_ts[k],
            self._c_open[k],
            self._c_high[k],
            self._c_low[k],
            self._c_close[k],
            self._c_volume[k],
            self.market,
            self.resolution_s,
            self.venue,
        )

    def advance(self, i: int) -> Candle:
        """Make bar ``i`` the newest closed bar and move ``history`` to the bars before it."""
        bar = self.candle_at(i)
        self.pos = i
        self.bar = bar
        self.close = bar.close
        start = i - self.history_size
        start = start if start > self.floor else self.floor  # no max() call per bar
        self.history.move_to(self.offset + start, self.offset + i, bar)
        return bar

    def closed_window(self, lookback: int) -> CandleSeries:
        """A new window of up to ``lookback`` closed bars, newest last (the newest included)."""
        stop = self.pos + 1
        start = max(self.floor, stop - lookback) if lookback > 0 else stop
        return self.series.root.window(self.offset + start, self.offset + stop)

    def __repr__(self) -> str:
        return f"Feed({self.key}, {self.n} bars, pos={self.pos})"


class EventStream:
    """Records of one kind for one (venue, market), oldest first; ``pos`` of them revealed."""

    def __init__(self, events: EventData) -> None:
        if len(events.records) != len(events.ts):
            raise ValueError("an event stream needs one timestamp per record")
        self.venue: Final = events.venue
        self.market: Final = events.market
        self.records: Final = events.records
        self.ts: Final = events.ts
        self.n: Final = len(events.records)
        self.pos = 0
        self.slots: list[PositionSlot] = []

    def latest(self) -> Any:
        """The newest revealed record, or None."""
        return self.records[self.pos - 1] if self.pos > 0 else None

    def revealed(self, lookback: int) -> list[Any]:
        """Up to ``lookback`` newest revealed records, oldest first."""
        if lookback <= 0:
            return []
        return list(self.records[max(0, self.pos - lookback) : self.pos])

    def __repr__(self) -> str:
        return f"EventStream({market_key(self.venue, self.market)}, {self.pos}/{self.n})"


class FundingStream:
    """The funding settlements of one (venue, market), oldest first, as lists (see
    :class:`~flint_core.inputs.FundingData`); ``pos`` of them revealed."""

    def __init__(self, data: FundingData) -> None:
        n = len(data.ts)
        for column in (data.rate, data.oracle_price, data.mark_price, data.slot,
                       data.interval_s):
            if len(column) != n:
                raise ValueError("a funding stream needs one value a row in every column")
        self.venue: Final = data.venue
        self.market: Final = data.market
        self.ts: Final = data.ts
        self.rate: Final = data.rate
        self.oracle_price: Final = data.oracle_price
        self.mark_price: Final = data.mark_price
        self.slot: Final = data.slot
        self.interval_s: Final = data.interval_s
        self.n: Final = n
        self.pos = 0
        self.slots: list[PositionSlot] = []

    def hourly_rate(self, i: int) -> float:
        """Row ``i``'s rate scaled to one hour (as :attr:`FundingRate.hourly_rate`)."""
        return self.rate[i] * (3600.0 / self.interval_s[i])

    def record(self, i: int) -> FundingRate:
        """Row ``i`` as a :class:`~flint_core.records.FundingRate`."""
        return FundingRate(
            self.market, self.ts[i], self.rate[i], self.oracle_price[i], self.mark_price[i],
            self.slot[i], self.venue, self.interval_s[i],
        )

    def latest(self) -> FundingRate | None:
        """The newest revealed settlement, or None."""
        return self.record(self.pos - 1) if self.pos > 0 else None

    def revealed(self, lookback: int) -> list[FundingRate]:
        """Up to ``lookback`` newest revealed settlements, oldest first."""
        if lookback <= 0:
            return []
        return [self.record(i) for i in range(max(0, self.pos - lookback), self.pos)]

    def __repr__(self) -> str:
        return f"FundingStream({market_key(self.venue, self.market)}, {self.pos}/{self.n})"
