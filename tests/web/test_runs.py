"""Runs over HTTP: the run object, one active run per thread, tool outputs, cancel, steps, lists."""

from __future__ import annotations

import json

import gevent
import openai
import pytest

from tests.schema import assert_schema
from tests.web.run_support import SDK_DEPRECATIONS, WEATHER_TOOL, upstream_outcome, wait_status
from tests.web.support import api, sdk_on

pytestmark = SDK_DEPRECATIONS
SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"  # the spec's only `include[]` value


@pytest.fixture
def sdk(runs_service):
    return sdk_on(runs_service)


@pytest.fixture
def assistant(sdk):
    return sdk.beta.assistants.create(
        model="gpt-4o", instructions="Be brief.", tools=[WEATHER_TOOL], temperature=0.5, metadata={"team": "runs"}
    )


def _thread(sdk, text: str, **kwargs):
    return sdk.beta.threads.create(messages=[{"role": "user", "content": text}], **kwargs)


def test_run_takes_assistant_defaults_and_request_overrides(sdk, assistant, upstream):
    marker = upstream.marker()
    thread = _thread(sdk, f"hello {marker}")
    run = sdk.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, model="gpt-4o-mini", additional_instructions="Say hi.",
        top_p=0.9, metadata={"k": "v"}, max_completion_tokens=1000, truncation_strategy={"type": "last_messages", "last_messages": 3},
        parallel_tool_calls=False, response_format={"type": "json_object"},
        additional_messages=[{"role": "user", "content": f"and more {marker}"}],
    )
    assert run.status == "queued" and run.object == "thread.run" and run.thread_id == thread.id
    # the run's instructions are what the upstream receives: the assistant's, then the additional ones
    assert (run.model, run.instructions, run.temperature, run.top_p) == ("gpt-4o-mini", "Be brief.\n\nSay hi.", 0.5, 0.9)
    assert run.tools[0].function.name == "getCurrentWeather" and run.metadata == {"k": "v"}
    assert run.expires_at >= run.created_at and run.started_at is None
    assert_schema(run.model_dump(mode="json"), "RunObject")
    run = wait_status(sdk, thread.id, run.id, {"completed"})
    assert run.started_at and run.completed_at and run.usage.total_tokens > 0
    sent = upstream.requests(match=marker)[-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": run.instructions}
    assert [m["content"] for m in sent["messages"][1:]] == [f"hello {marker}", f"and more {marker}"]
    assert (sent["model"], sent["temperature"], sent["top_p"], sent["max_tokens"]) == ("gpt-4o-mini", 0.5, 0.9, 1000)
    assert sent["parallel_tool_calls"] is False and sent["tools"][0]["function"]["name"] == "getCurrentWeather"
    assert sent["response_format"] == {"type": "json_object"} and sent["stream"] is True


def test_truncation_last_messages_sends_only_the_last_ones(sdk, assistant, upstream):
    marker = upstream.marker()
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"m{i} {marker}"} for i in range(5)])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, truncation_strategy={"type": "last_messages", "last_messages": 2},
        poll_interval_ms=20,
    )
    assert run.status == "completed" and run.truncation_strategy.last_messages == 2
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [f"m3 {marker}", f"m4 {marker}"]


