"""The MCP test server (tests/mcp/server.py) as a child process: its endpoints and its record."""

from __future__ import annotations

import sys

import requests

from askservice.netguard import Allowed
from tests.servers import REPO, Process, free_port, wait_until

TOKEN = "mcp-secret-token-4f1c9a"
LOOPBACK = Allowed.parse("127.0.0.1/32")


class McpServer:
    """The running server: endpoint URLs and the record of what it received."""

    def __init__(self, port: int, process: Process):
        self.base = f"http://127.0.0.1:{port}"
        self.process = process

    def url(self, endpoint: str) -> str:
        """The MCP URL of endpoint `sse`, `json` or `secure`."""
        return f"{self.base}/{endpoint}/mcp"

    def requests(self) -> list[dict]:
        """Every MCP request received since the last reset, oldest first."""
        return requests.get(f"{self.base}/_requests", timeout=5).json()

    def reset(self) -> None:
        requests.post(f"{self.base}/_reset", timeout=5)

    def stop(self) -> None:
        self.process.stop()


def start_mcp_server(log) -> McpServer:
    """Start the server on a free loopback port (its output to `log`); wait until it answers."""
    port = free_port()
    process = Process([sys.executable, "-m", "tests.mcp.server", "--port", str(port), "--token", TOKEN], cwd=REPO, log=log)
    server = McpServer(port, process)

    def ready() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"MCP server exited:\n{process.log_text()[-2000:]}")
        return requests.get(f"{server.base}/_requests", timeout=1).status_code == 200

    wait_until(ready, timeout=20, what=f"MCP server on {port}")
    return server
