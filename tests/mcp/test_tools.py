"""Tools and tool outcomes read from an MCP server's results."""

import pytest

from askservice.mcp import McpError, Tool
from askservice.mcp.tools import outcome_from, tool_from


def test_a_tool_entry_without_a_schema_takes_an_object():
    assert tool_from({"name": "t"}) == Tool("t", "", {"type": "object"})
    with pytest.raises(McpError, match="without a name"):
        tool_from({"description": "nameless"})


def test_text_parts_are_joined_and_other_parts_named():
    outcome = outcome_from({"content": [
        {"type": "text", "text": "first"},
        {"type": "image", "data": "AAAA", "mimeType": "image/png"},
        {"type": "resource", "resource": {"uri": "file:///a", "text": "inline"}},
        {"type": "resource", "resource": {"uri": "file:///b", "blob": "AAAA"}},
        {"type": "resource_link", "uri": "file:///c", "name": "c"},
        {"type": "audio"},
    ]})
    assert outcome.output_text == "first\n[image image/png]\ninline\n[resource file:///b]\n[resource file:///c]\n[audio]"
    assert outcome.is_error is False


def test_structured_content_stands_in_for_missing_text():
    outcome = outcome_from({"content": [], "structuredContent": {"temperature": 21}, "isError": True})
    assert (outcome.output_text, outcome.is_error) == ('{"temperature": 21}', True)
