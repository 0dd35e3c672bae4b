"""The seed walkthroughs of runs, as written, with the official SDKs against gunicorn+gevent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from openai import AssistantEventHandler

from tests.schema import assert_schema
from tests.web.run_support import SDK_DEPRECATIONS, WEATHER, WEATHER_TOOL, weather_script
from tests.web.support import sdk_on

pytestmark = SDK_DEPRECATIONS
REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / ".cache/node/openai/node_modules"


def test_math_tutor(runs_service, upstream):
    sdk = sdk_on(runs_service)
    assistant = sdk.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4o",
    )
    thread = sdk.beta.threads.create()
    question = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
    sdk.beta.threads.messages.create(thread_id=thread.id, role="user", content=question)

    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
        poll_interval_ms=20,
    )

    assert run.status == "completed"
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens > 0
    assert run.started_at and run.completed_at and run.expires_at is None and run.last_error is None
    assert_schema(run.model_dump(mode="json"), "RunObject")
    messages = sdk.beta.threads.messages.list(thread_id=thread.id)
    answer = messages.data[0]
    assert answer.role == "assistant" and answer.assistant_id == assistant.id and answer.run_id == run.id
    assert answer.content[0].text.value == "echo: " + question
    assert [m.role for m in messages.data] == ["assistant", "user"]
    sent = upstream.requests(match="Jane Doe")[-1]["body"]
    assert sent["model"] == "gpt-4o"
    assert sent["messages"] == [
        {"role": "system", "content": "Please address the user as Jane Doe. The user has a premium account."},
        {"role": "user", "content": question},
    ]
    assert "tools" not in sent  # code_interpreter is stored, not offered: nothing runs code here
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert [s.type for s in steps.data] == ["message_creation"]
    assert steps.data[0].step_details.message_creation.message_id == answer.id
    assert_schema(steps.model_dump(mode="json"), "ListRunStepsResponse")


def _weather_bot(sdk):
    assistant = sdk.beta.assistants.create(
        name="Weather Bot",
        instructions="You are a weather bot. Use the provided functions to answer questions.",
        model="gpt-4o",
        tools=[WEATHER_TOOL],
    )
    return assistant


def _weather_question(runs_service, upstream):
    """Given the Weather Bot and a thread asking it for San Francisco's weather (the upstream scripted)."""
    sdk = sdk_on(runs_service)
    marker = upstream.marker()
    weather_script(upstream, marker)
    assistant = _weather_bot(sdk)
    thread = sdk.beta.threads.create()
    sdk.beta.threads.messages.create(thread.id, role="user", content=f"What's the weather in San Francisco? {marker}")
    return sdk, marker, assistant, thread


def test_weather_bot_polling(runs_service, upstream):
    sdk, marker, assistant, thread = _weather_question(runs_service, upstream)

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)

    assert run.status == "requires_action" and run.required_action.type == "submit_tool_outputs"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.id.startswith("call_") and call.function.name == "getCurrentWeather"
    assert json.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "f"}
    assert_schema(run.model_dump(mode="json"), "RunObject")

    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": WEATHER}], poll_interval_ms=20
    )

    assert run.status == "completed" and run.required_action is None
    answer = sdk.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert answer.content[0].text.value == "It is 68 degrees F in San Francisco."
    second = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert second[-2]["tool_calls"][0]["id"] == call.id
    assert second[-1] == {"role": "tool", "tool_call_id": call.id, "content": WEATHER}
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0].status == "completed" and steps[0].step_details.tool_calls[0].function.output == WEATHER


def test_weather_bot_event_handler_submits_on_requires_action(runs_service, upstream):
    """The cookbook pattern: a handler that answers `thread.run.requires_action` with a stream."""
    sdk, _, assistant, thread = _weather_question(runs_service, upstream)
    seen: list[str] = []
    texts: list[str] = []

    class EventHandler(AssistantEventHandler):
        def on_event(self, event):
            seen.append(event.event)
            if event.event == "thread.run.requires_action":
                self.handle_requires_action(event.data, event.data.id)

        def handle_requires_action(self, data, run_id):
            tool_outputs = []
            for tool in data.required_action.submit_tool_outputs.tool_calls:
                if tool.function.name == "getCurrentWeather":
                    tool_outputs.append({"tool_call_id": tool.id, "output": WEATHER})
            self.submit_tool_outputs(tool_outputs, run_id)

        def submit_tool_outputs(self, tool_outputs, run_id):
            with sdk.beta.threads.runs.submit_tool_outputs_stream(
                thread_id=self.current_run.thread_id,
                run_id=self.current_run.id,
                tool_outputs=tool_outputs,
                event_handler=EventHandler(),
            ) as stream:
                for text in stream.text_deltas:
                    texts.append(text)

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=EventHandler()) as stream:
        stream.until_done()

    assert "".join(texts) == "It is 68 degrees F in San Francisco."
    assert "thread.run.requires_action" in seen and seen[-1] == "thread.run.completed"
    runs = sdk.beta.threads.runs.list(thread_id=thread.id).data
    assert [r.status for r in runs] == ["completed"]


def test_weather_bot_node_sdk(runs_service, upstream):
    if not (NODE_MODULES / "openai/package.json").is_file():
        pytest.fail(f"the Node openai SDK is missing from {NODE_MODULES}: run `make node-openai`")
    marker = upstream.marker()
    for suffix in ("poll", "stream"):
        weather_script(upstream, f"{marker} {suffix}")
    result = subprocess.run(
        ["node", str(REPO / "tests/web/node/weather_bot.cjs"), runs_service.url("/v1"), marker],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["polling"] == {"status": "completed", "answer": "It is 68 degrees F in San Francisco."}
    streaming = out["streaming"]
    assert streaming["status"] == "completed" and streaming["text"] == streaming["answer"] == "It is 68 degrees F in San Francisco."
    assert streaming["events"][0] == "thread.run.created" and "thread.run.requires_action" in streaming["events"]
    assert streaming["events"][-1] == "thread.run.completed"
