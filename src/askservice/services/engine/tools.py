"""The seam for tools the server executes itself (file_search, web_search): what a tool must provide.

A run's `tools` may name server tools (`{"type": "file_search"}`). The executor offers each
registered one to the upstream as a function (`definition`), and when the model calls it, runs
`execute` and records the call in a `tool_calls` step as `{"id", "type": TYPE, TYPE: details}`;
the model then reads `output` and the run carries on without the client's help. Tools whose
type has no registered ServerTool (code_interpreter) are stored on the run but not offered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Protocol, Sequence

from askservice.errors import InvalidRequestError

MARKER = re.compile(r"【(\d+)(?::\d+)?†[^】]*】|\[(\d+)\]")
"""A source marker in an answer: `[n]`, or `【n†name】` as OpenAI's models write it (n counts from 1)."""


@dataclass(frozen=True)
class ToolContext:
    """What a server tool may look at: who runs it, the run, and the tool resources in scope."""

    owner: str
    run: dict
    tool: dict
    """The run's tool entry, e.g. `{"type": "file_search", "file_search": {...}}`."""
    assistant_tool_resources: dict = field(default_factory=dict)
    thread_tool_resources: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    """A server tool's answer: what the model reads, and the step details clients see."""

    output: str
    details: dict


class ServerTool(Protocol):
    """A tool the server executes during a turn (registered by tool type)."""

    def definition(self, context: ToolContext) -> dict:
        """Return the chat-completions function tool offered upstream for this run."""

    def execute(self, context: ToolContext, arguments: str) -> ToolResult:
        """Run the tool with the model's JSON `arguments`."""

    def annotations(self, text: str, details: list[dict]) -> list[dict]:
        """Return the annotations of an answer `text` that used this tool (`details`: its calls' details)."""


ENABLED_BY = {"web_search": "WEB_SEARCH_PROVIDER"}
"""The server tool types that need the operator's configuration, and the setting that enables each."""


def check_configured(server_tools: Mapping[str, ServerTool], types: Sequence[str]) -> None:
    """Raise the 400 naming `tools[i].type` of the first tool type that needs a configuration this
    server lacks (`web_search` and its dated names without a search engine)."""
    for i, kind in enumerate(types):
        kind = "web_search" if kind.startswith("web_search") else kind
        setting = ENABLED_BY.get(kind)
        if setting is not None and kind not in server_tools:
            raise InvalidRequestError(
                f"Invalid 'tools[{i}].type': the {kind} tool is not configured on this server "
                f"(its operator enables it with {setting}).", param=f"tools[{i}].type", code="unsupported_value")


def source_markers(text: str, count: int) -> Iterator[tuple[int, int, int]]:
    """Yield (n, start, end) for each marker in `text` of a source 1..`count` the tool numbered for the model."""
    for m in MARKER.finditer(text):
        n = int(m.group(1) or m.group(2))
        if 1 <= n <= count:
            yield n, m.start(), m.end()


def search_function(name: str, description: str, query: str) -> dict:
    """Return the chat-completions tool `name(query)` of a search tool (`query`: what the argument holds)."""
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": query}},
                       "required": ["query"]},
    }}


def query_argument(arguments: str) -> str:
    """Return the `query` of a search tool call's JSON arguments (the raw arguments when they are not JSON)."""
    try:
        return str(json.loads(arguments or "{}").get("query") or "")
    except (ValueError, AttributeError):
        return arguments or ""
