"""The MCP server on the private listener: the assistant's intent-level tools for other agents, behind the token.

The SDK (the `[mcp]` extra) loads only when this package's modules are imported; `available()` asks without it.
"""

from __future__ import annotations

import importlib.util

PATH = "/mcp"


def available() -> bool:
    """Whether the `mcp` SDK is installed (`pip install 'claw-home[mcp]'`)."""
    return importlib.util.find_spec("mcp") is not None
