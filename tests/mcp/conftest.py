"""The MCP client tests' fixtures (the server itself is the session's `mcp_server`, tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.mcp.process import McpServer


@pytest.fixture
def fresh(mcp_server) -> McpServer:
    """The shared server with an empty record."""
    mcp_server.reset()
    return mcp_server
