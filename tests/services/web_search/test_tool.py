"""WebSearchTool (services/web_search/tool.py) on a real WebSearch: a local SearxNG-shaped engine and pages."""

from __future__ import annotations

from askservice.config import Settings
from askservice.netguard import Allowed
from askservice.services.engine.tools import ToolContext
from askservice.services.web_search import WebSearchTool
from askservice.websearch import open_websearch

PAGE = ("<html><head><title>Lighthouse {n}</title></head><body><article><p>"
        + "The lighthouse number {n} stands on the northern cape and guides ships past the reef. " * 6
        + "</p></article></body></html>")


def tool_on(site) -> WebSearchTool:
    return WebSearchTool(open_websearch(Settings(web_search_provider="searxng", web_search_url=site.url(""),
                                                 web_fetch_allow=Allowed.parse("127.0.0.1/32"))))


def context(**options) -> ToolContext:
    return ToolContext(owner="client-a", run={}, tool={"type": "web_search", "web_search": options})


def test_pages_read_become_numbered_sources_and_citations(web_site):
    urls = [web_site.page(f"/light{n}", PAGE.format(n=n)) for n in (1, 2)]
    web_site.json("/search", {"results": [{"url": u, "title": f"hit {n}", "content": "s"} for n, u in enumerate(urls, 1)]})
    result = tool_on(web_site).execute(context(search_context_size="low"), '{"query": "lighthouse"}')

    assert result.output.index("[1] Lighthouse 1") < result.output.index("[2] Lighthouse 2")
    assert result.details["action"] == {"type": "search", "query": "lighthouse",
                                        "sources": [{"type": "url", "url": u} for u in urls]}
    assert result.details["pages"] == [{"url": urls[0], "title": "Lighthouse 1"}, {"url": urls[1], "title": "Lighthouse 2"}]
    text = "North [2], south [1], nowhere [3]."
    annotations = WebSearchTool.annotations(text, [result.details])
    assert [(a["url_citation"]["url"], text[a["start_index"]:a["end_index"]]) for a in annotations] == [
        (urls[1], "[2]"), (urls[0], "[1]")]  # [3] names no page read


def test_a_failing_engine_is_told_to_the_model(web_site):
    web_site.json("/search", {"error": "down"}, status=503)
    result = tool_on(web_site).execute(context(), "not json at all")

    assert result.output.startswith("The web search failed")
    assert result.details["action"] == {"type": "search", "query": "not json at all", "sources": []}
    assert result.details["error"] and WebSearchTool.annotations("See [1].", [result.details]) == []
