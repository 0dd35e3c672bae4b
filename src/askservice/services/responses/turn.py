"""From a create's parameters to the engine's TurnContext: the chat request, fitted to the model's context.

What a response sends upstream: `instructions` as the system message, the items as chat
messages (truncated to `MODEL_CONTEXT_TOKENS` less `max_output_tokens`: `auto` drops the oldest,
`disabled` is the 400 `context_length_exceeded`), function tools and the server tools offered as
functions (file_search, web_search; an `mcp` tool's functions are added once its tools are listed,
see mcp.py), `text.format` as `response_format`, and the parameters passed as they are.
"""

from __future__ import annotations

import json
from typing import Callable, Mapping

from askservice import netguard
from askservice.config import Settings
from askservice.errors import InvalidRequestError
from askservice.mcp import McpClient
from askservice.services.engine.context import OfferedTool, TurnContext
from askservice.services.engine.prompt import fit
from askservice.services.engine.tokenizer import count_tokens
from askservice.services.engine.tools import ServerTool, ToolContext, check_configured
from askservice.services.responses.items import message_text
from askservice.services.responses.mcp import McpServer, function_name
from askservice.services.responses.records import PENALTIES

LOGPROBS = "message.output_text.logprobs"
SEARCH_RESULTS = "file_search_call.results"
WEB_SOURCES = "web_search_call.action.sources"
WEB_SEARCH_OPTIONS = ("filters", "search_context_size", "user_location")


class TurnBuilder:
    """Build a response's turn: its context window, its tools (server tools' stores checked)."""

    def __init__(self, settings: Settings, server_tools: Mapping[str, ServerTool],
                 check_vector_store: Callable[[str, str, str], None]):
        self.settings = settings
        self.tools = dict(server_tools)
        self.check_vector_store = check_vector_store

    def head(self, params: dict) -> list[dict]:
        """Return the system message of `instructions`, if any."""
        return [{"role": "system", "content": params["instructions"]}] if params.get("instructions") else []

    def context(self, owner: str, params: dict, messages: list[dict]) -> TurnContext:
        """Return the turn to send: the chat request of `params`, its history fitted to the model's context."""
        budget = self.settings.model_context_tokens - (params.get("max_output_tokens") or 0)
        head = self.head(params)
        if len(message_text(head + messages).encode()) > budget:  # a token is at least a byte: else it fits
            fitted = fit(head, messages[:-1], messages[-1:], budget, measure=tokens)
            if fitted is None or (params.get("truncation") != "auto" and len(fitted) < len(messages) - 1):
                raise self.too_long(params)
            messages = fitted + messages[-1:]
        tools, choice = chat_tools(params.get("tools") or [], params.get("tool_choice"))
        server = self.server_tools(owner, params)
        return TurnContext(
            owner=owner, model=params["model"], instructions=params.get("instructions"), history=messages,
            temperature=params.get("temperature"), top_p=params.get("top_p"),
            response_format=response_format((params.get("text") or {}).get("format")),
            completion_budget=params.get("max_output_tokens"),
            tools=tools + [offered.tool.definition(offered.context) for offered in server.values()],
            server_tools=server, tool_choice=choice if tools or server or mcp_tools(params) else None,
            parallel_tool_calls=params.get("parallel_tool_calls") is not False, options=options(params),
        )

    def server_tools(self, owner: str, params: dict) -> dict[str, OfferedTool]:
        """Return the server tools the request offers, by function name (their stores checked first)."""
        offered = {}
        check_configured(self.tools, [tool["type"] for tool in params.get("tools") or []])
        for index, tool in enumerate(params.get("tools") or []):
            if tool["type"].startswith("web_search"):
                server_tool = self.tools["web_search"]
                context = ToolContext(owner=owner, run={}, tool={"type": "web_search", "web_search": {
                    k: tool[k] for k in WEB_SEARCH_OPTIONS if tool.get(k) is not None}})
                offered[server_tool.definition(context)["function"]["name"]] = OfferedTool("web_search", server_tool, context)
            if tool["type"] != "file_search":
                continue
            for n, vs_id in enumerate(tool["vector_store_ids"]):
                self.check_vector_store(owner, vs_id, f"tools[{index}].vector_store_ids[{n}]")
            options = {k: tool[k] for k in ("max_num_results", "ranking_options", "filters") if k in tool}
            context = ToolContext(owner=owner, run={}, tool={"type": "file_search", "file_search": options},
                                  assistant_tool_resources={"file_search": {"vector_store_ids": tool["vector_store_ids"]}})
            server_tool = self.tools["file_search"]
            offered[server_tool.definition(context)["function"]["name"]] = OfferedTool("file_search", server_tool, context)
        return offered

    def mcp_servers(self, params: dict, earlier: list[dict]) -> list[McpServer]:
        """Return the request's MCP servers (their URLs checked; their tools taken from the chain's
        latest `mcp_list_tools` item of the same label, when there is one)."""
        servers = []
        for index, tool in mcp_tools(params):
            try:
                netguard.check_url(tool["server_url"], self.settings.mcp_allow)
            except netguard.Blocked as exc:
                raise InvalidRequestError(f"The MCP server may not be reached: {exc}", param=f"tools[{index}].server_url",
                                          code="invalid_value") from None
            server = McpServer(tool["server_label"], tool["server_url"], (params.get("mcp_headers") or {}).get(
                tool["server_label"], {}), tool.get("allowed_tools"), tool.get("require_approval") or "always",
                self.open_mcp)
            listed = [item for item in earlier if item["type"] == "mcp_list_tools"
                      and item["server_label"] == server.label and not item.get("error")]
            if listed:
                server.reuse(listed[-1])
            servers.append(server)
        return servers

    def open_mcp(self, url: str, headers: dict[str, str]) -> McpClient:
        return McpClient(url, headers, self.settings.mcp_timeout, self.settings.mcp_allow)

    def keep(self) -> tuple[Callable[[list[dict]], bool], Callable[[], bool]]:
        """Return `keep` (read older items of a conversation while those read hold less JSON than 8 bytes
        a token of the context window: the oldest beyond could never fit) and `cut()` (whether it stopped
        before the oldest item). So a response reads a bounded number of pages of any conversation."""
        budget = 8 * self.settings.model_context_tokens
        read = {"items": 0, "bytes": 0, "stopped": False}

        def keep(items: list[dict]) -> bool:
            new = len(items) - read["items"]  # the older page just read leads the list
            read["bytes"] += sum(len(json.dumps(item)) for item in items[:new])
            read["items"] = len(items)
            read["stopped"] = read["bytes"] >= budget
            return not read["stopped"]

        return keep, lambda: read["stopped"]

    def too_long(self, params: dict) -> InvalidRequestError:
        """Return the 400 of an input that does not fit the context window."""
        return InvalidRequestError(
            f"The input exceeds the model's context window of {self.settings.model_context_tokens} tokens"
            + (" (less max_output_tokens)" if params.get("max_output_tokens") else "")
            + (". Set truncation to 'auto' to drop the oldest items." if params.get("truncation") != "auto" else "."),
            param="input", code="context_length_exceeded",
        )


