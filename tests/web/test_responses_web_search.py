"""The web_search tool of responses, end to end: the official SDK, gunicorn+gevent on both backends,
the scripted upstream, and a local SearxNG-shaped engine with local pages (`web_site`)."""

from __future__ import annotations

import openai
import pytest

from askservice import create_app

from tests.schema import assert_schema, assert_stream_event
from tests.web.run_support import read_sse
from tests.web.support import api, sdk_on

ARTICLE = """<html><head><title>Tides of Varuna</title></head><body><article>
<h1>Tides of Varuna</h1>
<p>The harbour of Varuna has the highest tides on the coast: the spring tide rises 14.2 metres,
as measured by the port authority in its yearly survey of the basin and the outer moorings.</p>
<p>Fishing boats leave two hours before high water and come back on the ebb, a rhythm kept for centuries.</p>
</article></body></html>"""


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


def engine_answers(web_site, *urls: str) -> None:
    """Script the SearxNG-shaped engine to answer these result URLs (with titles and snippets)."""
    web_site.json("/search", {"results": [{"url": url, "title": f"Result {n}", "content": "snippet"}
                                           for n, url in enumerate(urls, start=1)]})


def test_a_search_is_read_and_cited(sdk, upstream, web_site, runs_short_service):
    page = web_site.page("/varuna", ARTICLE)
    engine_answers(web_site, page)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "varuna tides"}}]},
                    {"content": "The spring tide rises 14.2 metres [1]."}, match=marker)
    response = sdk.responses.create(model="m", input=f"How high are the tides at Varuna? {marker}",
                                    tools=[{"type": "web_search", "search_context_size": "low"}],
                                    include=["web_search_call.action.sources"])

    assert response.status == "completed", response.error
    call, message = response.output
    assert (call.type, call.status, call.action.type, call.action.query) == ("web_search_call", "completed", "search",
                                                                            "varuna tides")
    assert [s.url for s in call.action.sources] == [page]
    text = message.content[0].text
    (citation,) = message.content[0].annotations
    assert (citation.type, citation.url, citation.title) == ("url_citation", page, "Tides of Varuna")
    assert text[citation.start_index:citation.end_index] == "[1]"
    raw = api(runs_short_service, "GET", f"/responses/{response.id}").json()
    assert_schema(raw, "Response")
    assert raw["tools"] == [{"type": "web_search", "filters": None, "search_context_size": "low", "user_location": None}]
    second = upstream.requests(match=marker)[-1]["body"]
    assert second["tools"][0]["function"]["name"] == "web_search"
    assert "spring tide rises 14.2 metres" in next(m for m in second["messages"] if m["role"] == "tool")["content"]
    searched = [seen for seen in web_site.seen if seen.path == "/search"][-1]
    assert searched.query["q"] == ["varuna tides"] and searched.query["format"] == ["json"]


def test_sources_are_shown_only_when_included_and_the_stream_is_in_order(sdk, upstream, web_site, runs_short_service):
    engine_answers(web_site, web_site.page("/varuna", ARTICLE))
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "varuna"}}]},
                    {"content": "High [1]."}, match=marker)
    body = {"model": "m", "input": f"Tides? {marker}", "stream": True, "tools": [{"type": "web_search"}]}
    with api(runs_short_service, "POST", "/responses", json=body, stream=True) as answer:
        events = [event for _, event in read_sse(answer)]
    for event in events:
        assert_stream_event(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert [k for k in kinds if k.startswith("response.web_search_call")] == [
        "response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed"]
    assert kinds.index("response.web_search_call.completed") < kinds.index("response.output_text.delta")
    assert "response.output_text.annotation.added" in kinds and kinds[-1] == "response.completed"
    call = events[-1]["response"]["output"][0]
    assert call["action"] == {"type": "search", "query": "varuna"}  # no sources unless include asks


def test_allowed_domains_keep_other_sites_out(sdk, upstream, web_site):
    inside = web_site.page("/inside", ARTICLE)
    outside = web_site.page("/outside", ARTICLE).replace("127.0.0.1", "localhost")
    engine_answers(web_site, outside, inside)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "tides"}}]},
                    {"content": "Tides [1]."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Tides? {marker}", include=["web_search_call.action.sources"],
                                    tools=[{"type": "web_search", "filters": {"allowed_domains": ["127.0.0.1"]}}])

    assert [s.url for s in response.output[0].action.sources] == [inside]
    searched = [seen for seen in web_site.seen if seen.path == "/search"][-1]
    assert "site:127.0.0.1" in searched.query["q"][0]
    assert response.output[1].content[0].annotations[0].url == inside


@pytest.mark.parametrize("refused", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://192.168.1.1/", "http://[::1]:{port}/x",
    "http://127.0.0.2:{port}/x", "http://0.0.0.0:{port}/x", "http://[::ffff:127.0.0.2]:{port}/x", "http://100.64.0.1/",
    "http://[fe80::1]/", "file:///etc/passwd",
])
def test_refused_addresses_are_never_fetched(sdk, upstream, web_site, refused):
    refused = refused.format(port=web_site.port)
    good = web_site.page("/good", ARTICLE)
    engine_answers(web_site, refused, good)
    before = len(web_site.seen)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "tides"}}]},
                    {"content": "Tides [1]."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Tides? {marker}", tools=[{"type": "web_search"}])

    assert response.status == "completed"
    assert [seen.path for seen in web_site.seen[before:]] == ["/search", "/good"]
    assert response.output[1].content[0].annotations[0].url == good  # [1] is the first page read
    tool_text = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")["content"]
    assert refused not in tool_text


def test_a_redirect_to_a_refused_address_is_not_followed(sdk, upstream, web_site):
    hop = web_site.redirect("/hop", "http://169.254.169.254/latest/meta-data/")
    engine_answers(web_site, hop)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "tides"}}]},
                    {"content": "Nothing found."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Tides? {marker}", tools=[{"type": "web_search"}])

    assert response.status == "completed" and response.output[1].content[0].annotations == []
    tool_text = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")["content"]
    assert "found no page that could be read" in tool_text


def test_a_failing_engine_fails_the_call_not_the_response(sdk, upstream, web_site):
    web_site.json("/search", {"error": "engine down"}, status=500)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "tides"}}]},
                    {"content": "I could not search."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Tides? {marker}", tools=[{"type": "web_search"}])

    assert response.status == "completed"
    assert (response.output[0].type, response.output[0].status) == ("web_search_call", "failed")
    tool_text = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")["content"]
    assert tool_text.startswith("The web search failed")


def test_bad_web_search_tools_are_400s(sdk):
    cases = [
        ({"type": "web_search", "search_context_size": "huge"}, "tools[0].search_context_size"),
        ({"type": "web_search", "filters": {"allowed_domains": "python.org"}}, "tools[0].filters.allowed_domains"),
        ({"type": "web_search", "user_location": {"type": "approximate", "country": "Germany"}},
         "tools[0].user_location.country"),
    ]
    for tool, param in cases:
        with pytest.raises(openai.BadRequestError) as error:
            sdk.responses.create(model="m", input="x", tools=[tool])
        assert error.value.body["param"] == param, error.value.body


def test_web_search_needs_a_configured_engine(settings_for):
    http = create_app(settings_for(upstream_base_url="http://127.0.0.1:9")).test_client()
    answer = http.post("/v1/responses", json={"model": "m", "input": "x", "tools": [{"type": "web_search"}]})
    assert answer.status_code == 400
    assert answer.json["error"]["param"] == "tools[0].type" and "WEB_SEARCH_PROVIDER" in answer.json["error"]["message"]
