"""The Responses API migration walkthrough with the official Node SDK, against gunicorn+gevent on both
store backends (tests/web/node/responses_walkthrough.cjs; `make node-openai` installs the SDK)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / ".cache/node/openai/node_modules"
SCRIPT = REPO / "tests/web/node/responses_walkthrough.cjs"
CALLS = [{"name": "get_weather", "arguments": {"location": "Paris, France"}},
         {"name": "get_weather", "arguments": {"location": "Bogotá, Colombia"}}]
EVENT_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                   "participants": {"type": "array", "items": {"type": "string"}}},
    "required": ["name", "date", "participants"],
    "additionalProperties": False,
}


def _pinned_version() -> str:
    found = re.search(r"^NODE_OPENAI_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert found, "the Makefile pins no NODE_OPENAI_VERSION"
    return found.group(1)


def run_node(script: Path, *args: str) -> dict:
    """Run a Node script with the pinned SDK; return the JSON of its last line (its output on failure)."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: install Node.js 20 or later")
    package = NODE_MODULES / "openai/package.json"
    if not package.is_file():
        pytest.fail(f"the Node openai SDK is missing from {NODE_MODULES}: run `make node-openai`")
    version = json.loads(package.read_text())["version"]
    if version != _pinned_version():
        pytest.fail(f"the Node openai SDK is {version}, the Makefile pins {_pinned_version()}: run `make node-openai`")
    result = subprocess.run(
        ["node", str(script), *args], cwd=REPO,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)}, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"node {script.name} {' '.join(args[2:])} exited {result.returncode}:\n{result.stderr}\n{result.stdout}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def walk(service, marker: str, part: str) -> dict:
    """Run one part of the Node walkthrough on `service`."""
    return run_node(SCRIPT, service.url("/v1"), marker, part)


def test_chat_by_previous_response_id(runs_short_service, upstream):
    marker = upstream.marker()
    answers = ["Why did the scarecrow win an award? He was outstanding in his field.",
               "It is a pun: outstanding means excellent, and he stands in a field.",
               "I told my computer a joke about UDP. I am not sure it got it."]
    upstream.script(*({"content": a} for a in answers), match=marker)

    out = walk(runs_short_service, marker, "chat")

    turns = out["turns"]
    assert [t["output_text"] for t in turns] == answers and {t["status"] for t in turns} == {"completed"}
    assert [t["previous_response_id"] for t in turns] == [None, turns[0]["id"], turns[1]["id"]]
    sent = [r["body"]["messages"] for r in upstream.requests(match=marker)]
    assert len(sent) == 3
    assert sent[-1] == [
        {"role": "user", "content": f"tell me a joke {marker}"}, {"role": "assistant", "content": answers[0]},
        {"role": "user", "content": "explain why this is funny."}, {"role": "assistant", "content": answers[1]},
        {"role": "user", "content": "tell me another one"},
    ]
    assert sent[1] == sent[2][:3]


def test_function_calling_loop(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script({"tool_calls": CALLS}, {"content": "Paris: 14 °C. Bogotá: 19 °C."}, match=marker)

    out = walk(runs_short_service, marker, "functions")

    assert out["first"] == {"status": "completed", "output_types": ["function_call", "function_call"], "output_text": ""}
    calls = out["calls"]
    assert [json.loads(c["arguments"]) for c in calls] == [c["arguments"] for c in CALLS]
    assert all(c["id"].startswith("fc_") and c["call_id"].startswith("call_") and c["status"] == "completed" for c in calls)
    assert out["answer"] == {"status": "completed", "output_text": "Paris: 14 °C. Bogotá: 19 °C.",
                             "previous_response_id": out["first_id"]}
    first, second = (r["body"] for r in upstream.requests(match=marker))
    assert first["tools"] == second["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Get current temperature for a given location.", "strict": True,
        "parameters": {"type": "object", "required": ["location"], "additionalProperties": False,
                       "properties": {"location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"}}},
    }}]
    assert first.get("parallel_tool_calls", True) is True
    user, called, *answered = second["messages"]
    assert user == {"role": "user", "content": f"What's the weather like in Paris and Bogotá today? {marker}"}
    assert called["role"] == "assistant"
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in called["tool_calls"]] == [
        (c["call_id"], "get_weather", json.loads(c["arguments"])) for c in calls]
    assert answered == [{"role": "tool", "tool_call_id": o["call_id"], "content": o["output"]} for o in out["outputs"]]
    assert [json.loads(o["output"])["temperature_c"] for o in out["outputs"]] == [14, 19]


