import pytest

from askservice.websearch.backends import Brave, Result, SearchFailed, SearxNG, domain, in_domains

KEY = "brave-secret-key-123"


def searx_results(*urls):
    return {"query": "q", "results": [{"url": u, "title": f"<b>T</b> {i}", "content": f"snippet {i}", "engine": "x"}
                                      for i, u in enumerate(urls)]}


def brave_results(*urls):
    return {"type": "search", "web": {"type": "search", "results": [
        {"url": u, "title": f"T {i}", "description": f"the <strong>snippet</strong> {i}"} for i, u in enumerate(urls)]}}


def test_searxng_is_asked_for_json_and_cut_to_count(engine):
    engine.json("/search", searx_results(*(f"https://site{i}.example/p" for i in range(8))))
    results = SearxNG(engine.url(""), 5).search("baltic ferries", 3)
    assert results == [Result(f"https://site{i}.example/p", f"T {i}", f"snippet {i}") for i in range(3)]
    assert engine.seen[0].path == "/search"
    assert engine.seen[0].query["q"] == ["baltic ferries"] and engine.seen[0].query["format"] == ["json"]
    assert "cookie" not in engine.seen[0].headers


def test_searxng_gets_site_terms_and_results_outside_the_domains_are_dropped(engine):
    engine.json("/search", searx_results("https://docs.python.org/3/", "https://evil.example/python.org",
                                         "https://python.org.evil.example/", "https://python.org/about", "ftp://python.org/x"))
    results = SearxNG(engine.url(""), 5).search("asyncio", 10, ("python.org", "peps.python.org"))
    assert [r.url for r in results] == ["https://docs.python.org/3/", "https://python.org/about"]
    assert engine.seen[0].query["q"] == ["asyncio (site:python.org OR site:peps.python.org)"]


def test_brave_sends_key_count_country_and_site(engine):
    engine.json("/res/v1/web/search", brave_results("https://a.example/1", "https://b.example/2", "https://a.example/3"))
    results = Brave(KEY, 5, engine.url("")).search("tides", 2, ("a.example",), {"type": "approximate", "country": "de"})
    assert results == [Result("https://a.example/1", "T 0", "the snippet 0"), Result("https://a.example/3", "T 2", "the snippet 2")]
    seen = engine.seen[0]
    assert seen.headers["x-subscription-token"] == KEY and seen.headers["accept"] == "application/json"
    assert seen.query == {"q": ["tides site:a.example"], "count": ["2"], "country": ["DE"]}


def test_brave_count_is_at_most_its_limit(engine):
    engine.json("/res/v1/web/search", brave_results())
    assert Brave(KEY, 5, engine.url("")).search("x", 50) == []
    assert engine.seen[0].query["count"] == ["20"]


@pytest.mark.parametrize("status, body, why", [
    (500, {"error": "down"}, "HTTP 500"),
    (401, {"error": "bad key"}, "HTTP 401"),
    (200, ["not", "an", "object"], "not an object"),
])
def test_engine_failures_are_search_failed_without_the_key(engine, status, body, why):
    engine.json("/res/v1/web/search", body, status)
    with pytest.raises(SearchFailed, match=why) as caught:
        Brave(KEY, 5, engine.url("")).search("x", 5)
    assert KEY not in str(caught.value)


def test_an_answer_that_is_not_json_or_an_engine_that_is_down_fails(engine):
    engine.page("/search", "<html>SearxNG: json format is not enabled</html>")
    with pytest.raises(SearchFailed, match="other than JSON"):
        SearxNG(engine.url(""), 5).search("x", 5)
    engine.close()
    with pytest.raises(SearchFailed, match="unreachable"):
        SearxNG(engine.url(""), 1).search("x", 5)


def test_a_slow_engine_fails_at_its_time_out(engine):
    engine.page("/search", "{}", "application/json", delay=3)
    with pytest.raises(SearchFailed, match="unreachable"):
        SearxNG(engine.url(""), 0.3).search("x", 5)


def test_malformed_hits_are_skipped(engine):
    engine.json("/search", {"results": [None, {"url": 5}, {"url": "https://ok.example/", "title": None}, "x"]})
    assert SearxNG(engine.url(""), 5).search("x", 5) == [Result("https://ok.example/", "", "")]
    engine.json("/search", {"results": {"not": "a list"}})
    assert SearxNG(engine.url(""), 5).search("x", 5) == []


def test_domains_are_normalised_and_matched_with_subdomains():
    assert [domain(d) for d in ("https://WWW.Python.org/doc", "python.org.", " docs.python.org ", "")] == [
        "python.org", "python.org", "docs.python.org", ""]
    assert in_domains("https://a.b.python.org/x", ("python.org",)) and not in_domains("https://notpython.org/", ("python.org",))
    assert in_domains("https://anything.example/", ())
