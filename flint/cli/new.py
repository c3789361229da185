"""``flint new NAME [--v2] [--dir DIR]``: scaffold a strategy file to start from.

The file is a working strategy (it loads through the sandbox and trades):
v1 returns signals, v2 (``--v2``) places orders through the execution context.
An existing file is never overwritten.
"""

import re
from pathlib import Path
from string import Template

import click

from flint.strategy.loader import validate_strategy_code

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

V1_TEMPLATE = Template('''\
"""$title: follow the trend of two moving averages, skipping overbought/oversold entries.

v1 style: on_candle returns a Signal and the engine opens and closes positions.
``history`` holds the bars before ``candle`` (newest last), never ``candle`` itself.
"""

from flint.indicators import rsi, sma
from flint.models import Signal
from flint.strategy import Strategy


class $class_name(Strategy):
    def __init__(self, fast: int = 20, slow: int = 50, rsi_period: int = 14,
                 rsi_ceiling: float = 75.0) -> None:
        self.fast = fast
        self.slow = slow
        self.rsi_period = rsi_period
        self.rsi_ceiling = rsi_ceiling

    @property
    def name(self) -> str:
        return "$slug"

    def on_candle(self, candle, history, ctx=None):
        if len(history) < max(self.slow, self.rsi_period + 1):
            return Signal.HOLD  # not enough bars yet
        fast, slow = sma(history, self.fast), sma(history, self.slow)
        strength = rsi(history, self.rsi_period)
        if fast > slow and strength < self.rsi_ceiling:
            return Signal.BUY
        if fast < slow and strength > 100.0 - self.rsi_ceiling:
            return Signal.SELL
        return Signal.HOLD

    def reset(self) -> None:
        pass  # clear any state kept between bars here

    @classmethod
    def parameters(cls):
        return {
            "fast": {"type": "int", "low": 5, "high": 50, "default": 20},
            "slow": {"type": "int", "low": 20, "high": 200, "default": 50},
            "rsi_ceiling": {"type": "float", "low": 60.0, "high": 90.0, "default": 75.0},
        }
''')

V2_TEMPLATE = Template('''\
"""$title: buy oversold dips with an ATR stop and target; exit when overbought.

v2 style: on_candle places orders through ``ctx`` (the execution context) and
returns Signal.HOLD. ``history`` holds the bars before ``candle``, newest last.
"""

from flint.indicators import atr, rsi
from flint.models import Side, Signal
from flint.strategy import Strategy


class $class_name(Strategy):
    def __init__(self, period: int = 14, oversold: float = 30.0, overbought: float = 70.0,
                 stop_atr: float = 2.0, target_atr: float = 3.0, size: float = 1.0) -> None:
        self.period = period
        self.oversold = oversold
        self.overbought = overbought
        self.stop_atr = stop_atr
        self.target_atr = target_atr
        self.size = size

    @property
    def name(self) -> str:
        return "$slug"

    def on_candle(self, candle, history, ctx=None):
        if ctx is None or len(history) < self.period + 1:
            return Signal.HOLD
        strength, risk = rsi(history, self.period), atr(history, self.period)
        holding = ctx.position(candle.market) is not None
        if not holding and strength < self.oversold:
            ctx.cancel_all(candle.market)  # the last trade's stop or target, if one is left
            ctx.market_order(candle.market, Side.LONG, size=self.size)
            ctx.stop_order(candle.market, Side.SHORT, size=self.size,
                           trigger_price=candle.close - self.stop_atr * risk)
            ctx.take_profit_order(candle.market, Side.SHORT, size=self.size,
                                  trigger_price=candle.close + self.target_atr * risk)
        elif holding and strength > self.overbought:
            ctx.close_position(candle.market)  # a market order: cancel_all leaves it be
            ctx.cancel_all(candle.market)  # the stop and the target
        return Signal.HOLD

    def reset(self) -> None:
        pass  # clear any state kept between bars here

    @classmethod
    def parameters(cls):
        return {
            "period": {"type": "int", "low": 5, "high": 30, "default": 14},
            "oversold": {"type": "float", "low": 10.0, "high": 40.0, "default": 30.0},
            "stop_atr": {"type": "float", "low": 0.5, "high": 5.0, "default": 2.0},
        }
''')


def names_for(name: str) -> tuple[str, str, str]:
    """(file stem, class name, strategy slug) for a strategy called ``name``."""
    words = [w for w in re.split(r"[-_]|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    stem = "_".join(w.lower() for w in words)
    class_name = "".join(w[:1].upper() + w[1:] for w in words)
    if not class_name.endswith("Strategy"):
        class_name += "Strategy"
    return stem, class_name, "-".join(w.lower() for w in words)


def scaffold(name: str, v2: bool = False) -> tuple[str, str]:
    """The file name and source of a new strategy called ``name``."""
    stem, class_name, slug = names_for(name)
    template = V2_TEMPLATE if v2 else V1_TEMPLATE
    title = " ".join(slug.split("-")).capitalize()
    return f"{stem}.py", template.substitute(class_name=class_name, slug=slug, title=title)


@click.command("new")
@click.argument("name")
@click.option("--v2", is_flag=True,
              help="Context style: place orders through ctx (default: v1, return signals).")
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              default=Path("strategies/user"), show_default=True,
              help="Folder to write the strategy file into.")
def new_command(name: str, v2: bool, directory: Path) -> None:
    """Create a strategy file NAME.py that loads and runs, to edit from there."""
    name = name.removesuffix(".py")
    if not NAME_PATTERN.fullmatch(name):
        raise click.BadParameter(
            f"{name!r}: use 1-64 letters, digits, '-' or '_', starting with a letter",
            param_hint="NAME",
        )
    if directory.exists() and not directory.is_dir():
        raise click.ClickException(f"{directory} exists and is not a folder")
    filename, source = scaffold(name, v2)
    ok, error = validate_strategy_code(source)
    if not ok:  # a template bug, never the user's fault
        raise click.ClickException(f"the {'v2' if v2 else 'v1'} template is invalid: {error}")
    path = directory / filename
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(source)
    except FileExistsError:
        raise click.ClickException(
            f"{path} already exists; pick another name or remove the file first"
        ) from None
    style = "v2, orders through ctx" if v2 else "v1, returns signals"
    click.echo(f"Created {path} ({style}).")
    click.echo(f"Edit on_candle, then backtest it: flint backtest {path}")
