"""The `mcp` tools of a response: remote MCP servers' tools offered to the model and called by the server.

For each `mcp` tool of a request, an `McpServer` holds the server's label, URL, the headers to
send (in memory only: never stored, echoed or logged) and the tool's filters. Its tools are
listed once per chain: an `mcp_list_tools` item of the same label earlier in the chain is reused,
otherwise the work lists them (a new `mcp_list_tools` item, with every tool the server listed, so
that a later request of the chain may allow others). Each allowed tool is offered to the
upstream as a function `LABEL__NAME`; a call runs on the server unless `require_approval` asks
for the client's approval first (an `mcp_approval_request` item ends the response; a later
request's `mcp_approval_response` approves or declines it). An McpServer is the ServerTool of its
functions: `execute` makes the call and reports its output or error, never raises.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from askservice.errors import InvalidRequestError
from askservice.mcp import McpClient, McpError, Tool
from askservice.mcp.tools import outcome_from
from askservice.services.engine.tools import ToolContext, ToolResult

SEPARATOR = "__"
DECLINED = "The user declined to run this tool."


def function_name(label: str, name: str) -> str:
    """Return the chat function name of tool `name` of server `label` (`^[a-zA-Z0-9_-]{1,64}$`): a name
    that had to be cleaned or cut ends in a hash of the whole, so that two tools never share one."""
    whole = f"{label}{SEPARATOR}{name}"
    clean = re.sub(r"[^a-zA-Z0-9_-]", "_", whole)
    if clean == whole and len(clean) <= 64:
        return clean
    return f"{clean[:57]}_{hashlib.sha256(whole.encode()).hexdigest()[:6]}"


def listing(tools: list[Tool]) -> list[dict]:
    """Return tools as an `mcp_list_tools` item lists them."""
    return [{"name": t.name, "description": t.description or None, "input_schema": t.input_schema,
             "annotations": t.annotations} for t in tools]


def _matches(flt: dict | None, tool: Tool) -> bool:
    """Tell whether an `MCPToolFilter` matches `tool` (by name, or by the server's read-only hint)."""
    if not flt:
        return False
    if flt.get("tool_names") is not None and tool.name in flt["tool_names"]:
        return True
    read_only = flt.get("read_only")
    return read_only is not None and bool((tool.annotations or {}).get("readOnlyHint")) == read_only


@dataclass
class McpServer:
    """One `mcp` tool of a request: the server, its tools once listed, and its session (opened on first use)."""

    label: str
    url: str
    headers: dict[str, str] = field(repr=False)
    allowed_tools: list[str] | dict | None
    require_approval: str | dict
    open_client: Callable[[str, dict[str, str]], McpClient] = field(repr=False)
    listed: list[Tool] | None = None
    """Every tool of the server, once listed (or read from the chain)."""
    _client: McpClient | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- listing ------------------------------------------------------------------------------

    def list_tools(self) -> list[Tool]:
        """List the server's tools (raises McpError); keep and return them."""
        self.listed = self.client().list_tools()
        return self.listed

    def reuse(self, item: dict) -> None:
        """Take the tools of an earlier `mcp_list_tools` item of this server."""
        self.listed = [Tool(t["name"], t.get("description") or "", t.get("input_schema") or {"type": "object"},
                            t.get("annotations")) for t in item.get("tools") or []]

    @property
    def tools(self) -> list[Tool]:
        """The listed tools `allowed_tools` lets the model call."""
        return [t for t in self.listed or [] if self.allows(t)]

    def allows(self, tool: Tool) -> bool:
        allowed = self.allowed_tools
        if allowed is None:
            return True
        return tool.name in allowed if isinstance(allowed, list) else _matches(allowed, tool)

    def functions(self) -> dict[str, Tool]:
        """Return the offered functions: chat name -> tool."""
        return {function_name(self.label, t.name): t for t in self.tools}

    def needs_approval(self, name: str) -> bool:
        """Tell whether a call of tool `name` waits for the client's approval (the spec's default: always)."""
        policy = self.require_approval
        if isinstance(policy, str):
            return policy != "never"
        tool = next((t for t in self.tools if t.name == name), Tool(name, ""))
        return not _matches(policy.get("never"), tool)

    # -- the ServerTool of this server's functions --------------------------------------------

    def definition(self, context: ToolContext) -> dict:
        tool = self.functions()[context.tool["function"]]
        function = {"name": context.tool["function"], "parameters": tool.input_schema or {"type": "object"}}
        if tool.description:
            function["description"] = tool.description
        return {"type": "function", "function": function}

    def execute(self, context: ToolContext, arguments: str) -> ToolResult:
        """Call the tool; its output, or its error (`details["error"]`, the spec's MCPToolCallError)."""
        name = context.tool["name"]
        details: dict[str, Any] = {"server_label": self.label, "name": name, "output": None, "error": None}
        try:
            args = json.loads(arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("not an object")
        except ValueError:
            details["error"] = {"type": "mcp_protocol_error", "code": -32602,
                                "message": "The model gave arguments that are not a JSON object."}
            return ToolResult(output=error_text(details["error"]), details=details)
        try:
            outcome = self.client().call_tool(name, args)
        except McpError as exc:
            details["error"] = ({"type": "http_error", "code": exc.status, "message": str(exc)} if exc.status
                                else {"type": "mcp_protocol_error", "code": -32603, "message": str(exc)})
            return ToolResult(output=error_text(details["error"]), details=details)
        if outcome.is_error:
            details["error"] = {"type": "mcp_tool_execution_error", "content": outcome.raw.get("content") or []}
            return ToolResult(output=error_text(details["error"]), details=details)
        details["output"] = outcome.output_text
        return ToolResult(output=outcome.output_text, details=details)

    @staticmethod
    def annotations(text: str, details: list[dict]) -> list[dict]:
        return []

    # -- the session --------------------------------------------------------------------------

    def client(self) -> McpClient:
        with self._lock:
            if self._client is None:
                self._client = self.open_client(self.url, self.headers)
            return self._client

    def abort(self) -> None:
        """Cut this server's calls in flight short (the response was cancelled or taken away)."""
        if self._client is not None:
            self._client.abort()

    def close(self) -> None:
        """End the session, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None


def error_text(error: dict) -> str:
    """Return an `mcp_call`'s error (the spec's MCPToolCallError) as the text the model reads, in the
    turn after the call and in every later request of the chain."""
    if error.get("type") == "mcp_tool_execution_error":
        return "The tool failed: " + outcome_from({"content": error.get("content") or []}).output_text
    return f"The tool could not be called: {error.get('message', '')}"


def approval_answers(own: list[dict], earlier: list[dict], labels: set[str]) -> list[tuple[dict, dict]]:
    """Return (approval request, approval response) pairs of the input; a response that answers no
    request of the chain, one answered before, or one whose server is not among the request's mcp
    tools (`labels`) is a 400."""
    requests = {item["id"]: item for item in earlier if item["type"] == "mcp_approval_request"}
    answered = {item["approval_request_id"] for item in earlier if item["type"] == "mcp_approval_response"}
    pairs = []
    for index, item in enumerate(own):
        if item["type"] != "mcp_approval_response":
            continue
        request = requests.get(item["approval_request_id"])
        if request is None or item["approval_request_id"] in answered:
            raise InvalidRequestError(
                f"No pending mcp_approval_request with id '{item['approval_request_id']}' in the response continued.",
                param=f"input[{index}].approval_request_id", code="invalid_value")
        if request["server_label"] not in labels:
            raise InvalidRequestError(
                f"The approved call is to MCP server '{request['server_label']}': give its mcp tool again in tools.",
                param="tools", code="invalid_value")
        answered.add(item["approval_request_id"])
        pairs.append((request, item))
    return pairs
