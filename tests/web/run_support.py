"""Helpers of the run tests: raw SSE reading, waiting for a status, OpenAI's event orders."""

from __future__ import annotations

import json
import time

import pytest
import requests
from openai import OpenAI

SDK_DEPRECATIONS = [  # the pinned SDK marks the Assistants API (and its helpers) deprecated
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning"),
]
WEATHER = '{"temperature": 68, "unit": "F"}'
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "getCurrentWeather",
        "description": "Get the weather in location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["location"],
        },
    },
}
TEXT_MESSAGE = [
    "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
    "thread.message.in_progress", "thread.message.delta", "thread.message.completed", "thread.run.step.completed",
]
RUN_START = ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
TEXT_RUN = RUN_START + TEXT_MESSAGE + ["thread.run.completed", "done"]
TOOL_RUN = RUN_START + [
    "thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta", "thread.run.requires_action", "done",
]
SUBMITTED_RUN = ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"] + TEXT_MESSAGE + [
    "thread.run.completed", "done",
]


def read_sse(response: requests.Response) -> list[tuple[str, object]]:
    """Read a whole SSE answer into (event name, parsed data) pairs."""
    events, name, data = [], None, []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            payload = "\n".join(data)
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
            name, data = None, []
    return events


def collapse(names: list[str]) -> list[str]:
    """Fold runs of the same delta event into one, so orders compare whatever the chunking."""
    out: list[str] = []
    for name in names:
        if not (out and name == out[-1] and name.endswith(".delta")):
            out.append(name)
    return out


def wait_status(sdk: OpenAI, thread_id: str, run_id: str, statuses: set[str], timeout: float = 20.0):
    """Poll a run until its status is one of `statuses`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run = sdk.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run.status!r} after {timeout}s, wanted {statuses}")
        time.sleep(0.05)


def upstream_outcome(upstream, marker: str, outcome: str) -> dict:
    """Wait until the upstream's last request matching `marker` ended with `outcome`; return its record.

    The upstream notices a client that left only at its next write, a chunk delay later."""
    deadline = time.monotonic() + 10
    while True:
        record = upstream.requests(match=marker)[-1]
        if record["outcome"] == outcome or time.monotonic() > deadline:
            assert record["outcome"] == outcome, record
            return record
        time.sleep(0.05)


def weather_script(upstream, marker: str, answer: str = "It is 68 degrees F in San Francisco.") -> None:
    """Script a getCurrentWeather call, then `answer` once the output came back."""
    call = {"name": "getCurrentWeather", "arguments": {"location": "San Francisco, CA", "unit": "f"}}
    upstream.script({"tool_calls": [call], "chunks": 3}, {"content": answer}, match=marker)
