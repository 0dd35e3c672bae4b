"""The Responses API through the official Python SDK, against gunicorn+gevent on both store backends."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.schema import assert_schema, assert_stream_event
from tests.web.run_support import read_sse
from tests.web.support import KEY_B, api, sdk_on

WEATHER_TOOL = {
    "type": "function", "name": "get_weather", "description": "Get the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False},
    "strict": True,
}
STREAM_TEXT = [
    "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
]
TEXT_END = ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


def test_create_answers_and_stores(sdk, upstream, runs_short_service):
    marker = upstream.marker()
    upstream.script({"content": "Hello there.", "usage": {
        "prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 0}}},
        match=marker)

    response = sdk.responses.create(model="gpt-4o", input=f"Say hello {marker}", instructions="Be brief.",
                                    metadata={"k": "v"}, user="u-1", temperature=0.5)

    assert response.status == "completed" and response.output_text == "Hello there."
    assert response.id.startswith("resp_") and response.output[0].id.startswith("msg_")
    assert response.usage.input_tokens == 7 and response.usage.output_tokens == 3
    assert response.usage.input_tokens_details.cached_tokens == 2
    assert response.instructions == "Be brief." and response.metadata == {"k": "v"} and response.temperature == 0.5
    assert response.top_p == 1.0 and response.store is True and response.completed_at >= response.created_at
    assert_schema(api(runs_short_service, "GET", f"/responses/{response.id}").json(), "Response")
    sent = upstream.requests(match=marker)[-1]["body"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": f"Say hello {marker}"}]
    assert sent["model"] == "gpt-4o" and sent["temperature"] == 0.5 and sent["user"] == "u-1"
    assert "top_p" not in sent and "presence_penalty" not in sent  # not given: the upstream's defaults apply
    assert (response.model_extra["presence_penalty"], response.model_extra["frequency_penalty"]) == (0.0, 0.0)

    again = sdk.responses.retrieve(response.id)
    assert again.model_dump() == response.model_dump()
    items = sdk.responses.input_items.list(response.id)
    assert [i.type for i in items.data] == ["message"] and items.data[0].role == "user"
    assert_schema(api(runs_short_service, "GET", f"/responses/{response.id}/input_items").json(), "ResponseItemList")


def test_chain_replays_inputs_and_outputs(sdk, upstream):
    marker = upstream.marker()
    first = sdk.responses.create(model="m", input=f"one {marker}")
    second = sdk.responses.create(model="m", input="two", previous_response_id=first.id, instructions="New rules.")
    third = sdk.responses.create(model="m", input=[{"role": "developer", "content": "dev"},
                                                   {"role": "user", "content": [{"type": "input_text", "text": "three"}]}],
                                 previous_response_id=second.id)
    assert third.previous_response_id == second.id and third.output_text == "echo: three"
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert sent == [
        {"role": "user", "content": f"one {marker}"}, {"role": "assistant", "content": f"echo: one {marker}"},
        {"role": "user", "content": "two"}, {"role": "assistant", "content": "echo: two"},
        {"role": "system", "content": "dev"}, {"role": "user", "content": "three"},
    ]  # instructions are not carried over


def test_function_calling_loop(sdk, upstream, runs_short_service):
    marker = upstream.marker()
    upstream.script({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}},
                                    {"name": "get_weather", "arguments": {"city": "Rome"}}]},
                    {"content": "Sunny in both."}, match=marker)
    first = sdk.responses.create(model="m", input=f"weather? {marker}", tools=[WEATHER_TOOL])
    calls = [o for o in first.output if o.type == "function_call"]
    assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Rome"]
    assert all(c.id.startswith("fc_") and c.call_id.startswith("call_") and c.status == "completed" for c in calls)
    assert first.status == "completed" and first.tools[0].name == "get_weather"
    assert_schema(api(runs_short_service, "GET", f"/responses/{first.id}").json(), "Response")

    outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": f"{n} C"} for n, c in zip((20, 25), calls)]
    second = sdk.responses.create(model="m", previous_response_id=first.id, input=outputs, tools=[WEATHER_TOOL])
    assert second.output_text == "Sunny in both."
    sent = upstream.requests(match=marker)[-1]["body"]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][1]["tool_calls"][1]["function"]["arguments"] == '{"city": "Rome"}'
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool", "tool"]
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": calls[1].call_id, "content": "25 C"}


def test_structured_output_with_parse(sdk, upstream):
    class Event(BaseModel):
        name: str
        date: str

    marker = upstream.marker()
    upstream.script({"content": '{"name": "Fair", "date": "Friday"}'}, match=marker)
    parsed = sdk.responses.parse(model="m", input=f"extract {marker}", text_format=Event)
    assert parsed.output_parsed == Event(name="Fair", date="Friday")
    sent = upstream.requests(match=marker)[-1]["body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "Event"
    assert parsed.text.format.type == "json_schema"


def test_stream_events_in_order(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "a b c", "reasoning": "think hard"}, match=marker)
    with sdk.responses.stream(model="m", input=f"go {marker}") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert kinds[:5] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added", "response.reasoning_text.delta"]
    assert kinds[-1] == "response.completed" and kinds.count("response.output_text.delta") == 3
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].content[0].text == "think hard" and final.output_text == "a b c"
    assert sdk.responses.retrieve(final.id).output_text == "a b c"


def test_store_false_is_never_written(sdk, upstream):
    response = sdk.responses.create(model="m", input="quiet", store=False)
    assert response.status == "completed" and response.store is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as error:
        sdk.responses.create(model="m", input="more", previous_response_id=response.id)
    assert error.value.body["param"] == "previous_response_id"


def test_another_clients_response_is_a_404(sdk, runs_short_service):
    response = sdk.responses.create(model="m", input="mine")
    other = sdk_on(runs_short_service, KEY_B)
    for call in (lambda: other.responses.retrieve(response.id), lambda: other.responses.delete(response.id),
                 lambda: other.responses.input_items.list(response.id),
                 lambda: other.responses.create(model="m", input="x", previous_response_id=response.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    sdk.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)


FAULTS = {
    "rate limited": ({"status": 429, "retry_after": "1"}, "rate_limit_exceeded"),
    "server error": ({"status": 500}, "server_error"),
    "slow first byte": ({"latency": 2.5}, "server_error"),  # past UPSTREAM_TIMEOUT (1 s)
    "cut mid-answer": ({"content": "a b c d e f", "cut_after": 3}, "server_error"),
    "garbled stream": ({"raw": "data: {not json\n\n", "content_type": "text/event-stream"}, "server_error"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_an_upstream_fault_fails_the_response(sdk, upstream, runs_short_service, fault):
    spec, code = FAULTS[fault]
    marker = upstream.marker()
    upstream.script(spec, match=marker)
    response = sdk.responses.create(model="m", input=f"fail {marker}")
    assert response.status == "failed" and response.error.code == code
    assert all(item.status == "incomplete" for item in response.output)
    assert sdk.responses.retrieve(response.id).status == "failed"
    assert_schema(api(runs_short_service, "GET", f"/responses/{response.id}").json(), "Response")

    marker = upstream.marker()
    upstream.script(spec, match=marker)
    answer = api(runs_short_service, "POST", "/responses", json={"model": "m", "input": f"fail {marker}", "stream": True},
                 stream=True)
    events = read_sse(answer)
    assert events[-1][0] == "response.failed" and events[-1][1]["response"]["error"]["code"] == code


def test_max_output_tokens_is_incomplete(sdk, upstream):
    marker = upstream.marker()
    upstream.script({"content": "cut here", "finish_reason": "length"}, match=marker)
    response = sdk.responses.create(model="m", input=f"long {marker}", max_output_tokens=16)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert upstream.requests(match=marker)[-1]["body"]["max_tokens"] == 16


def test_bad_requests_are_400s(runs_short_service):
    cases = [
        ({"model": "m"}, "input"),
        ({"model": "m", "input": [{"type": "nope"}]}, "input[0].type"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_url": "http://x"}]}]},
         "input[0].content[0]"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content[0]"),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "m", "input": "x", "max_output_tokens": 3}, "max_output_tokens"),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]}, "input"),
    ]
    for body, param in cases:
        answer = api(runs_short_service, "POST", "/responses", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["param"] == param, answer.json()


def test_what_is_not_built_yet_is_a_clear_400(runs_short_service, sdk):
    response = sdk.responses.create(model="m", input="x")
    cases = [
        ("POST", "/responses", {"model": "m", "input": "x", "tools": [{"type": "code_interpreter"}]}, "tools[0].type"),
        ("POST", "/responses", {"model": "m", "input": "x", "background": True, "store": False}, "store"),
        ("GET", f"/responses/{response.id}?stream=true", None, "stream"),
        ("POST", f"/responses/{response.id}/cancel", None, "response_id"),
    ]
    for method, path, body, param in cases:
        answer = api(runs_short_service, method, path, json=body)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param, answer.text
    assert api(runs_short_service, "POST", "/responses/resp_nope/cancel").status_code == 404



def test_uploaded_files_are_inlined_as_text_and_images(sdk, upstream, runs_short_service):
    notes = sdk.files.create(file=("notes.md", b"# Plan\nShip on Friday."), purpose="user_data")
    image = sdk.files.create(file=("dot.png", b"\x89PNG\r\n\x1a\nfake"), purpose="vision")
    marker = upstream.marker()
    content = [{"type": "input_text", "text": f"summarise {marker}"}, {"type": "input_file", "file_id": notes.id},
               {"type": "input_image", "file_id": image.id},
               {"type": "input_file", "filename": "inline.txt", "file_data": "data:text/plain;base64,aGVsbG8gd29ybGQ="}]
    response = sdk.responses.create(model="m", input=[{"role": "user", "content": content}])
    assert response.status == "completed"
    sent = upstream.requests(match=marker)[-1]["body"]["messages"][0]["content"]
    assert sent[0] == {"type": "text", "text": f"summarise {marker}"}
    assert sent[1] == {"type": "text", "text": "[file notes.md]\n# Plan\nShip on Friday."}
    assert sent[2]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgpmYWtl"
    assert sent[3] == {"type": "text", "text": "[file inline.txt]\nhello world"}
    stored = sdk.responses.input_items.list(response.id).data[0]
    assert stored.content[1].file_id == notes.id  # kept as given

    other = sdk_on(runs_short_service, KEY_B)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="m", input=[{"role": "user", "content": content[:2]}])
    unreadable = sdk.files.create(file=("blob.bin", b"\x00\x01"), purpose="user_data")
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model="m", input=[{"role": "user", "content": [{"type": "input_file", "file_id": unreadable.id}]}])


def test_streamed_reasoning_and_parallel_calls_are_spec_events(sdk, upstream, runs_short_service):
    marker = upstream.marker()
    calls = [{"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_weather", "arguments": {"city": "Rome"}}]
    upstream.script({"reasoning": "two cities", "tool_calls": calls, "chunks": 3}, match=marker)
    body = {"model": "m", "input": f"weather {marker}", "tools": [WEATHER_TOOL], "stream": True}
    events = read_sse(api(runs_short_service, "POST", "/responses", json=body, stream=True))
    for name, data in events:
        assert_stream_event(data)
    kinds = [name for name, _ in events]
    assert kinds.count("response.output_item.added") == 3 and kinds.count("response.function_call_arguments.done") == 2
    final = events[-1][1]["response"]
    assert [o["type"] for o in final["output"]] == ["reasoning", "function_call", "function_call"]
    assert [json.loads(o["arguments"]) for o in final["output"][1:]] == [{"city": "Oslo"}, {"city": "Rome"}]
    assert_schema(final, "Response")

    upstream.script({"tool_calls": calls}, match=marker)
    with sdk.responses.stream(model="m", input=f"weather {marker}", tools=[WEATHER_TOOL]) as stream:
        done = stream.get_final_response()
    assert [c.name for c in done.output] == ["get_weather", "get_weather"]

    outputs = [{"type": "function_call_output", "call_id": o["call_id"], "output": "9 C"} for o in final["output"][1:]]
    reasoning = {k: final["output"][0][k] for k in ("type", "id", "summary", "content")}
    follow = sdk.responses.create(model="m", input=[reasoning, *outputs], previous_response_id=final["id"])
    assert follow.status == "completed"
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]  # reasoning kept, not sent
    items = api(runs_short_service, "GET", f"/responses/{follow.id}/input_items?order=asc").json()
    assert [i["type"] for i in items["data"]] == ["reasoning", "function_call_output", "function_call_output"]
    assert_schema(items, "ResponseItemList")


def test_compaction_replaces_the_chain_with_a_summary(sdk, upstream, runs_short_service):
    marker = upstream.marker()
    first = sdk.responses.create(model="m", input=f"My name is Ada {marker}")
    upstream.script({"content": "The user is Ada."}, match="Summarize the conversation above now.")
    compacted = sdk.responses.compact(model="m", previous_response_id=first.id, input="Remember that.")
    assert compacted.object == "response.compaction" and [o.type for o in compacted.output] == ["compaction"]
    sent = upstream.requests(match="Summarize the conversation above now.")[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "user"]
    assert_schema(api(runs_short_service, "POST", "/responses/compact",
                      json={"model": "m", "input": "hello"}).json(), "CompactResource")

    item = compacted.output[0].model_dump(exclude_none=True)
    follow = sdk.responses.create(model="m", input=[item, {"role": "user", "content": f"Who am I? {marker}"}])
    assert follow.status == "completed"
    assert upstream.requests(match=f"Who am I? {marker}")[-1]["body"]["messages"] == [
        {"role": "user", "content": "Summary of the conversation so far:\nThe user is Ada."},
        {"role": "user", "content": f"Who am I? {marker}"}]

    missing = api(runs_short_service, "POST", "/responses/compact", json={"input": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "model"
    forged = api(runs_short_service, "POST", "/responses",
                 json={"model": "m", "input": [{"type": "compaction", "encrypted_content": "not ours"}]})
    assert forged.status_code == 400 and forged.json()["error"]["param"] == "input"