def test_structured_output(runs_short_service, upstream):
    marker = upstream.marker()
    fair = {"name": "Science Fair", "date": "Friday", "participants": ["Alice", "Bob"]}
    club = {"name": "Book club", "date": "Monday", "participants": ["Carol"]}
    upstream.script({"content": json.dumps(fair)}, match=f"{marker} create")
    upstream.script({"content": json.dumps(club)}, match=f"{marker} parse")

    out = walk(runs_short_service, marker, "structured")

    created = out["created"]
    assert created["status"] == "completed" and json.loads(created["output_text"]) == fair
    assert {k: created["format"][k] for k in ("type", "name", "strict", "schema")} == {
        "type": "json_schema", "name": "calendar_event", "strict": True, "schema": EVENT_SCHEMA}
    assert out["parsed"] == {"status": "completed", "output_parsed": club, "content_parsed": club}
    for suffix in ("create", "parse"):
        (request,) = upstream.requests(match=f"{marker} {suffix}")
        assert request["body"]["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "calendar_event", "strict": True, "schema": EVENT_SCHEMA}}
        assert request["body"]["messages"][0] == {"role": "system", "content": "Extract the event information."}


def test_stream_final_response_and_event_order(runs_short_service, upstream):
    marker = upstream.marker()
    upstream.script({"content": "double bubble bath", "reasoning": "say it fast"}, match=f"{marker} text")
    upstream.script({"tool_calls": CALLS, "chunks": 2}, match=f"{marker} calls")

    out = walk(runs_short_service, marker, "stream")

    text = out["text"]
    assert text["sequence"] == list(range(len(text["kinds"])))
    assert text["kinds"] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",  # the reasoning item
        "response.reasoning_text.delta", "response.reasoning_text.delta", "response.reasoning_text.delta",
        "response.reasoning_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",  # the message
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    assert text["deltas"] == ["double", " bubble", " bath"]
    assert text["snapshots"] == ["double", "double bubble", "double bubble bath"]
    assert text["final"]["status"] == "completed" and text["final"]["output_text"] == "double bubble bath"
    assert [(o["type"], o["status"], o["text"]) for o in text["final"]["output"]] == [
        ("reasoning", "completed", "say it fast"), ("message", "completed", "double bubble bath")]
    assert text["same_as_completed"] is True and text["retrieved_text"] == "double bubble bath"

    calls = out["calls"]
    assert calls["sequence"] == list(range(len(calls["kinds"])))
    args = ["response.function_call_arguments.delta"] * 2
    item = ["response.function_call_arguments.done", "response.output_item.done"]
    assert calls["kinds"] == ["response.created", "response.in_progress", "response.output_item.added", *args,
                              "response.output_item.added", *args, *item, *item, "response.completed"]
    assert [(o["type"], o["status"], o["name"], json.loads(o["arguments"]), o["parsed_arguments"])
            for o in calls["final"]["output"]] == [("function_call", "completed", c["name"], c["arguments"], c["arguments"])
                                                   for c in CALLS]  # strict tools: parsed by finalResponse()
    assert calls["same_as_completed"] is True and calls["final"]["output_text"] == "" and calls["retrieved_text"] == ""


def test_retrieve_input_items_and_delete(runs_short_service, upstream):
    marker = upstream.marker()

    out = walk(runs_short_service, marker, "manage")

    ids = out["ids"]
    assert out["retrieved"] == {"id": ids["second"], "previous_response_id": ids["first"], "output_text": "echo: second",
                                "same": True}
    assert [(i["type"], i["role"], i["text"]) for i in out["paged"]] == [
        ("message", "developer", "Answer in French."), ("message", "user", "second")]
    assert all(i["id"].startswith("msg_") for i in out["paged"])
    assert out["newest_first"] == ["user", "developer"]
    assert out["input_tokens"]["object"] == "response.input_tokens" and out["input_tokens"]["input_tokens"] > 0
    assert out["deleted"] == {"id": ids["second"], "object": "response", "deleted": True}
    assert out["first_still_there"] is True
    gone = {"not_found": True, "status": 404, "type": "invalid_request_error"}
    assert out["after_delete"] == {
        "retrieve": {**gone, "param": "response_id"}, "input_items": {**gone, "param": "response_id"},
        "delete": {**gone, "param": "response_id"}, "previous": {**gone, "param": "previous_response_id"},
    }
    assert upstream.requests(match=marker)[-1]["body"]["messages"] == [
        {"role": "user", "content": f"first {marker}"}, {"role": "assistant", "content": f"echo: first {marker}"},
        {"role": "system", "content": "Answer in French."}, {"role": "user", "content": "second"},
    ]
