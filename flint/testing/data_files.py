"""The real data files under ``FLINT_TEST_DATA`` that fake venues serve, read back as
columns to compare what a provider fetched with (``VENUE-MARKET-RES.csv`` candles,
``VENUE-MARKET-funding.csv`` funding rates, ...)."""

from pathlib import Path

import numpy as np

from flint.providers.files import FileProvider


def data_columns(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of a data file (``ts``, ``open``, ..., or ``ts``, ``rate``) as flint
    reads it."""
    files = FileProvider(path)
    table = files.read(files.files[0])
    return {name: table.column(name).to_numpy() for name in table.column_names}