def tokens(message: dict) -> int:
    return count_tokens(message_text([message]))


def compact_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def mcp_tools(params: dict) -> list[tuple[int, dict]]:
    """Return the request's `mcp` tools with their indexes."""
    return [(index, tool) for index, tool in enumerate(params.get("tools") or []) if tool["type"] == "mcp"]


def chat_tools(tools: list[dict], choice) -> tuple[list[dict], str | dict | None]:
    """Return the function tools and the tool choice in chat-completions form (a server tool's
    choice, `{"type": "file_search"}`, is left for the executor to name; an MCP tool's names its
    function, or any call when it names no tool)."""
    tools = [t for t in tools if t["type"] == "function"]
    if isinstance(choice, dict) and choice.get("type", "").startswith("web_search"):
        choice = {"type": "web_search"}
    elif isinstance(choice, dict) and choice.get("type") == "mcp":
        choice = {"type": "function", "function": {"name": function_name(choice["server_label"], choice["name"])}} \
            if choice.get("name") else "required"
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = {t.get("name") for t in choice.get("tools") or []}
        tools = [t for t in tools if t["name"] in allowed]
        choice = choice.get("mode") or "auto"
    elif isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice["name"]}}
    chat = [{"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters", "strict")
                                              if t.get(k) is not None}} for t in tools]
    return chat, choice


def response_format(fmt: dict | None) -> dict | None:
    if not fmt or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    schema = {k: fmt[k] for k in ("name", "description", "schema", "strict") if fmt.get(k) is not None}
    return {"type": "json_schema", "json_schema": schema}


def options(params: dict) -> dict:
    """Return the chat-completions parameters that pass through as they are."""
    options = {}
    effort = (params.get("reasoning") or {}).get("effort")
    if effort:
        options["reasoning_effort"] = effort
    if LOGPROBS in (params.get("include") or ()):
        options["logprobs"] = True
        if params.get("top_logprobs"):
            options["top_logprobs"] = params["top_logprobs"]
    for name in PENALTIES:
        if params.get(name) is not None:
            options[name] = params[name]
    user = params.get("safety_identifier") or params.get("user")
    if user:
        options["user"] = user
    return options
