"""Background responses: polled, streamed, cancelled and resumed, from one service instance or another
sharing its store (both backends), through the official Python SDK."""

from __future__ import annotations

import json
import time

import openai
import pytest
import requests

from tests.conftest import BACKENDS, backend_env
from tests.schema import assert_schema, assert_stream_event
from tests.servers import wait_until
from tests.web.support import api, sdk_on

SLOW = {"content": " ".join(f"w{i}" for i in range(40)), "delay": 0.1}  # about 4 s of deltas


@pytest.fixture(scope="module", params=BACKENDS)
def pair(request, tmp_path_factory, start_session_service, upstream):
    """Two service instances (one worker each) sharing one store: two machines of a fleet."""
    tmp = tmp_path_factory.mktemp("shared")
    env = {"UPSTREAM_BASE_URL": upstream.base_url, "STORE_URL": f"sqlite:///{tmp}/shared.db",
           "BLOB_URL": f"file://{tmp}/blobs", "RUN_LEASE_SECONDS": "3", **backend_env(request, request.param)}
    return start_session_service(env, workers=1), start_session_service(env, workers=1)


def _poll(sdk, response_id: str, until=("completed", "failed", "incomplete", "cancelled")):
    return wait_until(lambda: (lambda r: r if r.status in until else None)(sdk.responses.retrieve(response_id)),
                      timeout=20, interval=0.05, what=f"response {response_id} in {until}")


def test_a_background_response_is_queued_then_polled_to_its_end(pair, upstream):
    sdk = sdk_on(pair[0])
    marker = upstream.marker()
    created = sdk.responses.create(model="m", input=f"later {marker}", background=True)
    assert created.status == "queued" and created.background is True
    assert_schema(created.model_dump(mode="json", exclude_unset=True), "Response")
    done = _poll(sdk_on(pair[1]), created.id)  # readable from the other instance at once
    assert done.status == "completed" and done.output_text == f"echo: later {marker}"


def test_a_background_stream_is_replayed_and_followed_from_the_other_instance(pair, upstream):
    first, second = pair
    marker = upstream.marker()
    upstream.script(SLOW, match=marker)
    answer = api(first, "POST", "/responses", json={"model": "m", "input": f"long {marker}", "background": True,
                                                      "stream": True}, stream=True)
    seen = []
    for line in answer.iter_lines():
        if line.startswith(b"data:"):
            seen.append(json.loads(line[5:]))
            if seen[-1]["type"] == "response.output_text.delta" and len(seen) > 8:
                break
    answer.close()  # the client drops; the response goes on
    assert [e["type"] for e in seen[:3]] == ["response.created", "response.queued", "response.in_progress"]
    response_id, cursor = seen[0]["response"]["id"], seen[-1]["sequence_number"]

    sdk = sdk_on(second)
    with sdk.responses.retrieve(response_id, stream=True, starting_after=cursor) as stream:
        rest = [event.model_dump(mode="json") for event in stream]
    assert [e["sequence_number"] for e in rest] == list(range(cursor + 1, cursor + 1 + len(rest)))
    assert rest[-1]["type"] == "response.completed"
    text = "".join(e["delta"] for e in seen + rest if e["type"] == "response.output_text.delta")
    assert text == SLOW["content"] == rest[-1]["response"]["output"][0]["content"][0]["text"]

    whole = api(second, "GET", f"/responses/{response_id}?stream=true", stream=True)  # from the start
    events = [json.loads(line[5:]) for line in whole.iter_lines() if line.startswith(b"data:")]
    assert [e["sequence_number"] for e in events] == list(range(cursor + 1 + len(rest)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    for event in events:
        assert_stream_event(event)


def test_cancel_from_the_other_instance_stops_the_upstream_call(pair, upstream):
    first, second = pair
    marker = upstream.marker()
    upstream.script(SLOW, match=marker)
    created = sdk_on(first).responses.create(model="m", input=f"stop me {marker}", background=True)
    wait_until(lambda: upstream.requests(match=marker), timeout=10, what="the upstream call")
    time.sleep(0.3)

    started = time.monotonic()
    cancelled = sdk_on(second).responses.cancel(created.id)
    assert cancelled.status == "cancelled" and time.monotonic() - started < 3
    assert wait_until(lambda: upstream.requests(match=marker)[-1]["outcome"] == "disconnected", timeout=5,
                      what="the upstream call closed")
    again = sdk_on(first).responses.cancel(created.id)  # idempotent
    assert again.status == "cancelled" and again.output == cancelled.output
    assert all(item.status == "incomplete" for item in again.output)
    assert_schema(api(first, "GET", f"/responses/{created.id}").json(), "Response")


def test_what_cannot_be_cancelled(pair, upstream):
    sdk = sdk_on(pair[0])
    finished = _poll(sdk, sdk.responses.create(model="m", input="quick", background=True).id)
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.cancel(finished.id)
    assert "completed" in refused.value.message
    foreground = sdk.responses.create(model="m", input="now")
    with pytest.raises(openai.BadRequestError):
        sdk.responses.cancel(foreground.id)
    with pytest.raises(openai.BadRequestError):
        sdk.responses.retrieve(foreground.id, stream=True)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.cancel("resp_unknown")
    assert requests.get(pair[0].url("/v1/health"), timeout=5).ok
