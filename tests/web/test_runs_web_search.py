"""The web_search extension of runs end-to-end: gunicorn, the official SDK, a local search engine and pages.

`runs_short_service` searches `web_site`'s SearxNG-shaped engine (`/search`) and may fetch its pages on
127.0.0.1 only; the scripted upstream calls `web_search`, then answers citing `[1]`. The 400s of bad
options and of a server without web search use the in-process app (no web search configured).
"""

from __future__ import annotations

import pytest

from tests.web.run_support import RUN_START, SDK_DEPRECATIONS, TEXT_MESSAGE, collapse
from tests.web.support import api, sdk_on

pytestmark = SDK_DEPRECATIONS

ARTICLE = """<html><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>{fact}</p>
<p>The harbour office publishes the tide table every morning, and the ferries to the islands plan their
crossings by it. Visitors who walk out on the mud flats are asked to check the table before they leave.</p>
<p>Spring tides come twice a month, around the new and the full moon, and raise the water well above
the usual mark; neap tides in between are gentler and leave the sandbanks dry for longer.</p>
</article></body></html>"""


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


def article(web_site, path: str, title: str, fact: str) -> str:
    """Script a readable page at `path`; return its URL."""
    return web_site.page(path, ARTICLE.format(title=title, fact=fact))


def engine_answers(web_site, *urls: str, status: int = 200) -> None:
    """Script the SearxNG engine to answer `urls` as its results (or an error `status`)."""
    results = [{"url": url, "title": f"Result {i}", "content": f"snippet {i}"} for i, url in enumerate(urls)]
    web_site.json("/search", {"query": "q", "results": results} if status == 200 else {"error": "down"}, status)


def search_then_answer(upstream, marker: str, query: str, answer: str) -> None:
    """Script the model to call web_search(`query`), then to answer `answer`."""
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": query}}]}, {"content": answer},
                    match=marker)


def ask(sdk, text: str, **run):
    """Create an assistant with web_search, a thread asking `text`, and run it (with `run` options) to its end."""
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[{"type": "web_search"}])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
                                                **run)
    assert run.status == "completed", run.last_error
    return thread, run


def web_calls(sdk, thread, run) -> list[dict]:
    """Return the web_search calls of a run's steps, as plain data."""
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    calls = [call.model_dump() for s in steps if s.type == "tool_calls" for call in s.step_details.tool_calls]
    assert calls and all(c["type"] == "web_search" and c["id"].startswith("call") for c in calls)
    return [c["web_search"] for c in calls]


def answer_text(sdk, thread, run):
    return sdk.beta.threads.messages.list(thread.id, run_id=run.id).data[0].content[0].text


def fetched(web_site, marker: str) -> list[str]:
    """Return the paths under `/marker/` the site served."""
    return [path for path in web_site.paths() if path.startswith(f"/{marker}/")]


def searched(web_site) -> list[str]:
    """Return the query the engine was last asked."""
    return [s.query["q"] for s in web_site.seen if s.path == "/search"][-1]


def test_the_model_searches_reads_a_page_and_cites_it(sdk, upstream, web_site):
    marker = upstream.marker()
    page = article(web_site, f"/{marker}/kiel", "Kiel tide table", f"High tide in Kiel is at 06:12 today ({marker}).")
    engine_answers(web_site, page, "https://example.invalid/elsewhere")
    answer = "High tide is at 06:12 [1]."
    search_then_answer(upstream, marker, "kiel high tide", answer)
    thread, run = ask(sdk, f"When is high tide in Kiel? {marker}")

    [call] = web_calls(sdk, thread, run)
    assert call["action"] == {"type": "search", "query": "kiel high tide", "sources": [
        {"type": "url", "url": page}, {"type": "url", "url": "https://example.invalid/elsewhere"}]}
    assert call["pages"] == [{"url": page, "title": "Kiel tide table"}] and "error" not in call
    assert searched(web_site) == ["kiel high tide"] and fetched(web_site, marker) == [f"/{marker}/kiel"]

    text = answer_text(sdk, thread, run)
    assert text.value == answer
    [cite] = [a.model_dump(exclude_unset=True) for a in text.annotations]
    start = answer.index("[1]")
    assert cite == {"type": "url_citation", "text": "[1]", "start_index": start, "end_index": start + 3,
                    "url_citation": {"url": page, "title": "Kiel tide table"}}

    tool_message = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")
    assert f"[1] Kiel tide table ({page})" in tool_message["content"]
    assert f"High tide in Kiel is at 06:12 today ({marker})." in tool_message["content"]


