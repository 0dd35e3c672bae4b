"""Streamed runs: OpenAI's event names, payloads and order, and a client that goes away."""

from __future__ import annotations

import json

import pytest

from tests.schema import assert_schema
from tests.web.run_support import (
    SDK_DEPRECATIONS,
    SUBMITTED_RUN,
    TEXT_RUN,
    TOOL_RUN,
    WEATHER,
    WEATHER_TOOL,
    collapse,
    read_sse,
    upstream_outcome,
    wait_status,
    weather_script,
)
from tests.web.support import api, sdk_on

pytestmark = SDK_DEPRECATIONS
SCHEMAS = {
    "thread.created": "ThreadObject", "thread.run.step.delta": "RunStepDeltaObject",
    "thread.message.delta": "MessageDeltaObject",
}


@pytest.fixture
def assistant(runs_service):
    return sdk_on(runs_service).beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])


def _check_payloads(events):
    for name, data in events:
        if name == "done":
            assert data == "[DONE]"
            continue
        schema = SCHEMAS.get(name) or (
            "RunStepObject" if name.startswith("thread.run.step.") else
            "RunObject" if name.startswith("thread.run.") else "MessageObject"
        )
        assert_schema(data, schema)
        if name.startswith("thread.run.") and not name.startswith("thread.run.step.") and name != "thread.run.created":
            assert data["status"] == name.removeprefix("thread.run."), name


def _stream(service, path: str, body: dict) -> list:
    with api(service, "POST", path, json={**body, "stream": True}, stream=True) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        return read_sse(response)


def test_text_run_events_in_openai_order(runs_service, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": "The answer is x = 1.", "chunks": 4}, match=marker)
    thread = sdk_on(runs_service).beta.threads.create(messages=[{"role": "user", "content": f"solve {marker}"}])

    events = _stream(runs_service, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})

    names = [name for name, _ in events]
    assert collapse(names) == TEXT_RUN
    assert names.count("thread.message.delta") == 4
    text = "".join(d["delta"]["content"][0]["text"]["value"] for n, d in events if n == "thread.message.delta")
    assert text == "The answer is x = 1."
    created = dict(events)["thread.message.created"]
    assert created["status"] == "in_progress" and created["content"] == [] and created["role"] == "assistant"
    completed = dict(events)["thread.message.completed"]
    assert completed["content"][0]["text"]["value"] == text and completed["status"] == "completed"
    assert dict(events)["thread.run.completed"]["usage"]["total_tokens"] > 0
    _check_payloads(events)


def test_tool_run_stream_ends_at_requires_action_and_submit_carries_on(runs_service, assistant, upstream):
    marker = upstream.marker()
    weather_script(upstream, marker)
    thread = sdk_on(runs_service).beta.threads.create(messages=[{"role": "user", "content": f"weather? {marker}"}])

    events = _stream(runs_service, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})

    assert collapse([n for n, _ in events]) == TOOL_RUN
    deltas = [d["delta"]["step_details"]["tool_calls"][0] for n, d in events if n == "thread.run.step.delta"]
    head = deltas[0]
    assert head["type"] == "function" and head["index"] == 0 and head["id"].startswith("call_")
    assert head["function"] == {"name": "getCurrentWeather", "arguments": "", "output": None}
    arguments = "".join(d["function"]["arguments"] for d in deltas[1:])
    assert json.loads(arguments) == {"location": "San Francisco, CA", "unit": "f"}
    run = dict(events)["thread.run.requires_action"]
    assert run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["function"]["arguments"] == arguments
    _check_payloads(events)

    outputs = [{"tool_call_id": head["id"], "output": WEATHER}]
    after = _stream(runs_service, f"/threads/{thread.id}/runs/{run['id']}/submit_tool_outputs", {"tool_outputs": outputs})

    assert collapse([n for n, _ in after]) == SUBMITTED_RUN
    step = after[0][1]
    assert step["type"] == "tool_calls" and step["step_details"]["tool_calls"][0]["function"]["output"] == WEATHER
    _check_payloads(after)


def test_create_thread_and_run_stream_starts_with_the_thread(runs_service, assistant, upstream):
    marker = upstream.marker()
    events = _stream(runs_service, "/threads/runs", {
        "assistant_id": assistant.id, "thread": {"messages": [{"role": "user", "content": f"hi {marker}"}]},
    })
    assert collapse([n for n, _ in events]) == ["thread.created"] + TEXT_RUN
    assert events[1][1]["thread_id"] == events[0][1]["id"]
    _check_payloads(events)


def test_sdk_stream_helpers(runs_service, assistant, upstream):
    sdk = sdk_on(runs_service)
    marker = upstream.marker()
    upstream.script({"content": "Streaming works fine."}, match=marker)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"stream {marker}"}])
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        text = "".join(stream.text_deltas)
        run, messages, steps = stream.get_final_run(), stream.get_final_messages(), stream.get_final_run_steps()
    assert text == "Streaming works fine." and run.status == "completed"
    assert messages[0].content[0].text.value == text and steps[0].type == "message_creation"
    poll = sdk.beta.threads.create_and_run_stream(assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "x"}]})
    with poll as stream:
        assert stream.get_final_run().status == "completed"


def test_failed_run_stream_says_so_and_ends(runs_service, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"status": 500}, match=marker)
    thread = sdk_on(runs_service).beta.threads.create(messages=[{"role": "user", "content": f"boom {marker}"}])
    events = _stream(runs_service, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})
    assert [n for n, _ in events] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.failed", "done"]
    assert events[3][1]["last_error"]["code"] == "server_error"


def test_cancel_mid_stream_ends_the_stream_cancelled(runs_service, assistant, upstream):
    sdk = sdk_on(runs_service)
    marker = upstream.marker()
    upstream.script({"content": " ".join(f"w{i}" for i in range(20)), "delay": 0.2}, match=marker)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"stop me {marker}"}])
    names, run_id = [], None
    with api(runs_service, "POST", f"/threads/{thread.id}/runs",
             json={"assistant_id": assistant.id, "stream": True}, stream=True) as response:
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data:") and run_id is None:
                run_id = json.loads(line[5:])["id"]
            if line.startswith("event:"):
                names.append(line[6:].strip())
                if names[-1] == "thread.message.delta" and names.count("thread.message.delta") == 2:
                    assert sdk.beta.threads.runs.cancel(run_id, thread_id=thread.id).status == "cancelling"
    assert collapse(names)[-6:] == [
        "thread.message.delta", "thread.run.cancelling", "thread.message.incomplete", "thread.run.step.cancelled",
        "thread.run.cancelled", "done",
    ]
    upstream_outcome(upstream, marker, "disconnected")


def test_client_leaving_a_stream_does_not_lose_the_run(runs_service, assistant, upstream):
    sdk = sdk_on(runs_service)
    marker = upstream.marker()
    words = " ".join(f"w{i}" for i in range(12))
    upstream.script({"content": words, "delay": 0.1}, match=marker)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"drip {marker}"}])
    run_id = None
    with api(runs_service, "POST", f"/threads/{thread.id}/runs",
             json={"assistant_id": assistant.id, "stream": True}, stream=True) as response:
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data:") and run_id is None:
                run_id = json.loads(line[5:])["id"]
            if line == "event: thread.message.delta":
                break
    # the client went away mid-answer

    run = wait_status(sdk, thread.id, run_id, {"completed", "failed", "cancelled"})

    assert run.status == "completed"
    assert sdk.beta.threads.messages.list(thread.id).data[0].content[0].text.value == words
    upstream_outcome(upstream, marker, "completed")
