"""The ``flint`` command's entry point: loading the command line takes a moment (numpy,
DuckDB, the plugins), and Ctrl-C meanwhile ends it quietly, as it does a command."""

import sys


def main() -> None:
    """Load the command line, then run it (exit 130 when interrupted while loading)."""
    try:
        from flint.cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    run()
