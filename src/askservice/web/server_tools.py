"""Server tools that only some servers execute: asking for one this server lacks is a 400 naming it."""

from __future__ import annotations

from typing import Sequence

from askservice.errors import InvalidRequestError
from askservice.web.context import services
from askservice.web.schemas.assistants import Tool

ENABLED_BY = {"web_search": "WEB_SEARCH_PROVIDER"}
"""The tool types that need the operator's configuration, and the setting that enables each."""


def require_configured(tools: Sequence[Tool] | None) -> None:
    """Raise a 400 for the first tool of `tools` whose type needs a configuration this server does not have."""
    for i, tool in enumerate(tools or ()):
        setting = ENABLED_BY.get(tool.type)
        if setting is not None and not services().runs.executes(tool.type):
            raise InvalidRequestError(
                f"Invalid 'tools[{i}].type': the {tool.type} tool is not configured on this server "
                f"(its operator enables it with {setting}).",
                param=f"tools[{i}].type", code="unsupported_value",
            )
