"""The web_search edge: a search engine, a guarded page fetcher and text extraction, in one call.

    web = open_websearch(settings)          # None when WEB_SEARCH_PROVIDER=none
    outcome = web.run("query", allowed_domains=["python.org"], context_size="medium",
                      user_location={"type": "approximate", "country": "DE"})
    outcome.sources   # [{"url", "title"}]: every result of the engine, in its order
    outcome.pages     # [{"url", "title", "text"}]: the first results, fetched and read
    outcome.skipped   # [{"url", "reason"}]: results that were not read (refused, failed, too slow)

`context_size` sets how many pages are read and how much text each gives (`CONTEXT_SIZES`), never
more than `WEB_FETCH_MAX_PAGES` pages; pages are fetched concurrently, and the whole call ends by
`WEB_SEARCH_TIMEOUT` (each page by `WEB_FETCH_TIMEOUT`). `run` raises `SearchFailed` when the
engine fails and ValueError for an unknown `context_size`; a page that fails is only `skipped`.
Reading a page's text is CPU work (a 2 MB page takes seconds): it runs on the gevent hub's
thread pool, so the worker's other greenlets (leases, streams) go on meanwhile; `open_websearch`
reads a small page once, so that no request pays for the extractor's first use.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import gevent

from askservice.config import Settings
from askservice.netguard import Blocked
from askservice.websearch.backends import Backend, Brave, Result, SearchFailed, SearxNG, domain
from askservice.websearch.extract import page_text
from askservice.websearch.fetch import Fetcher, Refused

__all__ = ["CONTEXT_SIZES", "SearchFailed", "SearchOutcome", "WebSearch", "open_websearch"]

CONTEXT_SIZES = {"low": (2, 3_000), "medium": (4, 6_000), "high": (8, 12_000)}  # pages, characters per page
SOURCES = 10  # results asked of the engine (shown as sources); the first few are read
WARM_UP = b"<html><head><title>t</title></head><body><article><p>" + b"A sentence of text. " * 20 + b"</p></article></body></html>"


@dataclass(frozen=True)
class SearchOutcome:
    """What one search gave: the engine's results and the text of the pages read."""

    query: str
    sources: list[dict] = field(default_factory=list)
    pages: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


class WebSearch:
    """One search engine and one fetcher, bounded per call in pages and time."""

    def __init__(self, backend: Backend, fetcher: Fetcher, *, max_pages: int, timeout: float):
        self._backend = backend
        self._fetcher = fetcher
        self._max_pages = max_pages
        self._timeout = timeout

    def run(
        self, query: str, *, allowed_domains: list[str] | None = None, context_size: str = "medium",
        user_location: dict | None = None,
    ) -> SearchOutcome:
        """Search, then read the first results; see the module docstring."""
        if context_size not in CONTEXT_SIZES:
            raise ValueError(f"context_size must be one of {', '.join(CONTEXT_SIZES)}, not {context_size!r}")
        deadline = time.monotonic() + self._timeout
        pages_wanted, chars = CONTEXT_SIZES[context_size]
        domains = tuple(dict.fromkeys(d for d in map(domain, allowed_domains or ()) if d))
        results = self._backend.search(query, max(SOURCES, pages_wanted), domains, user_location)
        sources = [{"url": r.url, "title": r.title} for r in results]
        chosen = results[: min(pages_wanted, self._max_pages)]
        if not chosen:
            return SearchOutcome(query, sources)
        read = self._read_all(chosen, chars, deadline)
        pages = [page for page in read if "text" in page]
        skipped = [page for page in read if "reason" in page]
        return SearchOutcome(query, sources, pages, skipped)

    def _read_all(self, results: list[Result], chars: int, deadline: float) -> list[dict]:
        """Read `results` concurrently; a page not done by `deadline` is skipped (its fetch ends by it)."""
        pool = ThreadPoolExecutor(max_workers=len(results))
        futures = [pool.submit(self._read, result, chars, deadline) for result in results]
        wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        pool.shutdown(wait=False, cancel_futures=True)
        return [f.result() if f.done() else {"url": r.url, "reason": "the search's time ran out"}
                for f, r in zip(futures, results)]

    def _read(self, result: Result, chars: int, deadline: float) -> dict:
        """One result as {"url", "title", "text"}, or {"url", "reason"} when it is not read."""
        try:
            page = self._fetcher.fetch(result.url, deadline)
        except (Blocked, Refused) as exc:
            return {"url": result.url, "reason": str(exc)}
        title, text = gevent.get_hub().threadpool.apply(page_text, (page.body, page.content_type, page.charset,
                                                                     page.url, chars))
        if not text:
            return {"url": result.url, "reason": "no text on the page"}
        return {"url": page.url, "title": title or result.title, "text": text}


def open_websearch(settings: Settings) -> WebSearch | None:
    """Build the configured web search, or None when WEB_SEARCH_PROVIDER is none."""
    if settings.web_search_provider == "none":
        return None
    per_request = settings.web_fetch_timeout
    if settings.web_search_provider == "brave":
        backend: Backend = Brave(settings.web_search_api_key or "", per_request, settings.web_search_url)
    else:
        backend = SearxNG(settings.web_search_url or "", per_request)
    fetcher = Fetcher(settings.web_fetch_allow, max_bytes=settings.web_fetch_max_bytes,
                      timeout=per_request)
    page_text(WARM_UP, "text/html", "utf-8", "http://localhost/", 100)
    return WebSearch(backend, fetcher, max_pages=settings.web_fetch_max_pages, timeout=settings.web_search_timeout)
