"""The benchmark's datasets: seeded synthetic GBM hourly bars and real Binance SOL 1h.

Every dataset is written once as ``<name>.npz`` (columns ts, open, high, low, close,
volume) into the cache directory, and every framework reads that same file, so all
of them see bit-identical prices. Prices sit on a 1e-8 grid (SOL's own are on 1e-4),
which lets ``reference.py`` decide SMA comparisons in exact integer arithmetic and
lets fixed-point engines (NautilusTrader) represent every price exactly.

    python bench/peers/data.py [--cache DIR]     # build every dataset
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("ts", "open", "high", "low", "close", "volume")
PRICE_DECIMALS = 8
HOUR = 3600
GBM_START_TS = 1_577_836_800  # 2020-01-01 00:00 UTC
GBM_SIGMA = 0.004  # hourly log-return volatility (~37 % a year)
GBM_SEED = 20_240_607
SOL_FILE = "binance-SOLUSDT-3600.csv"

# name -> bars (None: the whole real file)
DATASETS: dict[str, int | None] = {"sol_1h": None, "gbm_100k": 100_000, "gbm_1m": 1_000_000}


def cache_dir(explicit: str | None = None) -> Path:
    """``--cache``, else $FLINT_BENCH_CACHE, else .nox/_bench_data (never committed)."""
    path = Path(explicit or os.environ.get("FLINT_BENCH_CACHE") or ROOT / ".nox" / "_bench_data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def real_data_dir() -> Path:
    """$FLINT_TEST_DATA, else ../shared/data beside the repository."""
    return Path(os.environ.get("FLINT_TEST_DATA") or ROOT.parent / "shared" / "data")


def gbm_bars(n: int, seed: int = GBM_SEED) -> dict[str, np.ndarray]:
    """``n`` gapless hourly OHLCV bars of a driftless geometric Brownian motion from 100."""
    rng = np.random.default_rng(seed)
    log_ret = rng.normal(-0.5 * GBM_SIGMA**2, GBM_SIGMA, n)
    close = np.round(100.0 * np.exp(np.cumsum(log_ret)), PRICE_DECIMALS)
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1]
    wick = np.abs(rng.normal(0.0, GBM_SIGMA / 2, (2, n)))
    high = np.maximum(np.round(np.maximum(open_, close) * (1 + wick[0]), PRICE_DECIMALS),
                      np.maximum(open_, close))
    low = np.minimum(np.round(np.minimum(open_, close) * (1 - wick[1]), PRICE_DECIMALS),
                     np.minimum(open_, close))
    volume = np.round(rng.lognormal(8.0, 0.5, n), 3)
    ts = GBM_START_TS + HOUR * np.arange(n, dtype=np.int64)
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}


def sol_bars() -> dict[str, np.ndarray]:
    """Binance SOLUSDT perpetual 1h bars from the shared real-data folder."""
    path = real_data_dir() / SOL_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: set FLINT_TEST_DATA to the folder holding {SOL_FILE}"
        )
    raw = np.loadtxt(path, delimiter=",", skiprows=1)
    bars = {name: raw[:, i].copy() for i, name in enumerate(COLUMNS)}
    bars["ts"] = raw[:, 0].astype(np.int64)
    return bars


def build(name: str, cache: Path) -> Path:
    """Write dataset ``name`` into ``cache`` unless it is already there; return its path."""
    out = cache / f"{name}.npz"
    if out.is_file():
        return out
    n = DATASETS[name]
    bars = sol_bars() if n is None else gbm_bars(n)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, **bars)
    tmp.replace(out)
    return out


def load(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of a dataset file, as numpy arrays."""
    with np.load(path) as npz:
        return {name: npz[name] for name in COLUMNS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="output directory")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {list(DATASETS)}")
    args = parser.parse_args(argv)
    cache = cache_dir(args.cache)
    for name in args.names or DATASETS:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}; known: {list(DATASETS)}")
        print(build(name, cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
