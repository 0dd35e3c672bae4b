"""Server tools that only some servers execute: asking for one this server lacks is a 400 naming it."""

from __future__ import annotations

from typing import Sequence

from askservice.web.context import services
from askservice.web.schemas.assistants import Tool


def require_configured(tools: Sequence[Tool] | None) -> None:
    """Raise a 400 for the first tool of an assistant or run whose type this server is not configured for."""
    services().runs.check_tools([tool.type for tool in tools or ()])
