"""``flint serve``: the HTTP API (``pip install 'flint-sdk[server]'``).

    flint serve                      # 127.0.0.1:8000, the configured store
    flint serve --port 9000 --store data/flint.duckdb

Every route but ``/api/v1/health`` needs ``Authorization: Bearer TOKEN``. The first
start makes a token and prints it once (kept as a hash, mode 0600, in the state
folder); ``api_token`` in flint.yaml or ``FLINT_API_TOKEN`` is accepted too. Listening
on another address than the loopback needs a token made or configured beforehand.
``flint serve --add-token read`` makes another token (here: read-only) and exits.
"""

from pathlib import Path

import click

from flint.cli.common import db_path, user_errors
from flint.config import load_config


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: api_host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: api_port, 8000).")
@click.option("--store", "--db", "store", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Store file (default: db_path from flint.yaml).")
@click.option("--state", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the server's tokens and jobs (default: server/ beside the store).")
@click.option("--strategies", type=click.Path(file_okay=False, path_type=Path),
              default=Path("strategies/user"), show_default=True,
              help="Folder of the user strategies saved through the API.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help="Jobs running at once; more get 429 (default: max_concurrent_backtests).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Origin allowed to call the API from a browser (default: cors_origins).")
@click.option("--trust", is_flag=True,
              help="Run user strategy code even if this host lacks a required sandbox layer.")
@click.option("--add-token", "add_scopes", default=None, metavar="SCOPES",
              help="Make another token with these comma-separated scopes (read, research, "
                   "paper, live), print it once and exit.")
@user_errors
def serve_command(host: str | None, port: int | None, store: Path | None, state: Path | None,
                  strategies: Path, max_jobs: int | None, cors_origins: tuple[str, ...],
                  trust: bool, add_scopes: str | None) -> None:
    """Serve the HTTP API: backtests, optimisations, journal and data under /api/v1."""
    try:
        import uvicorn

        from flint.server.app import ServerSettings, create_app, default_state
        from flint.server.auth import AuthError, add_token, startup_tokens
    except ImportError as exc:
        raise click.ClickException(
            f"the server needs the server extra: pip install 'flint-sdk[server]' ({exc})"
        ) from None
    config = load_config()
    host = host or config.api_host
    path = db_path(store)
    folder = state or default_state(path)
    if add_scopes is not None:
        try:
            token = add_token(folder, [s.strip() for s in add_scopes.split(",") if s.strip()])
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"API token with scopes {add_scopes} (shown once, keep it): {token}")
        return
    try:
        tokens, new = startup_tokens(folder, host, config.api_token)
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    if new is not None:
        click.echo(f"API token (shown once, keep it): {new}")
    settings = ServerSettings(
        store=path, state=folder, strategies=strategies,
        cors_origins=cors_origins or config.cors_origins,
        max_jobs=max_jobs or config.max_concurrent_backtests, trust=trust,
    )
    uvicorn.run(create_app(settings, tokens), host=host,
                port=config.api_port if port is None else port, log_level="info")
