"""Entry point of the ``flint`` command: the top-level group and core commands.

Exit codes: 0 success, 1 user error (bad input, broken plugin in strict mode),
130 interrupted.
"""

import json
import platform
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from flint.cli.backtest import backtest_command
from flint.cli.calibrate import calibrate_command
from flint.cli.data import data_group
from flint.cli.journal import journal_group
from flint.cli.live import live_group
from flint.cli.mcp import mcp_command
from flint.cli.new import new_command
from flint.cli.optimize import optimize_command, walk_forward_command
from flint.cli.paper import paper_group, parity_command
from flint.cli.report import report_command
from flint.cli.serve import serve_command
from flint.cli.strategies import strategies_command
from flint.plugins import get_host
from flint_core import __version__
from flint_core.compiled import is_compiled
from flint_core.plugins import PluginHost
from flint_core.registry import PluginError


def version_text(host: PluginHost) -> str:
    """What ``flint --version`` prints: core and plugin versions and the build."""
    lines = [
        f"flint-sdk {__version__}",
        f"compiled: {'yes' if is_compiled() else 'no'}",
        f"python: {platform.python_version()}",
    ]
    plugins = [p for p in host.plugins.values() if not p.builtin]
    if plugins:
        lines.append("plugins:")
        for info in sorted(plugins, key=lambda p: p.name):
            note = "" if info.status == "loaded" else f" [{info.status}]"
            lines.append(f"  {info.dist or info.name} {info.version or '?'}{note}")
    else:
        lines.append("plugins: none installed")
    from flint.strategy import isolation

    offered = [s.name for s in isolation.host_support() if s.available]
    missing = isolation.missing_required(offered)
    verdict = "" if not missing else f" (strategy files need --trust: no {', '.join(missing)})"
    lines.append(f"sandbox: {', '.join(offered)}{verdict}")
    return "\n".join(lines)


def doctor_text() -> str:
    """What ``flint doctor`` prints: each sandbox layer, whether it holds here, what it stops."""
    from flint.strategy import isolation
    from flint.strategy.sandbox import StrategyExecutionError, sandbox_layers

    try:
        applied = set(sandbox_layers())
        failure = ""
    except StrategyExecutionError as exc:
        applied, failure = set(), str(exc)
    lines = ["strategy sandbox layers (a sandboxed child was started to check them):"]
    for support in isolation.host_support():
        state = "active" if support.name in applied else "MISSING"
        required = " (required)" if support.name in isolation.REQUIRED else ""
        lines.append(f"  {support.name:<13} {state:<8} {support.detail}{required}")
        lines.append(f"  {'':<13} stops: {isolation.STOPS[support.name]}")
    missing = isolation.missing_required(applied)
    if failure:
        lines.append(f"the sandbox could not start: {failure}")
    elif missing:
        lines.append(f"untrusted strategy files are refused here (no {', '.join(missing)}); "
                     "--trust runs them with only the active layers")
    else:
        lines.append("untrusted strategy files run confined by every required layer")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(version_text(get_host()))
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of flint-sdk and every plugin, whether the kernel is compiled and "
         "the strategy sandbox's layers.",
)
def cli() -> None:
    """flint: backtest, optimise, paper trade and live trade crypto perpetual futures."""


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include flint's built-in plugins.")
def plugins_command(as_json: bool, show_all: bool) -> None:
    """List installed plugins, what each registered, and any errors."""
    host = get_host()
    infos = [p for p in host.plugins.values() if show_all or not p.builtin]
    if as_json:
        rows: list[dict[str, Any]] = [
            {
                "name": p.name,
                "dist": p.dist,
                "version": p.version,
                "module": p.module,
                "builtin": p.builtin,
                "status": p.status,
                "registered": p.registered,
                "errors": p.errors,
            }
            for p in infos
        ]
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    console = Console(soft_wrap=True)
    if not infos:
        console.print("No plugins installed. Install one with `pip install flint-strategies`.")
        return
    table = Table(title="flint plugins")
    for column in ("plugin", "distribution", "version", "status", "registered"):
        table.add_column(column)
    for p in infos:
        registered = "\n".join(
            f"{kind}: {', '.join(names)}" for kind, names in sorted(p.registered.items())
        )
        style = {"error": "red", "disabled": "dim"}.get(p.status, "green")
        table.add_row(
            p.name, p.dist or "", p.version or "", f"[{style}]{p.status}[/{style}]",
            registered or "-",
        )
    console.print(table)
    for p in infos:
        for error in p.errors:
            console.print(f"[red]error[/red] in plugin [bold]{p.name}[/bold]: {error}",
                          markup=True, highlight=False)


@cli.command("doctor")
def doctor_command() -> None:
    """Check this host: which sandbox layers confine strategy files, and what each stops."""
    click.echo(doctor_text())


cli.add_command(data_group)
cli.add_command(new_command)
cli.add_command(strategies_command)
cli.add_command(backtest_command)
cli.add_command(optimize_command)
cli.add_command(walk_forward_command)
cli.add_command(report_command)
cli.add_command(journal_group)
cli.add_command(calibrate_command)
cli.add_command(serve_command)
cli.add_command(mcp_command)
cli.add_command(paper_group)
cli.add_command(parity_command)
cli.add_command(live_group)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; plugins may add commands first."""
    try:
        get_host().add_commands(cli)
        rc = cli.main(args=argv, prog_name="flint", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except PluginError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