def test_racing_creates_exactly_one_wins_then_messages_are_refused(runs_service, sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": "slow answer", "latency": 1.5}, match=marker)
    thread = _thread(sdk, f"race {marker}")
    body = {"assistant_id": assistant.id}
    answers = [gevent.spawn(api, runs_service, "POST", f"/threads/{thread.id}/runs", json=body) for _ in range(12)]
    gevent.joinall(answers, timeout=30)
    statuses = sorted(g.value.status_code for g in answers)
    assert statuses == [200] + [409] * 11
    conflict = next(g.value for g in answers if g.value.status_code == 409).json()["error"]
    assert conflict["type"] == "invalid_request_error" and set(conflict) == {"message", "type", "param", "code"}

    refused = api(runs_service, "POST", f"/threads/{thread.id}/messages", json={"role": "user", "content": "more"})
    assert refused.status_code == 400 and "active" in refused.json()["error"]["message"]

    run_id = next(g.value for g in answers if g.value.status_code == 200).json()["id"]
    assert wait_status(sdk, thread.id, run_id, {"completed"}).status == "completed"
    again = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert again.status == "completed"


def test_parallel_tool_calls_and_output_validation(runs_service, sdk, assistant, upstream):
    marker = upstream.marker()
    calls = [{"name": "getCurrentWeather", "arguments": {"location": city}} for city in ("Paris", "Rome")]
    upstream.script({"tool_calls": calls}, {"content": "Both are mild."}, match=marker)
    thread = _thread(sdk, f"Paris and Rome? {marker}")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, tool_choice="required",
                                                poll_interval_ms=20)
    assert run.status == "requires_action"
    first, second = run.required_action.submit_tool_outputs.tool_calls
    assert first.id != second.id and json.loads(second.function.arguments) == {"location": "Rome"}
    path = f"/threads/{thread.id}/runs/{run.id}/submit_tool_outputs"

    bad = {
        "missing": [{"tool_call_id": first.id, "output": "a"}],
        "twice": [{"tool_call_id": first.id, "output": "a"}, {"tool_call_id": first.id, "output": "b"},
                  {"tool_call_id": second.id, "output": "c"}],
        "unknown": [{"tool_call_id": first.id, "output": "a"}, {"tool_call_id": "call_nope", "output": "b"}],
    }
    for case, outputs in bad.items():
        answer = api(runs_service, "POST", path, json={"tool_outputs": outputs})
        assert answer.status_code == 400, case
        assert answer.json()["error"]["param"].startswith("tool_outputs"), case
    not_a_list = api(runs_service, "POST", path, json={"tool_outputs": "x"})
    assert not_a_list.status_code == 400 and not_a_list.json()["error"]["param"] == "tool_outputs"
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"

    outputs = [{"tool_call_id": second.id, "output": "18C"}, {"tool_call_id": first.id, "output": "20C"}]
    racing = [gevent.spawn(api, runs_service, "POST", path, json={"tool_outputs": outputs}) for _ in range(6)]
    gevent.joinall(racing, timeout=30)
    assert sorted(g.value.status_code for g in racing) == [200] + [400] * 5  # one submit carries the run on
    run = wait_status(sdk, thread.id, run.id, {"completed"})
    first_request, sent_body = (r["body"] for r in upstream.requests(match=marker)[-2:])
    assert first_request["tool_choice"] == "required" and sent_body["tool_choice"] == "auto"
    sent = sent_body["messages"]
    assert [m.get("tool_call_id") for m in sent[-2:]] == [first.id, second.id]
    assert [m["content"] for m in sent[-2:]] == ["20C", "18C"]
    late = api(runs_service, "POST", path, json={"tool_outputs": outputs})
    assert late.status_code == 400 and "completed" in late.json()["error"]["message"]


def test_cancel_while_requires_action_is_immediate(sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "getCurrentWeather", "arguments": {"location": "Oslo"}}]}, match=marker)
    thread = _thread(sdk, f"Oslo? {marker}")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert run.status == "requires_action"
    cancelled = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at and cancelled.required_action is None
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert step.status == "cancelled" and step.cancelled_at
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_cancel_in_progress_stops_the_upstream_call(runs_service, sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": "one two three four five six seven eight nine ten", "delay": 0.5}, match=marker)
    thread = _thread(sdk, f"count {marker}")
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    wait_status(sdk, thread.id, run.id, {"in_progress"})
    working = api(runs_service, "GET", f"/threads/{thread.id}/runs/{run.id}")
    assert working.headers["openai-poll-after-ms"] == "250"  # the SDK's poll helpers follow it
    gevent.sleep(0.7)  # a few words arrived

    answer = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert answer.status == "cancelling"
    run = wait_status(sdk, thread.id, run.id, {"cancelled"}, timeout=5)
    assert run.cancelled_at and run.completed_at is None
    assert upstream_outcome(upstream, marker, "disconnected")["chunks_sent"] < 12
    message = sdk.beta.threads.messages.list(thread.id).data[0]
    assert message.role == "assistant" and message.status == "incomplete"
    assert message.incomplete_details.reason == "run_cancelled" and message.content[0].text.value.startswith("one")
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert step.status == "cancelled"


def test_steps_list_paginates_and_retrieve_accepts_include(runs_service, sdk, assistant, upstream):
    marker = upstream.marker()
    call = {"name": "getCurrentWeather", "arguments": {"location": "Lima"}}
    upstream.script({"tool_calls": [call]}, {"tool_calls": [call]}, {"content": "Done."}, match=marker)
    thread = _thread(sdk, f"Lima twice {marker}")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    for _ in range(2):
        outputs = [{"tool_call_id": c.id, "output": "9C"} for c in run.required_action.submit_tool_outputs.tool_calls]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=thread.id, run_id=run.id, tool_outputs=outputs, poll_interval_ms=20
        )
    assert run.status == "completed"
    steps = sdk.beta.threads.runs.steps
    every = steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in every] == ["tool_calls", "tool_calls", "message_creation"]
    page = steps.list(run.id, thread_id=thread.id, order="asc", limit=2)
    assert [s.id for s in page.data] == [s.id for s in every[:2]] and page.has_more
    rest = steps.list(run.id, thread_id=thread.id, order="asc", after=every[1].id)
    assert [s.id for s in rest.data] == [every[2].id] and not rest.has_more
    before = steps.list(run.id, thread_id=thread.id, order="desc", before=every[0].id, limit=1)
    assert [s.id for s in before.data] == [every[1].id]
    one = steps.retrieve(every[0].id, thread_id=thread.id, run_id=run.id,
                         include=["step_details.tool_calls[*].file_search.results[*].content"])
    assert one.id == every[0].id and one.run_id == run.id and one.usage.total_tokens > 0
    raw = api(runs_service, "GET", f"/threads/{thread.id}/runs/{run.id}/steps")
    assert_schema(raw.json(), "ListRunStepsResponse")
    with pytest.raises(openai.NotFoundError):
        steps.retrieve("step_nope", thread_id=thread.id, run_id=run.id)


