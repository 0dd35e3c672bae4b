"""What an MCP server's answers become: tools offered, and the outcome of a call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from askservice.mcp.errors import McpError


@dataclass(frozen=True)
class Tool:
    """A tool the server offers; `input_schema` is its JSON Schema for the arguments."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] | None = None
    """The server's hints (`readOnlyHint`, `destructiveHint`, ...), if it gave any."""


@dataclass(frozen=True)
class ToolOutcome:
    """A tool call's result: its content as text, whether the tool failed, and the result object."""

    output_text: str
    is_error: bool
    raw: dict[str, Any]


def tool_from(entry: Any) -> Tool:
    """Read one entry of a `tools/list` result."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise McpError("protocol", "the MCP server listed a tool without a name")
    schema = entry.get("inputSchema")
    description = entry.get("description")
    annotations = entry.get("annotations")
    return Tool(
        name=entry["name"],
        description=description if isinstance(description, str) else "",
        input_schema=schema if isinstance(schema, dict) else {"type": "object"},
        annotations=annotations if isinstance(annotations, dict) else None,
    )


def outcome_from(result: dict[str, Any]) -> ToolOutcome:
    """Read a `tools/call` result: text parts joined, other parts named, else the structured content."""
    parts = [_text(part) for part in result.get("content") or [] if isinstance(part, dict)]
    text = "\n".join(part for part in parts if part)
    if not text and result.get("structuredContent") is not None:
        text = json.dumps(result["structuredContent"], ensure_ascii=False)
    return ToolOutcome(output_text=text, is_error=result.get("isError") is True, raw=result)


def _text(part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", ""))
    if kind == "resource":
        resource = part.get("resource") or {}
        return str(resource.get("text") or f"[resource {resource.get('uri', '')}]")
    if kind == "resource_link":
        return f"[resource {part.get('uri', '')}]"
    return f"[{kind} {part.get('mimeType', '')}]".replace(" ]", "]")
