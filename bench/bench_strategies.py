"""Every built-in strategy through the backtest engine on 100k hourly bars.

Run it once per build (each in a venv with that build of flint-sdk and the
flint-strategies plugin installed, from outside the checkout), then compare::

    python bench/bench_strategies.py --out pure.json
    python bench/bench_strategies.py --out compiled.json
    python bench/bench_strategies.py --compare pure.json compiled.json

Data: the generated sample markets (``flint.sample_data``, SOL-PERP) over enough
days for ``--bars`` hourly bars: binance candles, plus hyperliquid's for the
strategies that compare venues (funding_arb, basis_trade, mev_arb_monitor), and the
funding of both venues for every strategy. Each strategy runs with its default
parameters on ``BacktestEngine``'s defaults (``FillPipeline``, 10,000 capital, 5 bps),
venue configs with default costs for the two sample venues. Throughput is the best of
``--repeat`` runs of ``BacktestEngine.run`` (result included) in CPU time of the process
(the machine is shared); each run starts with empty indicator caches.
"""

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from flint.backtest.engine import BacktestEngine
from flint.plugins import registry
from flint.testing.samples import sample_bars, sample_funding, sample_venue_configs
from flint_core.compiled import is_compiled
from flint_core.markets import market_key

TWO_VENUES = {"funding_arb", "basis_trade", "mev_arb_monitor"}


def measure(name: str, cls: type, bars: int, repeat: int) -> dict[str, object]:
    """Best-of-``repeat`` throughput of one strategy."""
    days = -(-bars // 24)
    venues = ("binance", "hyperliquid") if name in TWO_VENUES else ("binance",)
    feeds = {market_key(v, "SOL-PERP"): sample_bars("SOL-PERP", v, days)[:bars] for v in venues}
    funding = sample_funding("SOL-PERP", days=days)
    candles = feeds if len(feeds) > 1 else feeds["binance:SOL-PERP"]
    best = float("inf")
    result = None
    for _ in range(repeat):
        for series in feeds.values():
            series.cache.clear()
        engine = BacktestEngine(cls(), funding_rates=funding, venues=sample_venue_configs(),
                                max_runtime_s=0)
        started = time.process_time()
        result = engine.run(candles)
        best = min(best, time.process_time() - started)
    assert result is not None
    return {
        "bars": bars, "seconds": round(best, 4), "bars_per_s": round(bars / best),
        "fills": len(result.fills), "log_lines": sum(1 for x in result.logs if x[:1] == "["),
    }


def run(bars: int, repeat: int, only: list[str] | None) -> dict[str, object]:
    strategies = registry("strategies")
    names = only or strategies.names()
    return {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "compiled": is_compiled(),
        "python": platform.python_version(),
        "strategies": {n: measure(n, strategies.get(n), bars, repeat) for n in names},
    }


def compare(pure_file: Path, compiled_file: Path) -> str:
    """A Markdown table of two runs."""
    pure = json.loads(pure_file.read_text())["strategies"]
    compiled = json.loads(compiled_file.read_text())["strategies"]
    lines = ["| strategy | pure bars/s | compiled bars/s | compiled / pure | fills |",
             "|---|---:|---:|---:|---:|"]
    for name in sorted(pure):
        p, c = pure[name], compiled[name]
        lines.append(f"| {name} | {p['bars_per_s']:,} | {c['bars_per_s']:,} | "
                     f"{c['bars_per_s'] / p['bars_per_s']:.1f}x | {c['fills']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="Strategy names (default: all).")
    parser.add_argument("--out", type=Path, help="Write the JSON result here too.")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("PURE", "COMPILED"))
    args = parser.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    result = run(args.bars, args.repeat, args.only)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