def test_a_streamed_run_shows_the_search_step(sdk, upstream, web_site):
    marker = upstream.marker()
    page = article(web_site, f"/{marker}/ferry", "Ferry times", f"The last ferry leaves at 21:40 ({marker}).")
    engine_answers(web_site, page)
    search_then_answer(upstream, marker, "last ferry", "At 21:40 [1].")
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[{"type": "web_search"}])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"Last ferry? {marker}"}])
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = list(stream)
        steps = stream.get_final_run_steps()
        message = stream.get_final_messages()[-1]

    assert collapse([e.event for e in events]) == RUN_START + [
        "thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta", "thread.run.step.completed",
    ] + TEXT_MESSAGE + ["thread.run.completed"]
    delta = next(e.data.delta.step_details.tool_calls[0].model_dump()
                 for e in events if e.event == "thread.run.step.delta")
    assert delta["type"] == "web_search" and delta["index"] == 0
    done = next(e.data for e in events if e.event == "thread.run.step.completed" and e.data.type == "tool_calls")
    call = done.step_details.tool_calls[0].model_dump()
    assert call["web_search"]["pages"] == [{"url": page, "title": "Ferry times"}]
    assert call["web_search"]["action"]["query"] == "last ferry"
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert [(a.type, a.model_dump()["url_citation"]) for a in message.content[0].text.annotations] == [
        ("url_citation", {"url": page, "title": "Ferry times"})]


def test_allowed_domains_and_a_forced_choice_on_the_run(sdk, upstream, web_site):
    marker = upstream.marker()
    inside = article(web_site, f"/{marker}/in", "Inside", f"Inside the allowed domain ({marker}).")
    web_site.page(f"/{marker}/out", ARTICLE.format(title="Outside", fact="Outside the allowed domain."))
    outside = web_site.url(f"/{marker}/out", host="localhost")
    engine_answers(web_site, outside, inside)
    search_then_answer(upstream, marker, "tides", "Found it [1].")
    options = {"filters": {"allowed_domains": ["127.0.0.1"]}, "search_context_size": "low"}
    thread, run = ask(sdk, f"Tides? {marker}", tools=[{"type": "web_search", "web_search": options}],
                      tool_choice={"type": "web_search"})

    assert run.tools[0].model_dump(exclude_unset=True) == {"type": "web_search", "web_search": options}
    assert run.tool_choice == {"type": "web_search"}  # not a choice the SDK knows: left as data
    [call] = web_calls(sdk, thread, run)
    assert call["action"]["sources"] == [{"type": "url", "url": inside}]
    assert fetched(web_site, marker) == [f"/{marker}/in"]
    assert searched(web_site) == ["tides site:127.0.0.1"]
    first = upstream.requests(match=marker)[0]["body"]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "web_search"}}


def test_results_at_refused_addresses_are_never_fetched(sdk, upstream, web_site):
    marker = upstream.marker()
    page = article(web_site, f"/{marker}/ok", "Harbour news", f"The harbour reopened on Monday ({marker}).")
    hop = web_site.redirect(f"/{marker}/hop", "http://169.254.169.254/latest/meta-data")
    refused = ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/"]
    engine_answers(web_site, *refused, hop, page)
    search_then_answer(upstream, marker, "harbour", "It reopened on Monday [1].")
    thread, run = ask(sdk, f"Is the harbour open? {marker}")

    [call] = web_calls(sdk, thread, run)
    assert [s["url"] for s in call["action"]["sources"]] == [*refused, hop, page]
    assert call["pages"] == [{"url": page, "title": "Harbour news"}]
    assert sorted(fetched(web_site, marker)) == [f"/{marker}/hop", f"/{marker}/ok"]  # read concurrently
    tool_message = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")
    assert "[1] Harbour news" in tool_message["content"] and "[2]" not in tool_message["content"]


