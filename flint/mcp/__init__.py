"""``flint mcp`` / ``python -m flint.mcp``: flint's operations as MCP tools for AI assistants.

Built on the official ``mcp`` SDK (2.x, :class:`mcp.server.mcpserver.MCPServer`);
see :mod:`flint.mcp.server`. Needs the ``server`` extra.
"""
