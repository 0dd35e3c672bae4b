"""The web_search and mcp tools of responses with the official Node SDK (tests/web/node/responses_tools.cjs),
against gunicorn+gevent on both store backends, the local engine and pages, and the real MCP test server.
The Python SDK's side is tests/web/test_responses_web_search.py and test_responses_mcp.py."""

from __future__ import annotations

from tests.web.test_responses_node import REPO, run_node
from tests.web.test_responses_web_search import ARTICLE, engine_answers

SCRIPT = REPO / "tests/web/node/responses_tools.cjs"


def test_a_streamed_web_search_with_a_citation(runs_short_service, upstream, web_site):
    page = web_site.page("/varuna-node", ARTICLE)
    engine_answers(web_site, page)
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "web_search", "arguments": {"query": "varuna"}}]},
                    {"content": "Up to 14.2 metres [1]."}, match=marker)

    out = run_node(SCRIPT, runs_short_service.url("/v1"), marker, "web_search")

    assert out["status"] == "completed" and out["output_text"] == "Up to 14.2 metres [1]."
    assert [e["seq"] for e in out["events"]] == list(range(len(out["events"])))
    kinds = [e["type"] for e in out["events"]]
    assert [k for k in kinds if k.startswith("response.web_search_call")] == [
        "response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed"]
    assert out["call"]["action"] == {"type": "search", "query": "varuna", "sources": [{"type": "url", "url": page}]}
    assert out["annotations"] == [{"type": "url_citation", "url": page, "title": "Tides of Varuna",
                                   "start_index": 18, "end_index": 21}]


def test_an_approved_mcp_call(runs_short_service, upstream, mcp_server):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 20, "b": 22}}]},
                    {"content": "42."}, match=marker)

    out = run_node(SCRIPT, runs_short_service.url("/v1"), marker, "mcp", mcp_server.url("json"))

    listing, request = out["asked"]
    assert listing["type"] == "mcp_list_tools" and "add" in listing["tools"]
    assert request == {"type": "mcp_approval_request", "name": "add"}
    offered = upstream.requests(match=marker)[0]["body"]["tools"]
    assert [t["function"]["name"] for t in offered] == ["calc__add"]  # allowed_tools
    assert out["answered"] == [{"type": "mcp_call", "output": "42", "approval_request_id": out["request_id"]},
                               {"type": "message"}]
    assert out["output_text"] == "42." and out["echoed"]["headers"] is None
