"""The one exception of the MCP edge."""

from __future__ import annotations

KINDS = ("headers", "blocked", "connect", "timeout", "http", "protocol", "rpc", "session")


class McpError(Exception):
    """An MCP exchange failed; `kind` is one of KINDS, the message says what happened.

    Messages name the server by scheme, host, port and path only (no query string, no
    credentials) and never contain a header value given to the client.
    """

    def __init__(self, kind: str, message: str, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        """The HTTP status the server answered (kind `http`), else None."""


class SessionExpired(McpError):
    """The server no longer knows the session (HTTP 404 to a request that carried its id)."""

    def __init__(self, where: str):
        super().__init__("session", f"MCP server {where} no longer knows the session")
