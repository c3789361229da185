"""``flint backtest STRATEGY``: backtest a built-in strategy or a strategy file on stored data.

    flint backtest ma_crossover --market SOL-PERP --venue binance
    flint backtest strategies/user/my_strategy.py --period 90d --param fast=12
    flint backtest funding_arb --venue binance --venue hyperliquid --fill-model close

STRATEGY is a file (anything that exists or ends in ``.py``) or the name of a
registered strategy (``flint strategies`` lists them). Candles and funding come from
the store (read-only); a file's code is user code, so the whole backtest runs in the
sandbox's child process with CPU and memory limits, and only plain data comes back.
Built-ins run in this process. The run is saved to the store's journal.

Time range: ``--start``/``--end`` are UTC dates (``2024-03-01``, an end date
includes its whole day) or ISO times; ``--period`` (``12h``, ``30d``, ``6w``,
``3m`` = 90 days, ``1y``) counts from ``--start``, back from ``--end``, or back from
the newest stored bar. Nothing given: every stored bar.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from flint.cli.common import db_option, db_path, make_console, trust_option, user_errors, when
from flint.cli.inputs import ResearchInputs, load_research, research_options
from flint.cli.journal import journal_options, save_records

SPARK = "▁▂▃▄▅▆▇█"


# Parsing the options


def parse_value(text: str) -> Any:
    """A ``--param`` value: an int, a float, true/false/none, or else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_params(pairs: Sequence[str], schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``k=v`` pairs as keyword arguments, typed by ``schema`` where it names the key."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"'{pair}' is not KEY=VALUE", param_hint="--param")
        value = parse_value(raw)
        kind = schema.get(key, {}).get("type")
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        wrong_int = kind == "int" and (isinstance(value, bool) or not isinstance(value, int))
        if wrong_int or (kind == "float" and not isinstance(value, float)):
            raise click.BadParameter(
                f"{key} must be {'an integer' if kind == 'int' else 'a number'}, got '{raw}'",
                param_hint="--param",
            )
        params[key] = value
    return params


# Output


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """``values`` as a line of block characters, one per bucket of about equal size."""
    n = len(values)
    if n == 0:
        return ""
    step = max(1, -(-n // width))
    points = [values[min(n - 1, i + step - 1)] for i in range(0, n, step)]
    low, high = min(points), max(points)
    if high <= low:
        return SPARK[len(SPARK) // 2] * len(points)
    scale = (len(SPARK) - 1) / (high - low)
    return "".join(SPARK[round((v - low) * scale)] for v in points)


def win_rate_text(metrics: dict[str, Any]) -> str:
    """The win rate as a percentage, or why there is none (it is undefined with no trades)."""
    from flint.analytics.metrics import undefined

    if undefined("win_rate", metrics):
        return "n/a (no trades)"
    return f"{100 * metrics['win_rate']:.1f} %"


def summary_table(record: dict[str, Any]) -> Table:
    """The headline numbers of a run's journal record."""
    metrics = record["metrics"]
    title = (f"{record['strategy']} on {record['venue']} {record['market']} "
             f"{record['resolution_s']} s: {when(record['start_ts'])} .. "
             f"{when(record['end_ts'])} UTC, {record['bars']:,} bars")
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("PnL", f"{metrics['total_pnl']:,.2f}"),
        ("return", f"{100 * metrics['total_return']:.2f} %"),
        ("Sharpe", f"{metrics['sharpe_ratio']:.2f}"),
        ("Sortino", f"{metrics['sortino']:.2f}"),
        ("max drawdown", f"{100 * metrics['max_drawdown']:.2f} %"),
        ("trades", f"{int(metrics['total_trades']):,}"),
        ("win rate", win_rate_text(metrics)),
        ("fees", f"{metrics['total_fees']:,.2f}"),
        ("funding (paid > 0)", f"{metrics['funding_paid']:,.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


# The command


def _resolve(strategy: str) -> tuple[Path | None, Any]:
    """``(file, None)`` for a strategy file, ``(None, class)`` for a registered name."""
    path = Path(strategy)
    if path.exists() or strategy.endswith(".py"):
        if not path.is_file():
            raise click.ClickException(f"no strategy file {path}")
        return path, None
    from flint.plugins import PluginNotFound, get_strategy

    try:
        return None, get_strategy(strategy)
    except PluginNotFound as exc:
        raise click.ClickException(
            f"'{strategy}' is neither a strategy file nor a built-in strategy: {exc}"
        ) from None


@click.command("backtest")
@click.argument("strategy")
@research_options
@click.option("--param", "param_pairs", multiple=True, metavar="KEY=VALUE",
              help="Strategy constructor argument (repeatable).")
@journal_options
@trust_option
@db_option
@user_errors
def backtest_command(
    strategy: str,
    market: str | None,
    venues: tuple[str, ...],
    resolution_s: int,
    start: str | None,
    end: str | None,
    period: str | None,
    capital: float | None,
    fee_rate: float | None,
    fill_model: str,
    risk: bool,
    param_pairs: tuple[str, ...],
    no_journal: bool,
    journal_wait_s: float,
    trust: bool,
    db: Path | None,
) -> None:
    """Backtest STRATEGY (a file or a built-in name) on stored candles and funding."""
    file, cls = _resolve(strategy)
    params = parse_params(param_pairs, cls.parameters() if cls is not None else {})
    source = None if file is None else (file.read_text(), str(file))
    if source is not None:
        from flint.strategy.forkserver import prestart

        prestart()  # the sandbox's fork server starts while the store loads
    store_path = db_path(db)
    inputs = load_research(
        store_path, market=market, venues=venues, resolution_s=resolution_s, start=start,
        end=end, period=period, capital=capital, fee_rate=fee_rate, fill_model=fill_model,
        risk=risk,
    )
    out = make_console()
    with out.status(f"backtesting {strategy}..."):
        record = backtest_record(str(file) if file is not None else strategy, source, cls,
                                 params, inputs, trust)
    out.print(summary_table(record))
    curve = record["result"]["equity_curve"]
    if len(curve):
        out.print(f"equity {curve[0]:,.0f} {sparkline(curve)} {curve[-1]:,.0f}")
    for warning in record["result"]["strategy_warnings"][:8]:
        out.print(f"[yellow]warning[/yellow] {warning}", markup=True)
    if no_journal:
        out.print("not saved to the journal (--no-journal)")
        return
    [run_id], saved = save_records([record], store_path, journal_wait_s, out)
    if saved:
        out.print(f"saved to the journal of {store_path} as run {run_id}")


def backtest_record(
    label: str,
    source: tuple[str, str] | None,
    cls: Any,
    params: dict[str, Any],
    data: ResearchInputs,
    trust: bool = False,
) -> dict[str, Any]:
    """One backtest on ``data`` (:func:`~flint.cli.inputs.load_research`): its journal
    record (not saved yet).

    ``label`` names the strategy in the record; ``source`` is ``(code, filename)`` of
    code that runs in the sandbox, else ``cls`` (a registered class) runs in this
    process. Bad input raises :class:`click.ClickException` with one line.
    """
    from flint.backtest.runs import RunSettings

    settings = RunSettings(
        strategy=label, market=data.primary.market, venues=data.venues,
        resolution_s=int(data.primary.resolution_s), capital=data.capital,
        fee_rate=data.fee_rate, fill_model=data.fill_model, params=params,
        default_fee_rate=data.default_fee_rate, risk=data.risk,
    )
    return _run(source, cls, data.candles, data.funding, settings, trust)


def _run(source: tuple[str, str] | None, cls: Any, candles: dict[str, Any], funding: Any,
         settings: Any, trust: bool = False) -> dict[str, Any]:
    """The run's journal record: a built-in in this process, code in the sandbox."""
    from flint.backtest.engine import BacktestTimeoutError
    from flint.backtest.runs import SANDBOX_JOB, run_backtest, sandbox_options

    if source is None:
        try:
            strategy = cls(**settings.params)
        except (TypeError, ValueError) as exc:
            raise click.ClickException(
                f"cannot create {settings.strategy} with {settings.params}: {exc}"
            ) from exc
        data = next(iter(candles.values())) if len(candles) == 1 else candles
        try:
            return run_backtest(strategy, data, funding, settings)
        except KeyError as exc:  # e.g. a venue no installed plugin describes
            raise click.ClickException(str(exc.args[0])) from exc
        except BacktestTimeoutError as exc:
            raise click.ClickException(str(exc)) from exc
    from flint.strategy.loader import StrategyLoadError
    from flint.strategy.sandbox import StrategyExecutionError, run_in_sandbox

    code, filename = source
    first, *others = candles
    options = sandbox_options({k: candles[k] for k in others}, funding, settings)
    try:
        record: dict[str, Any] = run_in_sandbox(
            code, candles[first], settings.params, job=SANDBOX_JOB,
            options=options, filename=filename, trust=trust,
        )
    except (StrategyLoadError, StrategyExecutionError) as exc:
        raise click.ClickException(str(exc)) from exc
    return record
