"""The real data files under ``FLINT_TEST_DATA`` that fake venues serve, read back as
columns to compare what a provider fetched with (``VENUE-MARKET-RES.csv`` candles,
``VENUE-MARKET-funding.csv`` funding rates)."""

from pathlib import Path

import numpy as np

from flint.testing.venues import data_columns


def file_candles(data: Path, venue: str, market: str, res: int = 3600) -> dict[str, np.ndarray]:
    """The candle columns (``ts``, ``open``, ...) of ``venue``'s ``market`` at ``res``."""
    return data_columns(data / f"{venue}-{market}-{res}.csv")


def file_funding(data: Path, venue: str, market: str) -> tuple[np.ndarray, np.ndarray]:
    """The funding times and rates of ``venue``'s ``market``."""
    table = data_columns(data / f"{venue}-{market}-funding.csv")
    return table["ts"], table["rate"]
