"""The MCP test server (tests/mcp/server.py) as a child process, shared by the session."""

from __future__ import annotations

import sys

import pytest
import requests

from askservice.netguard import Allowed
from tests.servers import REPO, Process, free_port, wait_until

TOKEN = "mcp-secret-token-4f1c9a"
LOOPBACK = Allowed.parse("127.0.0.1/32")


class McpServer:
    """The running server: endpoint URLs and the record of what it received."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def url(self, endpoint: str) -> str:
        """The MCP URL of endpoint `sse`, `json` or `secure`."""
        return f"{self.base}/{endpoint}/mcp"

    def requests(self) -> list[dict]:
        """Every MCP request received since the last reset, oldest first."""
        return requests.get(f"{self.base}/_requests", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.base}/_reset", timeout=5)


@pytest.fixture(scope="session")
def mcp_server(tmp_path_factory) -> McpServer:
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "server.log"
    process = Process([sys.executable, "-m", "tests.mcp.server", "--port", str(port), "--token", TOKEN], cwd=REPO, log=log)
    server = McpServer(port)

    def ready() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"MCP server exited:\n{process.log_text()[-2000:]}")
        return requests.get(f"{server.base}/_requests", timeout=1).status_code == 200

    wait_until(ready, timeout=20, what=f"MCP server on {port}")
    yield server
    process.stop()


@pytest.fixture
def fresh(mcp_server) -> McpServer:
    """The shared server with an empty record."""
    mcp_server.reset()
    return mcp_server
