"""McpClient: the JSON-RPC side of an MCP session (initialize, tools/list, tools/call, the end).

A small synchronous client instead of the `mcp` SDK's: the SDK's client runs on an anyio event
loop with its own tasks and streams, which a gevent worker would have to host in a thread of
its own per session; this one is plain blocking I/O on urllib3, which the worker's monkey patch
makes cooperative, so a slow MCP server holds one greenlet and nothing else. It follows the
protocol's lifecycle: `initialize` (the newest revision it knows, the server's answer accepted
if it is one it speaks), `notifications/initialized`, then requests; a session the server
forgot (404) is initialized again once; `close()` deletes the session.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from askservice import netguard
from askservice.mcp.errors import McpError, SessionExpired
from askservice.mcp.tools import Tool, ToolOutcome, outcome_from, tool_from
from askservice.mcp.transport import Transport

PROTOCOL_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")
CLIENT_INFO = {"name": "askservice", "version": "1.0"}
MAX_TOOL_PAGES = 20


class McpClient:
    """One MCP server at `url`: tools listed and called over one session, opened on first use.

    `headers` (e.g. `Authorization`) go with every request and nowhere else; `timeout` bounds
    each exchange (connect to the answer's end); `allowed` are the non-public addresses the
    server may be at (MCP_ALLOW). Use it as a context manager, or call `close()`.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 60.0,
                 allowed: netguard.Allowed = netguard.Allowed()):
        self._transport = Transport(url, headers or {}, timeout, allowed)
        self._ids = itertools.count(1)
        self._opening = threading.Lock()  # a greenlet lock once gevent patched threading
        self._ready = False
        self.server_info: dict[str, Any] = {}

    def __enter__(self) -> "McpClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def list_tools(self) -> list[Tool]:
        """Return every tool the server offers (following `nextCursor`, at most MAX_TOOL_PAGES pages)."""
        tools: list[Tool] = []
        cursor = None
        for _ in range(MAX_TOOL_PAGES):
            result = self._call("tools/list", {"cursor": cursor} if cursor else {})
            entries = result.get("tools")
            if not isinstance(entries, list):
                raise McpError("protocol", f"MCP server {self._transport.where} answered tools/list without tools")
            tools.extend(tool_from(entry) for entry in entries)
            cursor = result.get("nextCursor")
            if not cursor:
                return tools
        raise McpError("protocol", f"MCP server {self._transport.where} listed more than {MAX_TOOL_PAGES} pages of tools")

    def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call tool `name`; a tool that failed is an outcome with `is_error`, not an exception."""
        return outcome_from(self._call("tools/call", {"name": name, "arguments": arguments}))

    def abort(self) -> None:
        """Cut the calls in flight short (from another greenlet: a cancelled response); they raise McpError."""
        self._transport.abort()

    def close(self) -> None:
        """Delete the session on the server (if one was opened) and drop the connections.

        The DELETE is a courtesy: a server that fails it keeps the session until it expires, and
        `close()` never raises (it runs when a call has already failed).
        """
        try:
            self._transport.delete_session()
        except McpError:
            pass
        finally:
            self._ready = False
            self._transport.close()

    def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._open()
        try:
            return self._request(method, params)
        except SessionExpired:
            self._ready = False
            self._transport.session_id = None
            self._open()
            return self._request(method, params)

    def _open(self) -> None:
        with self._opening:
            if self._ready:
                return
            self._transport.protocol_version = None
            result = self._request("initialize", {
                "protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO,
            })
            version = result.get("protocolVersion")
            if version not in SUPPORTED_VERSIONS:
                raise McpError("protocol", f"MCP server {self._transport.where} speaks protocol {version!r}, "
                                           f"not one of {', '.join(SUPPORTED_VERSIONS)}")
            self._transport.protocol_version = version
            self.server_info = result.get("serverInfo") if isinstance(result.get("serverInfo"), dict) else {}
            self._transport.notify({"jsonrpc": "2.0", "method": "notifications/initialized"})
            self._ready = True

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = self._transport.request({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        error = answer.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            raise McpError("rpc", f"MCP server {self._transport.where}: {method} failed: "
                                  f"{self._transport.clean(str(message))} (code {code})")
        result = answer.get("result")
        if not isinstance(result, dict):
            raise McpError("protocol", f"MCP server {self._transport.where} answered {method} without a result object")
        return result
