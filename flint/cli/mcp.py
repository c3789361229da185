"""``flint mcp``: the MCP server for AI assistants (``pip install 'flint-sdk[server]'``).

    flint mcp                                   # stdio: what MCP clients launch
    flint mcp --transport http --port 8001      # streamable HTTP on 127.0.0.1

Streamable HTTP has no token of its own, so it listens on the loopback interface only.
"""

from pathlib import Path

import click

from flint.cli.common import db_option, db_path, trust_option, user_errors


@click.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio",
              show_default=True, help="stdio (launched by the client) or streamable HTTP.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="HTTP address: a loopback one (127.x, ::1, localhost).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--strategies", type=click.Path(file_okay=False, path_type=Path),
              default=Path("strategies/user"), show_default=True,
              help="Folder of saved user strategies (run as user:NAME).")
@trust_option
@db_option
@user_errors
def mcp_command(transport: str, host: str, port: int, strategies: Path, trust: bool,
                db: Path | None) -> None:
    """Serve flint's tools (backtest, optimise, journal, market data) over MCP."""
    from flint.server.auth import is_loopback

    try:
        from flint.mcp.server import build_server
    except ImportError as exc:
        raise click.ClickException(
            f"the MCP server needs the server extra: pip install 'flint-sdk[server]' ({exc})"
        ) from None
    server = build_server(db_path(db), strategies, trust=trust)
    if transport == "stdio":
        server.run("stdio")
        return
    if not is_loopback(host):
        raise click.ClickException(
            f"refusing to serve MCP on {host}: streamable HTTP has no token, use a loopback "
            f"address (or the HTTP API, flint serve, which has)"
        )
    server.run("streamable-http", host=host, port=port)
