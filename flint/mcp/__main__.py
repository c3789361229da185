"""``python -m flint.mcp``: the same as ``flint mcp`` (see :mod:`flint.cli.mcp`)."""

from flint.cli.mcp import mcp_command

if __name__ == "__main__":
    mcp_command(prog_name="python -m flint.mcp")
