"""Helpers for testing a venue plugin's provider against its fake venue: quick retries,
and comparing what was downloaded with a real data file exactly.

    from flint.testing.data_files import data_columns
    from flint.testing.venues import FAST_RETRY, assert_same_candles

    expected = data_columns(flint_test_data / "binance-SOLUSDT-3600.csv")
    candles, funding = download_rows(provider, "binance", "SOL-PERP", start, end,
                                     now=lambda: fake.now)
    assert_same_candles(candles, expected, start, end)
"""

import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from flint.providers.download import Series, download
from flint.providers.errors import VenueUnreachable
from flint.providers.files import FileProvider
from flint.providers.transport import RetryPolicy
from flint.store import FlintStore

#: Retries of a provider under test: the usual number, quickly.
FAST_RETRY = RetryPolicy(backoff_s=0.05, max_backoff_s=0.2)

_CANDLE_COLUMNS = ("open", "opens"), ("high", "highs"), ("low", "lows"), ("close", "closes"), \
    ("volume", "volumes")


def assert_same_candles(series: Any, expected: dict[str, np.ndarray], start: int | None = None,
                        end: int | None = None) -> None:
    """``series`` holds exactly the rows of ``expected``
    (:func:`flint.testing.data_files.data_columns`) with
    ``start <= ts <= end``, values equal to the last bit."""
    ts = expected["ts"]
    keep = np.ones(len(ts), dtype=bool)
    if start is not None:
        keep &= ts >= start
    if end is not None:
        keep &= ts <= end
    assert series.timestamps.tolist() == ts[keep].tolist()
    for name, attribute in _CANDLE_COLUMNS:
        assert getattr(series, attribute).tolist() == expected[name][keep].tolist(), name


def download_rows(provider: Any, venue: str, market: str, start_ts: int, end_ts: int, *,
                  now: Callable[[], float], resolution_s: int = 3600) -> tuple[Any, list[Any]]:
    """Candles and funding of ``[start_ts, end_ts]`` downloaded into a new in-memory store:
    ``(CandleSeries, [(ts, rate), ...])``."""
    with FlintStore(":memory:") as store:
        for series in (Series(venue, market, "candles", resolution_s),
                       Series(venue, market, "funding")):
            download(store, provider, series, start_ts, end_ts, now=now)
        candles = store.query_candles(market, resolution_s, venue=venue)
        funding = store.query_funding_rates(market, venue=venue)
        return candles, [(r.ts, r.rate) for r in funding]


def stored_rows(db: str | Path, venue: str, markets: Iterable[str],
                resolution_s: int = 3600) -> dict[str, tuple[list[Any], list[Any]]]:
    """Every stored candle and funding row of ``markets`` on ``venue`` in the store file
    ``db``, as plain tuples: ``{market: (candles, funding)}``."""
    with FlintStore(db, read_only=True) as store:
        out = {}
        for market in markets:
            c = store.query_candles(market, resolution_s, venue=venue)
            out[market] = (
                list(zip(c.timestamps.tolist(), c.opens.tolist(), c.highs.tolist(),
                         c.lows.tolist(), c.closes.tolist(), c.volumes.tolist(), strict=True)),
                [(r.ts, r.rate, r.interval_s)
                 for r in store.query_funding_rates(market, venue=venue)],
            )
        return out


def file_rows(files: Iterable[Path], db: Path, venue: str, markets: Iterable[str],
              span: tuple[int, int],
              resolution_s: int = 3600) -> dict[str, tuple[list[Any], list[Any]]]:
    """The rows of ``span`` (inclusive) as ``flint data import`` reads them from ``files``
    (into the new store ``db``), shaped as :func:`stored_rows`."""
    with FlintStore(db) as store:
        for path in files:
            FileProvider(path).load_into(store)
    low, high = span
    return {
        market: ([c for c in candles if low <= c[0] <= high],
                 [f for f in funding if low <= f[0] <= high])
        for market, (candles, funding) in stored_rows(db, venue, markets, resolution_s).items()
    }


def unused_port() -> int:
    """A port of 127.0.0.1 nobody listens on (bound for a moment, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_offline_fails(provider: Any, request: Callable[[], Any], names: str) -> str:
    """``request()`` against an endpoint nobody listens on ends with one
    :class:`~flint.providers.errors.VenueUnreachable` line holding ``names`` (the endpoint),
    and the provider says it is not available; returns the message. (How soon it gives
    up is the retry policy's, tested on a fake clock in tests/test_transport.py.)"""
    try:
        request()
    except VenueUnreachable as exc:
        message = str(exc)
    else:
        raise AssertionError("the request did not fail")
    assert "\n" not in message and names in message, message
    assert not provider.is_available()
    return message
