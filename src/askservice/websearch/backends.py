"""Search engines behind one interface: `search(query, count, allowed_domains, user_location)`.

`SearxNG` asks a self-hosted instance's JSON API (`GET /search?q=...&format=json`; the instance
must list `json` under `search.formats`). `Brave` asks the Brave Search API (`GET
/res/v1/web/search`, key in `X-Subscription-Token`): an independent index with a plain REST API,
a free tier, `site:` and `country` honoured, up to 20 results per call (Bing's API was retired in
2025; Google's Programmable Search needs an engine id and returns 10). Both put allowed domains
into the query as `site:` terms and filter the answer again, so a result outside them never
passes. The engine is configured by the operator (`WEB_SEARCH_URL`), so it is called directly,
not through netguard; the pages it names are fetched through `fetch.Fetcher`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import urllib3

from askservice.websearch.extract import plain

BRAVE_URL = "https://api.search.brave.com"
BRAVE_MAX_COUNT = 20
RESPONSE_LIMIT = 4 * 1024 * 1024


class SearchFailed(Exception):
    """The search engine did not answer usefully; the message says how (never the key)."""


@dataclass(frozen=True)
class Result:
    """One hit: the page's URL, its title and the engine's snippet (plain text)."""

    url: str
    title: str
    snippet: str


class Backend(Protocol):
    """What every search engine offers."""

    def search(
        self, query: str, count: int, allowed_domains: tuple[str, ...] = (), user_location: dict | None = None
    ) -> list[Result]:
        """Return at most `count` results for `query`, only from `allowed_domains` when given."""


def domain(entry: str) -> str:
    """Normalise an allowed-domain entry (`https://Docs.Example.com/x` -> `docs.example.com`)."""
    entry = entry.strip().lower()
    host = urlsplit(entry if "//" in entry else "//" + entry).hostname or ""
    return host.removeprefix("www.").rstrip(".")


def in_domains(url: str, domains: tuple[str, ...]) -> bool:
    """Tell whether `url` is on one of `domains` or a subdomain of one (any URL when none)."""
    if not domains:
        return True
    host = (urlsplit(url).hostname or "").rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def with_sites(query: str, domains: tuple[str, ...]) -> str:
    """Append `site:` terms for `domains` to `query` (`(site:a OR site:b)` for several)."""
    if not domains:
        return query
    sites = " OR ".join(f"site:{d}" for d in domains)
    return f"{query} ({sites})" if len(domains) > 1 else f"{query} {sites}"


class _JsonEngine:
    """An engine answering JSON over HTTP(S): one pool, no cookies, no retries, a time-out."""

    name = "search engine"

    def __init__(self, base_url: str, timeout: float, headers: dict[str, str] | None = None):
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._pool = urllib3.PoolManager(headers={"Accept": "application/json", **(headers or {})}, retries=False)

    def _get(self, path: str, params: dict[str, str | int]) -> dict:
        try:
            response = self._pool.request(
                "GET", self._base + path, fields=params, timeout=self._timeout, preload_content=False
            )
            body = response.read(RESPONSE_LIMIT + 1)
            response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise SearchFailed(f"{self.name} unreachable: {type(exc).__name__}") from None
        if response.status != 200:
            raise SearchFailed(f"{self.name} answered HTTP {response.status}")
        if len(body) > RESPONSE_LIMIT:
            raise SearchFailed(f"{self.name} answered more than {RESPONSE_LIMIT} bytes")
        try:
            data = json.loads(body)
        except ValueError:
            raise SearchFailed(f"{self.name} answered something other than JSON") from None
        if not isinstance(data, dict):
            raise SearchFailed(f"{self.name} answered JSON that is not an object")
        return data


def _results(items: object, text_key: str, count: int, domains: tuple[str, ...]) -> list[Result]:
    """Turn an engine's list of hits into Results: http(s) URLs only, in domains, at most `count`."""
    found: list[Result] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not in_domains(url, domains):
            continue
        title, snippet = item.get("title"), item.get(text_key)
        found.append(Result(url, plain(title if isinstance(title, str) else ""),
                            plain(snippet if isinstance(snippet, str) else "")))
        if len(found) == count:
            break
    return found


class SearxNG(_JsonEngine):
    """A SearxNG instance (`WEB_SEARCH_URL`). It has no count or country parameter: results are cut
    to `count`, and `user_location` is not passed on."""

    name = "SearxNG"

    def search(self, query, count, allowed_domains=(), user_location=None):
        data = self._get("/search", {"q": with_sites(query, allowed_domains), "format": "json", "safesearch": 1})
        return _results(data.get("results"), "content", count, allowed_domains)


class Brave(_JsonEngine):
    """The Brave Search API (`WEB_SEARCH_API_KEY`; `WEB_SEARCH_URL` overrides its address)."""

    name = "Brave Search"

    def __init__(self, api_key: str, timeout: float, base_url: str | None = None):
        super().__init__(base_url or BRAVE_URL, timeout, {"X-Subscription-Token": api_key})

    def search(self, query, count, allowed_domains=(), user_location=None):
        params: dict[str, str | int] = {"q": with_sites(query, allowed_domains), "count": min(count, BRAVE_MAX_COUNT)}
        country = (user_location or {}).get("country")
        if isinstance(country, str) and len(country) == 2:
            params["country"] = country.upper()
        data = self._get("/res/v1/web/search", params)
        web = data.get("web")
        return _results(web.get("results") if isinstance(web, dict) else None, "description", count, allowed_domains)
