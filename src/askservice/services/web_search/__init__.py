"""The `web_search` server tool of runs and responses (the search itself is `askservice.websearch`)."""

from askservice.services.web_search.tool import WebSearchTool

__all__ = ["WebSearchTool"]
