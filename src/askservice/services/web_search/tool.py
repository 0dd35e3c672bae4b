"""The `web_search` tool: the executor offers `web_search(query)` upstream, the server searches the web.

The model calls `web_search(query)`; the tool asks the configured engine (`askservice.websearch`:
SearxNG or Brave, pages fetched through netguard and read with trafilatura) with the tool's
options (`filters.allowed_domains`, `search_context_size`, `user_location`, nested under
`web_search` as file_search's are), hands the model the pages read as numbered sources, and
records the call's details: `action` (`search`, its query, the engine's sources) and `pages`
(url and title of what the model read). The model is asked to cite a source as `[n]`;
`annotations` turns those markers into `url_citation` annotations. A search that fails is told
to the model (and recorded as `error`), never raised: the answer goes on without the web.
"""

from __future__ import annotations

import logging
from typing import Sequence

from askservice.services.engine.tools import ToolContext, ToolResult, query_argument, search_function, source_markers
from askservice.websearch import SearchFailed, SearchOutcome, WebSearch

log = logging.getLogger("askservice.web_search")
NAME = "web_search"
INSTRUCTIONS = (
    "Answer from these web pages. After a sentence that uses a page, cite it with its number in "
    "square brackets, e.g. [1]."
)


def pages_text(outcome: SearchOutcome) -> str:
    """Return the pages read as the numbered sources the model reads."""
    if not outcome.pages:
        return f"The web search for {outcome.query!r} found no page that could be read."
    parts = [INSTRUCTIONS]
    for n, page in enumerate(outcome.pages, start=1):
        parts.append(f"[{n}] {page['title']} ({page['url']}):\n{page['text']}")
    return "\n\n".join(parts)


class WebSearchTool:
    """The ServerTool (see `engine.tools`) that answers the model's web_search calls."""

    def __init__(self, web: WebSearch) -> None:
        self.web = web

    def definition(self, context: ToolContext) -> dict:
        """Offer `web_search(query)` to the upstream model."""
        return search_function(NAME, "Search the web for current information; returns the text of the best pages.",
                               "What to search for, as a search engine query.")

    def execute(self, context: ToolContext, arguments: str) -> ToolResult:
        """Search and read the first pages; return them as sources, and the call's details."""
        options = context.tool.get(NAME) or {}
        query = query_argument(arguments)
        action = {"type": "search", "query": query, "sources": []}
        try:
            outcome = self.web.run(query, allowed_domains=(options.get("filters") or {}).get("allowed_domains"),
                                   context_size=options.get("search_context_size") or "medium",
                                   user_location=options.get("user_location"))
        except SearchFailed as exc:
            log.warning("web_search for %s failed: %s", context.owner, exc)
            return ToolResult(output=f"The web search failed: {exc}", details={"action": action, "pages": [],
                                                                                "error": str(exc)})
        action["sources"] = [{"type": "url", "url": s["url"]} for s in outcome.sources]
        pages = [{"url": p["url"], "title": p["title"]} for p in outcome.pages]
        return ToolResult(output=pages_text(outcome), details={"action": action, "pages": pages})

    @staticmethod
    def annotations(text: str, details: Sequence[dict]) -> list[dict]:
        """Return the url_citation annotations of an answer: `[n]` numbers the pages of the latest search
        that read any (what the model read last)."""
        found = [call["pages"] for call in details if call.get("pages")]
        if not found:
            return []
        pages = found[-1]
        return [{"type": "url_citation", "text": text[start:end], "start_index": start, "end_index": end,
                 "url_citation": {"url": pages[n - 1]["url"], "title": pages[n - 1]["title"]}}
                for n, start, end in source_markers(text, len(pages))]
