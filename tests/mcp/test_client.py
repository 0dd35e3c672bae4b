"""McpClient against a real MCP server (the `mcp` SDK over streamable HTTP), inside gevent."""

from __future__ import annotations

import logging
import time

import gevent
import pytest
from gevent import monkey

from askservice.mcp import McpClient, McpError, Tool
from askservice.mcp.transport import MAX_ANSWER_BYTES
from askservice.netguard import Allowed
from tests.mcp.process import LOOPBACK, TOKEN
from tests.servers import free_port

ENDPOINTS = ["sse", "json"]  # answers as an event stream, answers as one JSON message


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_lists_the_tools_with_their_schemas(mcp_server, endpoint):
    with McpClient(mcp_server.url(endpoint), timeout=5, allowed=LOOPBACK) as mcp:
        tools = {tool.name: tool for tool in mcp.list_tools()}
        assert mcp.server_info["name"] == endpoint
    assert set(tools) == {"add", "slow", "fail", "big", "refuse", "chatty"}
    add = tools["add"]
    assert isinstance(add, Tool) and add.description == "Add two integers."
    assert add.input_schema["type"] == "object" and set(add.input_schema["required"]) == {"a", "b"}
    assert add.input_schema["properties"]["a"]["type"] == "integer"


def test_follows_the_pages_of_the_tool_list(fresh):
    with McpClient(fresh.url("paged"), timeout=5, allowed=LOOPBACK) as mcp:
        assert [tool.name for tool in mcp.list_tools()] == [f"tool{n}" for n in range(5)]
    assert [r["method"] for r in fresh.requests()] == ["POST"] * 5 + ["DELETE"]  # initialize, initialized, 3 pages


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_calls_the_quick_tool(mcp_server, endpoint):
    with McpClient(mcp_server.url(endpoint), timeout=5, allowed=LOOPBACK) as mcp:
        outcome = mcp.call_tool("add", {"a": 2, "b": 40})
        again = mcp.call_tool("add", {"a": 1, "b": 1})
    assert (outcome.output_text, outcome.is_error, again.output_text) == ("42", False, "2")
    assert outcome.raw["content"] == [{"type": "text", "text": "42"}]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_failing_tool_is_an_error_outcome_with_its_message(mcp_server, endpoint):
    with McpClient(mcp_server.url(endpoint), timeout=5, allowed=LOOPBACK) as mcp:
        outcome = mcp.call_tool("fail", {"reason": "disk on fire"})
        assert mcp.call_tool("add", {"a": 1, "b": 2}).output_text == "3"  # the session carries on
    assert outcome.is_error and "the tool failed: disk on fire" in outcome.output_text


def test_notifications_before_the_result_are_skipped(mcp_server):
    with McpClient(mcp_server.url("sse"), timeout=5, allowed=LOOPBACK) as mcp:
        assert mcp.call_tool("chatty", {}).output_text == "done"


def test_a_json_rpc_error_is_an_mcp_error(mcp_server):
    with McpClient(mcp_server.url("sse"), timeout=5, allowed=LOOPBACK) as mcp:
        with pytest.raises(McpError) as caught:
            mcp.call_tool("refuse", {})
        assert mcp.call_tool("nope", {}).is_error  # an unknown tool is the tool's failure for this server
    assert caught.value.kind == "rpc"
    assert str(caught.value) == f"MCP server {mcp_server.url('sse')}: tools/call failed: refused by the server (code -32602)"


def test_the_slow_tool_times_out_within_the_bound(mcp_server):
    with McpClient(mcp_server.url("sse"), timeout=1.0, allowed=LOOPBACK) as mcp:
        mcp.list_tools()
        started = time.monotonic()
        with pytest.raises(McpError, match="did not answer within 1 s") as caught:
            mcp.call_tool("slow", {"seconds": 10})
        elapsed = time.monotonic() - started
        assert mcp.call_tool("add", {"a": 1, "b": 2}).output_text == "3"  # a new connection serves on
    assert caught.value.kind == "timeout" and 0.9 < elapsed < 1.6


def test_calls_run_side_by_side_in_greenlets(mcp_server):
    assert monkey.is_module_patched("socket")  # as in a gevent worker (tests/conftest.py)
    done: list[str] = []
    with McpClient(mcp_server.url("sse"), timeout=5, allowed=LOOPBACK) as mcp:
        def call(name: str, arguments: dict) -> None:
            mcp.call_tool(name, arguments)
            done.append(name)

        started = time.monotonic()
        gevent.joinall([gevent.spawn(call, "slow", {"seconds": 1}), gevent.spawn(call, "add", {"a": 1, "b": 2})],
                       raise_error=True)
    assert done == ["add", "slow"] and time.monotonic() - started < 2.5


@pytest.mark.parametrize("endpoint", ["sse", "json"])
def test_abort_cuts_a_call_in_flight_short(mcp_server, endpoint):
    with McpClient(mcp_server.url(endpoint), timeout=10, allowed=LOOPBACK) as mcp:
        mcp.list_tools()
        call = gevent.spawn(mcp.call_tool, "slow", {"seconds": 5})
        gevent.sleep(0.5)  # the call is waiting for the tool's answer
        mcp.abort()
        call.join(timeout=3)
        assert call.dead and isinstance(call.exception, McpError), call.value  # not the tool's "slept 5"
        assert mcp.call_tool("add", {"a": 2, "b": 2}).output_text == "4"  # the client serves on