def test_include_takes_only_the_spec_value_else_a_400_naming_it(runs_service, sdk, assistant, upstream):
    marker = upstream.marker()
    thread = _thread(sdk, f"include {marker}")
    for stream in (False, True):  # refused before any run starts, streamed or not
        bad = api(runs_service, "POST", f"/threads/{thread.id}/runs", params={"include[]": "step_details.everything"},
                  json={"assistant_id": assistant.id, "stream": stream})
        error = bad.json()["error"]
        assert bad.status_code == 400 and error["param"] == "include[0]" and error["type"] == "invalid_request_error"
    assert sdk.beta.threads.runs.list(thread.id).data == []
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, include=[SEARCH_CONTENT],
                                                poll_interval_ms=20)
    assert run.status == "completed"
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, include=[SEARCH_CONTENT]).data
    for path in (f"/threads/{thread.id}/runs/{run.id}/steps", f"/threads/{thread.id}/runs/{run.id}/steps/{step.id}"):
        bad = api(runs_service, "GET", path, params=[("include[]", SEARCH_CONTENT), ("include[]", "file_search.results")])
        error = bad.json()["error"]
        assert bad.status_code == 400 and error["param"] == "include[1]" and error["type"] == "invalid_request_error"
        assert SEARCH_CONTENT in error["message"] and set(error) == {"message", "type", "param", "code"}
        single = api(runs_service, "GET", path, params={"include": "nope"})
        assert single.status_code == 400 and single.json()["error"]["param"] == "include"


def test_runs_list_update_and_not_found(runs_service, sdk, assistant):
    thread = _thread(sdk, "list me")
    ids = []
    for _ in range(3):
        ids.append(sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20).id)
    listed = sdk.beta.threads.runs.list(thread_id=thread.id, limit=2)
    assert [r.id for r in listed.data] == ids[::-1][:2] and listed.has_more
    assert [r.id for r in sdk.beta.threads.runs.list(thread_id=thread.id, order="asc", after=ids[0]).data] == ids[1:]
    assert_schema(api(runs_service, "GET", f"/threads/{thread.id}/runs").json(), "ListRunsResponse")
    updated = sdk.beta.threads.runs.update(ids[0], thread_id=thread.id, metadata={"reviewed": "yes"})
    assert updated.metadata == {"reviewed": "yes"} and updated.status == "completed"
    too_many = api(runs_service, "POST", f"/threads/{thread.id}/runs/{ids[0]}", json={"metadata": {f"k{i}": "v" for i in range(17)}})
    assert too_many.status_code == 400 and too_many.json()["error"]["param"].startswith("metadata")
    for path in (f"/threads/{thread.id}/runs/run_nope", f"/threads/thread_nope/runs/{ids[0]}",
                 f"/threads/{thread.id}/runs/{ids[0]}/steps/step_nope"):
        missing = api(runs_service, "GET", path)
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error", path
    for body, param in (({}, "assistant_id"), ({"assistant_id": assistant.id, "temperature": 3}, "temperature"),
                        ({"assistant_id": assistant.id, "max_completion_tokens": 10}, "max_completion_tokens"),
                        ({"assistant_id": assistant.id, "truncation_strategy": {"type": "first"}}, "truncation_strategy.type"),
                        ({"assistant_id": "asst_nope"}, "assistant_id")):
        answer = api(runs_service, "POST", f"/threads/{thread.id}/runs", json=body)
        assert answer.status_code in (400, 404) and answer.json()["error"]["param"] == param, body


def test_create_thread_and_run_and_thread_delete_removes_runs(runs_service, sdk, assistant):
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "new thread"}]}, poll_interval_ms=20
    )
    assert run.status == "completed"
    assert sdk.beta.threads.messages.list(run.thread_id).data[0].run_id == run.id
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id).data
    assert sdk.beta.threads.delete(run.thread_id).deleted
    assert api(runs_service, "GET", f"/threads/{run.thread_id}/runs/{run.id}").status_code == 404
    assert steps and runs_service_store_missing(runs_service, run, steps)


def runs_service_store_missing(service, run, steps) -> bool:
    """Tell whether the run and its steps are gone from the service's store."""
    store = service.open_store()
    try:
        gone = [store.get(f"thread#{run.thread_id}", f"run#{run.id}")]
        gone += [store.get(f"run#{run.id}", f"step#{s.id}") for s in steps]
        return all(item is None for item in gone)
    finally:
        store.close()


def test_no_upstream_configured_is_a_503_and_leaves_no_run(bare_service):
    sdk = sdk_on(bare_service)
    assistant = sdk.beta.assistants.create(model="gpt-4o")
    thread = _thread(sdk, "anyone there?")
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert caught.value.status_code == 503 and "UPSTREAM_BASE_URL" in caught.value.message
    assert sdk.beta.threads.runs.list(thread_id=thread.id).data == []
    sdk.beta.threads.messages.create(thread.id, role="user", content="the thread is still free")
