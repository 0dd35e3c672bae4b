"""The MCP edge: a synchronous client of remote MCP servers over streamable HTTP.

    with McpClient(url, headers, timeout, allowed) as mcp:
        tools = mcp.list_tools()                      # [Tool(name, description, input_schema)]
        outcome = mcp.call_tool("add", {"a": 1})      # ToolOutcome(output_text, is_error, raw)

Every failure (refused address, connection, time-out, HTTP status, JSON-RPC error, malformed
answer) is one `McpError` with a `kind` and a message that never carries the headers given.
A tool that ran and failed is not an error: its outcome has `is_error` set.
"""

from askservice.mcp.client import McpClient
from askservice.mcp.errors import McpError
from askservice.mcp.tools import Tool, ToolOutcome

__all__ = ["McpClient", "McpError", "Tool", "ToolOutcome"]