def test_the_session_follows_the_lifecycle_and_is_deleted_at_the_end(fresh):
    with McpClient(fresh.url("json"), timeout=5, allowed=LOOPBACK) as mcp:
        mcp.list_tools()
        mcp.call_tool("add", {"a": 1, "b": 2})
    seen = fresh.requests()
    assert [r["method"] for r in seen] == ["POST", "POST", "POST", "POST", "DELETE"]
    session = seen[1]["session"]
    assert seen[0]["session"] is None and session and all(r["session"] == session for r in seen[1:])
    assert seen[0]["protocol"] is None and all(r["protocol"] == "2025-11-25" for r in seen[1:])


def test_a_forgotten_session_is_opened_again(fresh):
    import requests

    with McpClient(fresh.url("sse"), timeout=5, allowed=LOOPBACK) as mcp:
        mcp.list_tools()
        session = fresh.requests()[-1]["session"]
        requests.delete(fresh.url("sse"), headers={"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"},
                        timeout=5).raise_for_status()
        assert mcp.call_tool("add", {"a": 3, "b": 4}).output_text == "7"
    sessions = {r["session"] for r in fresh.requests() if r["session"]}
    assert len(sessions) == 2


def test_a_bearer_token_reaches_the_server_and_is_required(fresh):
    with McpClient(fresh.url("secure"), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5, allowed=LOOPBACK) as mcp:
        assert mcp.call_tool("add", {"a": 5, "b": 5}).output_text == "10"
    assert fresh.requests() and all(r["authorized"] for r in fresh.requests())
    with McpClient(fresh.url("secure"), timeout=5, allowed=LOOPBACK) as mcp:
        with pytest.raises(McpError, match="HTTP 401") as caught:
            mcp.list_tools()
    assert caught.value.kind == "http"


def test_the_token_is_never_logged_nor_in_an_error(mcp_server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Bearer wrong-secret-value-77"
    errors = []
    for url, headers in [
        (mcp_server.url("secure"), {"Authorization": f"Bearer {TOKEN}"}),
        (mcp_server.url("secure"), {"Authorization": wrong}),
        (f"http://127.0.0.1:{free_port()}/mcp", {"Authorization": f"Bearer {TOKEN}"}),
        (mcp_server.url("sse"), {"X-Api-Key": f"{TOKEN}\r\nInjected: 1"}),
        (f"http://user:{TOKEN}@127.0.0.1:{free_port()}/mcp?key={TOKEN}", {}),
    ]:
        try:
            with McpClient(url, headers=headers, timeout=2, allowed=LOOPBACK) as mcp:
                mcp.call_tool("fail", {"reason": "x"})
        except McpError as exc:
            errors.append(exc)
    assert [e.kind for e in errors] == ["http", "connect", "headers", "blocked"]
    for text in [caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]:
        assert TOKEN not in text and "wrong-secret-value" not in text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "169.254.169.254", "192.168.1.1"])
def test_non_public_addresses_are_refused_unless_allowed(fresh, host):
    with McpClient(f"http://{host}:{fresh.base.rsplit(':', 1)[1]}/sse/mcp", timeout=2) as mcp:
        with pytest.raises(McpError, match="non-public address") as caught:
            mcp.list_tools()
    assert caught.value.kind == "blocked" and fresh.requests() == []


def test_an_allowed_name_reaches_the_server(mcp_server):
    port = mcp_server.base.rsplit(":", 1)[1]
    with McpClient(f"http://localhost:{port}/sse/mcp", timeout=5, allowed=Allowed.parse("localhost")) as mcp:
        assert mcp.call_tool("add", {"a": 1, "b": 1}).output_text == "2"


def test_other_schemes_are_refused(mcp_server):
    with pytest.raises(McpError, match="only http and https") as caught:
        McpClient("file:///etc/passwd", allowed=LOOPBACK).list_tools()
    assert caught.value.kind == "blocked"


def test_a_server_that_is_down_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with McpClient(url, timeout=2, allowed=LOOPBACK) as mcp:
        with pytest.raises(McpError) as caught:
            mcp.list_tools()
    assert caught.value.kind == "connect"
    assert str(caught.value) == f"cannot connect to MCP server {url}: connection refused"


def test_a_wrong_path_is_an_http_error(mcp_server):
    with McpClient(f"{mcp_server.base}/nowhere", timeout=2, allowed=LOOPBACK) as mcp:
        with pytest.raises(McpError, match="answered HTTP 404") as caught:
            mcp.list_tools()
    assert caught.value.kind == "http"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_answer_over_the_cap_is_refused(mcp_server, endpoint):
    with McpClient(mcp_server.url(endpoint), timeout=5, allowed=LOOPBACK) as mcp:
        assert len(mcp.call_tool("big", {"size": 1000}).output_text) == 1000
        with pytest.raises(McpError, match=f"over {MAX_ANSWER_BYTES} bytes") as caught:
            mcp.call_tool("big", {"size": MAX_ANSWER_BYTES})
    assert caught.value.kind == "protocol"