def test_a_failing_engine_is_recorded_and_the_run_still_answers(sdk, upstream, web_site):
    marker = upstream.marker()
    engine_answers(web_site, status=500)
    search_then_answer(upstream, marker, "tides", "I could not search the web.")
    thread, run = ask(sdk, f"Tides? {marker}")

    [call] = web_calls(sdk, thread, run)
    assert "HTTP 500" in call["error"] and call["pages"] == [] and call["action"]["sources"] == []
    assert answer_text(sdk, thread, run).annotations == []
    tool_message = next(m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool")
    assert tool_message["content"].startswith("The web search failed")


BAD_OPTIONS = [
    ({"search_context_size": "huge"}, "search_context_size"),
    ({"filters": {"allowed_domains": "python.org"}}, "filters.allowed_domains"),
    ({"filters": {"allowed_domains": [""]}}, "filters.allowed_domains[0]"),
    ({"user_location": {"type": "exact"}}, "user_location.type"),
    ({"user_location": {"country": "Germany"}}, "user_location.country"),
]


@pytest.mark.parametrize("options,param", BAD_OPTIONS, ids=[p for _, p in BAD_OPTIONS])
def test_bad_options_are_a_400_naming_the_param(http, options, param):
    tools = [{"type": "function", "function": {"name": "f"}}, {"type": "web_search", "web_search": options}]
    for path, body in [("/v1/assistants", {"model": "m", "tools": tools}),
                       ("/v1/threads/thread_x/runs", {"assistant_id": "asst_x", "tools": tools})]:
        answer = http.post(path, json=body)
        assert answer.status_code == 400, answer.get_json()
        error = answer.get_json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", f"tools[1].web_search.{param}")


def test_without_web_search_configured_the_tool_is_a_400(http):
    assistant = http.post("/v1/assistants", json={"model": "m"}).get_json()["id"]
    tools = [{"type": "file_search"}, {"type": "web_search"}]
    for method, path, body in [
        ("POST", "/v1/assistants", {"model": "m", "tools": tools}),
        ("POST", f"/v1/assistants/{assistant}", {"tools": tools}),
        ("POST", "/v1/threads/thread_x/runs", {"assistant_id": assistant, "tools": tools}),
        ("POST", "/v1/threads/runs", {"assistant_id": assistant, "tools": tools}),
    ]:
        answer = http.open(path, method=method, json=body)
        assert answer.status_code == 400, (path, answer.get_json())
        error = answer.get_json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", "tools[1].type")
        assert "WEB_SEARCH_PROVIDER" in error["message"]
    assert http.get(f"/v1/assistants/{assistant}").get_json()["tools"] == []


def test_the_assistant_echoes_its_web_search_options(runs_short_service):
    options = {"search_context_size": "high", "filters": {"allowed_domains": ["python.org"]},
               "user_location": {"type": "approximate", "country": "DE", "city": "Kiel", "timezone": "Europe/Berlin"}}
    made = api(runs_short_service, "POST", "/assistants", json={"model": "m", "tools": [
        {"type": "web_search", "web_search": options}]})
    assert made.status_code == 200, made.text
    assert made.json()["tools"] == [{"type": "web_search", "web_search": options}]
    changed = api(runs_short_service, "POST", f"/assistants/{made.json()['id']}",
                  json={"tools": [{"type": "web_search"}]})
    assert changed.json()["tools"] == [{"type": "web_search"}]
