"""``flint strategies [--json]``: the built-in strategies plugins registered.

Each with its category, style (v1 signals or v2 orders), one-line description and
optimisable parameters (``parameters()``: type, range, default).
"""

import json
from typing import Any

import click
from rich.table import Table

from flint.cli.common import make_console


def _describe_parameter(name: str, spec: dict[str, Any]) -> str:
    if spec.get("type") == "categorical":
        values = "|".join(str(c) for c in spec.get("choices", []))
        text = f"{name} in {{{values}}}"
    else:
        text = f"{name} {spec.get('low')}..{spec.get('high')}"
    return f"{text} = {spec['default']}" if "default" in spec else text


def strategy_listing() -> list[dict[str, Any]]:
    """Every registered strategy: name, class, category, style, description, parameters."""
    from flint.plugins import registry

    return [
        {
            "name": entry.name,
            "class": getattr(entry.obj, "__name__", str(entry.obj)),
            "category": entry.meta.get("category", ""),
            "style": entry.meta.get("style", ""),
            "description": entry.description,
            "plugin": entry.provenance.plugin,
            "parameters": entry.obj.parameters(),  # type: ignore[attr-defined]
        }
        for entry in registry("strategies").entries()
    ]


@click.command("strategies")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def strategies_command(as_json: bool) -> None:
    """List the built-in strategies with their category, style and parameters."""
    rows = strategy_listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    console = make_console()
    if not rows:
        console.print(
            "No built-in strategies installed: `pip install flint-strategies` "
            "(or `pip install ./plugins/flint-strategies` from a checkout)."
        )
        return
    table = Table(title=f"{len(rows)} built-in strategies (flint backtest NAME)")
    for column in ("name", "category", "style", "parameters", "what it does"):
        table.add_column(column)
    for row in sorted(rows, key=lambda r: (r["category"], r["name"])):
        parameters = "\n".join(_describe_parameter(k, v) for k, v in row["parameters"].items())
        table.add_row(row["name"], row["category"], row["style"], parameters or "-",
                      row["description"])
    console.print(table)
