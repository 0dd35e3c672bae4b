"""The mcp tool of responses, end to end: the official SDK, gunicorn+gevent on both backends, the
scripted upstream, and a real MCP server built with the `mcp` SDK on loopback (`mcp_server`)."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.mcp.process import TOKEN
from tests.servers import wait_until
from tests.schema import assert_schema, assert_stream_event
from tests.web.run_support import read_sse
from tests.web.support import api, sdk_on


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


@pytest.fixture
def mcp(mcp_server):
    mcp_server.reset()
    return mcp_server


def calc(mcp, endpoint: str = "sse", **options) -> dict:
    return {"type": "mcp", "server_label": "calc", "server_url": mcp.url(endpoint), "require_approval": "never", **options}


def rpc(mcp) -> list[str]:
    """The JSON-RPC methods the MCP server received (notifications and session ends left out)."""
    return [r["rpc"] for r in mcp.requests() if r["rpc"] and not r["rpc"].startswith("notifications/")]


def tool_message(upstream, marker: str) -> str:
    return [m for m in upstream.requests(match=marker)[-1]["body"]["messages"] if m["role"] == "tool"][-1]["content"]


def test_an_mcp_call_round_trip_with_a_secret_token(sdk, upstream, mcp, runs_short_service):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 2, "b": 3}}]},
                    {"content": "2 + 3 = 5."}, match=marker)
    tool = calc(mcp, "secure", authorization=TOKEN, allowed_tools=["add", "fail"])
    response = sdk.responses.create(model="m", input=f"Add 2 and 3. {marker}", tools=[tool])

    assert response.status == "completed", response.error
    listing, call, message = response.output
    assert (listing.type, listing.server_label, listing.error) == ("mcp_list_tools", "calc", None)
    assert sorted(t.name for t in listing.tools) == ["add", "big", "chatty", "fail", "refuse", "slow"]  # all it has
    assert listing.tools[0].input_schema["properties"]
    assert (call.type, call.name, json.loads(call.arguments), call.output, call.error, call.status) == (
        "mcp_call", "add", {"a": 2, "b": 3}, "5", None, "completed")
    assert message.content[0].text == "2 + 3 = 5."
    first, second = upstream.requests(match=marker)[-2:]
    assert sorted(t["function"]["name"] for t in first["body"]["tools"]) == ["calc__add", "calc__fail"]
    assert tool_message(upstream, marker) == "5"
    assert rpc(mcp) == ["initialize", "tools/list", "tools/call"]
    assert all(r["authorized"] for r in mcp.requests())

    raw = api(runs_short_service, "GET", f"/responses/{response.id}").text
    assert_schema(json.loads(raw), "Response")
    assert TOKEN not in raw and json.loads(raw)["tools"][0]["headers"] is None
    assert TOKEN not in runs_short_service.log_path.read_text()
    store_files = list(runs_short_service.log_path.parent.rglob("askservice.db*"))
    assert all(TOKEN.encode() not in path.read_bytes() for path in store_files)


def test_tools_are_listed_once_per_chain(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"content": "Ready."}, {"tool_calls": [{"name": "calc__add", "arguments": {"a": 1, "b": 1}}]},
                    {"content": "2."}, match=marker)
    first = sdk.responses.create(model="m", input=f"Hello {marker}", tools=[calc(mcp)])
    assert [item.type for item in first.output] == ["mcp_list_tools", "message"]
    mcp.reset()
    second = sdk.responses.create(model="m", input=f"1 + 1? {marker}", tools=[calc(mcp)], previous_response_id=first.id)

    assert [item.type for item in second.output] == ["mcp_call", "message"]
    assert "tools/list" not in rpc(mcp) and "tools/call" in rpc(mcp)
    offered = upstream.requests(match=marker)[-2]["body"]["tools"]
    assert "calc__add" in {t["function"]["name"] for t in offered}


def test_approval_is_asked_then_given(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 20, "b": 22}}]},
                    {"content": "It is 42."}, match=marker)
    tool = calc(mcp, require_approval="always")
    asked = sdk.responses.create(model="m", input=f"20 + 22? {marker}", tools=[tool])

    assert asked.status == "completed"
    listing, request = asked.output
    assert (request.type, request.server_label, request.name, json.loads(request.arguments)) == (
        "mcp_approval_request", "calc", "add", {"a": 20, "b": 22})
    assert "tools/call" not in rpc(mcp)

    answered = sdk.responses.create(model="m", previous_response_id=asked.id, tools=[tool], input=[
        {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
    call, message = answered.output
    assert (call.type, call.output, call.approval_request_id, call.status) == ("mcp_call", "42", request.id, "completed")
    assert message.content[0].text == "It is 42." and tool_message(upstream, marker) == "42"
    items = sdk.responses.input_items.list(answered.id, order="asc").data
    assert items[-1].type == "mcp_approval_response" and items[-1].approve is True

    with pytest.raises(openai.BadRequestError) as again:  # answered already
        sdk.responses.create(model="m", previous_response_id=answered.id, tools=[tool], input=[
            {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
    assert again.value.body["param"] == "input[0].approval_request_id"


def test_a_declined_call_is_not_made(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 1, "b": 2}}]},
                    {"content": "As you wish."}, match=marker)
    tool = calc(mcp, require_approval={"never": {"tool_names": ["fail"]}})
    asked = sdk.responses.create(model="m", input=f"1 + 2? {marker}", tools=[tool])
    request = asked.output[-1]
    assert request.type == "mcp_approval_request"

    declined = sdk.responses.create(model="m", previous_response_id=asked.id, tools=[tool], input=[
        {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False, "reason": "no"}])
    assert [item.type for item in declined.output] == ["message"]
    assert "tools/call" not in rpc(mcp)
    assert tool_message(upstream, marker) == "The user declined to run this tool."


def test_a_failing_tool_is_an_mcp_call_with_an_error(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__fail", "arguments": {"reason": "disk full"}}]},
                    {"content": "The tool failed."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Try. {marker}", tools=[calc(mcp, "json")])

    assert response.status == "completed"
    call = response.output[1]
    assert (call.type, call.status, call.output) == ("mcp_call", "failed", None)
    assert call.error.type == "mcp_tool_execution_error" and "disk full" in json.dumps(call.error.content)
    assert "disk full" in tool_message(upstream, marker)


def test_a_server_that_cannot_list_is_shown_and_the_response_goes_on(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"content": "No tools today."}, match=marker)
    response = sdk.responses.create(model="m", input=f"Hi {marker}", tools=[calc(mcp, "secure")])  # no token

    assert response.status == "completed"
    listing, message = response.output
    assert listing.type == "mcp_list_tools" and listing.tools == [] and "401" in listing.error
    assert "tools" not in upstream.requests(match=marker)[-1]["body"]


def test_the_stream_is_in_order_with_mcp_events(upstream, mcp, runs_short_service):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__slow", "arguments": {"seconds": 0.3}}]},
                    {"content": "Slept."}, match=marker)
    body = {"model": "m", "input": f"Sleep. {marker}", "stream": True, "tools": [calc(mcp)]}
    with api(runs_short_service, "POST", "/responses", json=body, stream=True) as answer:
        events = [event for _, event in read_sse(answer)]
    for event in events:
        assert_stream_event(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events if e["type"].startswith("response.mcp")]
    assert kinds[:2] == ["response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed"]
    assert kinds[2] == "response.mcp_call.in_progress" and "response.mcp_call_arguments.delta" in kinds
    assert kinds[-2:] == ["response.mcp_call_arguments.done", "response.mcp_call.completed"]
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][1]["output"] == "slept 0.3"


def test_bad_mcp_requests_are_400s(sdk, mcp):
    cases = [
        ({"type": "mcp", "server_label": "x", "server_url": "http://10.1.2.3/mcp"}, "tools[0].server_url"),
        ({"type": "mcp", "server_label": "x", "server_url": "http://169.254.169.254/mcp"}, "tools[0].server_url"),
        ({"type": "mcp", "server_label": "x", "connector_id": "connector_gmail"}, "tools[0]"),
        ({"type": "mcp", "server_label": "bad label", "server_url": mcp.url("sse")}, "tools[0].server_label"),
        ({"type": "mcp", "server_label": "x", "server_url": mcp.url("sse"), "require_approval": "sometimes"},
         "tools[0].require_approval"),
    ]
    for tool, param in cases:
        with pytest.raises(openai.BadRequestError) as error:
            sdk.responses.create(model="m", input="x", tools=[tool])
        assert error.value.body["param"] == param, error.value.body
    with pytest.raises(openai.BadRequestError) as twice:
        sdk.responses.create(model="m", input="x", tools=[calc(mcp), calc(mcp)])
    assert twice.value.body["param"] == "tools[1].server_label"
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.responses.create(model="m", tools=[calc(mcp)], input=[
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}])
    assert unknown.value.body["param"] == "input[0].approval_request_id"


def test_approvals_in_a_conversation(sdk, upstream, mcp, runs_short_service):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 4, "b": 5}}]}, {"content": "9."},
                    match=marker)
    conversation = sdk.conversations.create()
    tool = calc(mcp, require_approval="always")
    asked = sdk.responses.create(model="m", input=f"4 + 5? {marker}", tools=[tool], conversation=conversation.id)
    request = asked.output[-1]
    answered = sdk.responses.create(model="m", conversation=conversation.id, tools=[tool], input=[
        {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])

    assert [item.type for item in answered.output] == ["mcp_call", "message"] and answered.output[0].output == "9"
    items = api(runs_short_service, "GET", f"/conversations/{conversation.id}/items?order=asc").json()
    assert_schema(items, "ConversationItemList")
    assert [item["type"] for item in items["data"]] == ["message", "mcp_list_tools", "mcp_approval_request",
                                                        "mcp_approval_response", "mcp_call", "message"]


def test_a_server_call_beside_a_client_function_is_not_made(sdk, upstream, mcp):
    marker = upstream.marker()
    weather = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    upstream.script({"tool_calls": [{"name": "get_weather", "arguments": {}}, {"name": "calc__add", "arguments": {"a": 1, "b": 1}}]},
                    {"content": "Sunny."}, match=marker)
    asked = sdk.responses.create(model="m", input=f"Weather? {marker}", tools=[calc(mcp), weather])

    listing, function, call = asked.output
    assert (function.type, call.type, call.status, call.output) == ("function_call", "mcp_call", "incomplete", None)
    assert "tools/call" not in rpc(mcp)
    answered = sdk.responses.create(model="m", previous_response_id=asked.id, tools=[calc(mcp), weather], input=[
        {"type": "function_call_output", "call_id": function.call_id, "output": "sunny"}])
    assert answered.output_text == "Sunny."
    messages = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [(m["role"], [c["function"]["name"] for c in m.get("tool_calls") or []]) for m in messages[1:]] == [
        ("assistant", ["get_weather"]), ("tool", [])]


def test_a_streamed_approval_request_and_a_background_call(sdk, upstream, mcp, runs_short_service):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__add", "arguments": {"a": 3, "b": 4}}]}, {"content": "7."},
                    match=marker)
    body = {"model": "m", "input": f"3 + 4? {marker}", "stream": True, "tools": [calc(mcp, require_approval="always")]}
    with api(runs_short_service, "POST", "/responses", json=body, stream=True) as answer:
        events = [event for _, event in read_sse(answer)]
    for event in events:
        assert_stream_event(event)
    added = [e["item"]["type"] for e in events if e["type"] == "response.output_item.added"]
    assert added == ["mcp_list_tools", "mcp_approval_request"]
    assert not [e for e in events if e["type"].startswith("response.mcp_call")]
    request = events[-1]["response"]["output"][-1]
    assert request["type"] == "mcp_approval_request" and json.loads(request["arguments"]) == {"a": 3, "b": 4}

    job = sdk.responses.create(model="m", previous_response_id=events[-1]["response"]["id"], background=True,
                               tools=[calc(mcp, require_approval="always")],
                               input=[{"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": True}])
    assert job.status == "queued"
    for _ in range(200):
        done = sdk.responses.retrieve(job.id)
        if done.status not in ("queued", "in_progress"):
            break
        time.sleep(0.05)
    assert done.status == "completed" and [item.type for item in done.output] == ["mcp_call", "message"]
    assert done.output[0].output == "7"


def test_a_cancel_cuts_a_slow_mcp_call_short(sdk, upstream, mcp):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "calc__slow", "arguments": {"seconds": 4}}]}, {"content": "Never."},
                    match=marker)
    job = sdk.responses.create(model="m", input=f"Sleep. {marker}", tools=[calc(mcp)], background=True)
    wait_until(lambda: "tools/call" in rpc(mcp), timeout=10, what="the MCP call")

    cancelled = sdk.responses.cancel(job.id)
    assert cancelled.status == "cancelled"
    listing, call = cancelled.output
    assert (call.type, call.name, call.output) == ("mcp_call", "slow", None)  # not the tool's "slept 4"
    assert call.error is not None and call.error.type == "mcp_protocol_error"
    assert len(upstream.requests(match=marker)) == 1  # no turn after the cut call
