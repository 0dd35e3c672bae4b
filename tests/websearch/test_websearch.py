import time

import pytest

from askservice.config import Settings
from askservice.netguard import Allowed
from askservice.websearch import SearchFailed, open_websearch
from tests.websearch.test_extract import ARTICLE

KEY = "brave-secret-key-123"


def searxng(engine, **overrides):
    return open_websearch(Settings(web_search_provider="searxng", web_search_url=engine.url(""),
                                   web_fetch_allow=Allowed.parse("127.0.0.1"), **overrides))


def hits(*urls):
    return {"results": [{"url": u, "title": f"Hit {i}", "content": "s"} for i, u in enumerate(urls)]}


def test_no_provider_means_no_web_search():
    assert open_websearch(Settings()) is None


def test_a_search_reads_the_first_results_as_clean_text(engine, site):
    article, notes = site.page("/ferries", ARTICLE), site.page("/notes.txt", "Tide tables: high water 06:12.", "text/plain")
    engine.json("/search", hits(article, notes, site.url("/third")))
    outcome = searxng(engine).run("baltic ferries", context_size="low")
    assert outcome.query == "baltic ferries"
    assert outcome.sources == [{"url": article, "title": "Hit 0"}, {"url": notes, "title": "Hit 1"},
                               {"url": site.url("/third"), "title": "Hit 2"}]
    (first, second), skipped = outcome.pages, outcome.skipped
    assert first["url"] == article and "Ferries of the Baltic" in first["title"]
    assert "night ferry from Tallinn" in first["text"] and "Copyright" not in first["text"]
    assert second == {"url": notes, "title": "Hit 1", "text": "Tide tables: high water 06:12."}
    assert skipped == [] and sorted(site.paths()) == ["/ferries", "/notes.txt"]  # low: two pages read


def test_the_same_call_through_brave(engine, site):
    page = site.page("/a", ARTICLE)
    engine.json("/res/v1/web/search", {"web": {"results": [{"url": page, "title": "A", "description": "d"}]}})
    web = open_websearch(Settings(web_search_provider="brave", web_search_api_key=KEY, web_search_url=engine.url(""),
                                  web_fetch_allow=Allowed.parse("127.0.0.1")))
    outcome = web.run("ferries", allowed_domains=["127.0.0.1"], user_location={"country": "SE"})
    assert [p["url"] for p in outcome.pages] == [page]
    assert engine.seen[0].query == {"q": ["ferries site:127.0.0.1"], "count": ["10"], "country": ["SE"]}


def test_allowed_domains_filter_what_the_engine_returns(engine, site):
    engine.json("/search", hits("https://elsewhere.example/", site.page("/a", ARTICLE)))
    outcome = searxng(engine).run("q", allowed_domains=["https://127.0.0.1/"])
    assert [s["url"] for s in outcome.sources] == [site.url("/a")]
    assert engine.seen[0].query["q"] == ["q site:127.0.0.1"]


def test_refused_and_failed_pages_are_skipped_with_a_reason(engine, site):
    good = site.page("/good", ARTICLE)
    engine.json("/search", hits("http://169.254.169.254/latest/meta-data/", site.redirect("/hop", "http://10.0.0.7/"),
                                site.page("/doc.pdf", b"%PDF", "application/pdf"), good))
    outcome = searxng(engine).run("q", context_size="medium")
    assert [p["url"] for p in outcome.pages] == [good]
    reasons = [s["reason"] for s in outcome.skipped]
    assert "169.254.169.254 resolves to" in reasons[0] and "10.0.0.7 resolves to" in reasons[1]
    assert "application/pdf" in reasons[2]


def test_pages_read_per_call_are_capped(engine, site):
    engine.json("/search", hits(*(site.page(f"/p{i}", ARTICLE) for i in range(10))))
    outcome = searxng(engine, web_fetch_max_pages=3).run("q", context_size="high")
    assert len(outcome.sources) == 10 and len(outcome.pages) == 3 and len(site.seen) == 3


def test_the_text_per_page_follows_the_context_size(engine, site):
    engine.json("/search", hits(site.page("/long", "Long text. " * 5000, "text/plain")))
    web = searxng(engine)
    sizes = [len(web.run("q", context_size=size).pages[0]["text"]) for size in ("low", "medium", "high")]
    assert 2900 < sizes[0] <= 3000 and 5900 < sizes[1] <= 6000 and 11900 < sizes[2] <= 12000


def test_the_call_ends_by_its_time_cap_even_when_pages_are_slow(engine, site):
    fast = site.page("/fast", ARTICLE)
    engine.json("/search", hits(fast, site.page("/slow1", ARTICLE, delay=5), site.page("/slow2", ARTICLE, delay=5)))
    started = time.monotonic()
    outcome = searxng(engine, web_search_timeout=1.0).run("q")
    assert time.monotonic() - started < 2.0
    assert [p["url"] for p in outcome.pages] == [fast]
    assert len(outcome.skipped) == 2


def test_an_engine_failure_is_search_failed_and_a_bad_size_a_value_error(engine):
    engine.json("/search", {"error": "x"}, 503)
    with pytest.raises(SearchFailed, match="HTTP 503"):
        searxng(engine).run("q")
    with pytest.raises(ValueError, match="context_size"):
        searxng(engine).run("q", context_size="huge")


def test_no_results_means_no_pages(engine):
    engine.json("/search", hits())
    outcome = searxng(engine).run("nothing")
    assert (outcome.sources, outcome.pages, outcome.skipped) == ([], [], [])


def test_reading_a_large_page_leaves_the_worker_free(engine, site):
    """Extraction runs on the hub's thread pool: a greenlet ticking meanwhile is never held up for long."""
    import gevent

    block = "<div><p>Some paragraph text with words and more words in it.</p><a href='/x'>link</a></div>"
    big = site.page("/big", "<html><body>" + block * 6000 + "</body></html>")
    engine.json("/search", hits(big))
    web = searxng(engine, web_search_timeout=60, web_fetch_timeout=60)
    ticks = []

    def tick():
        while True:
            ticks.append(time.perf_counter())
            gevent.sleep(0.005)

    ticker = gevent.spawn(tick)
    started = time.perf_counter()
    outcome = web.run("words", context_size="low")
    took = time.perf_counter() - started
    ticker.kill()
    assert outcome.pages and took > 0.2, took  # the page took real CPU to read
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert gaps and max(gaps) < took / 4, (gaps[-3:], took)  # blocked, it would tick once, at the start
