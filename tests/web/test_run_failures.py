"""Runs that go wrong: upstream faults, token limits, expiry, a worker killed mid-run, other clients."""

from __future__ import annotations

import os
import signal
import time

import openai
import pytest
import requests

from tests.servers import wait_until, worker_pids
from tests.web.run_support import SDK_DEPRECATIONS, WEATHER_TOOL, wait_status, weather_script
from tests.web.support import KEY_B, api, sdk_on

pytestmark = SDK_DEPRECATIONS
FINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


@pytest.fixture
def sdk(runs_short_service):
    return sdk_on(runs_short_service)


@pytest.fixture
def assistant(sdk):
    return sdk.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])


def _run(sdk, assistant, text: str, **kwargs):
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, **kwargs)
    return thread, run


@pytest.mark.parametrize(
    "fault, code",
    [
        ({"status": 429, "retry_after": 7}, "rate_limit_exceeded"),
        ({"status": 500}, "server_error"),
        ({"latency": 3}, "server_error"),  # no first byte within UPSTREAM_TIMEOUT (1 s)
        ({"content": "half an answer and then nothing", "cut_after": 3}, "server_error"),
        ({"raw": "not json at all"}, "server_error"),
        ({"status": 400}, "invalid_prompt"),
    ],
    ids=["429", "500", "slow", "cut", "garbled", "refused"],
)
def test_upstream_fault_fails_the_run_with_its_code(sdk, assistant, upstream, fault, code):
    marker = upstream.marker()
    upstream.script(fault, match=marker)
    thread, run = _run(sdk, assistant, f"fault {marker}")
    assert run.status == "queued"
    run = wait_status(sdk, thread.id, run.id, FINAL, timeout=15)
    assert run.status == "failed" and run.failed_at and run.last_error.code == code and run.last_error.message
    messages = sdk.beta.threads.messages.list(thread.id).data
    if "cut_after" in fault:
        assert messages[0].role == "assistant" and messages[0].status == "incomplete"
        assert messages[0].incomplete_details.reason == "run_failed"
        (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert step.status == "failed" and step.last_error.code == "server_error"
    else:
        assert [m.role for m in messages] == ["user"]
    again = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert again.status == "completed"  # the thread is free again


def test_a_run_longer_than_its_lease_keeps_it(sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": " ".join(["tick"] * 10), "delay": 0.4}, match=marker)  # 4 s, leases of 1.5 s
    thread, run = _run(sdk, assistant, f"slow but alive {marker}")
    run = wait_status(sdk, thread.id, run.id, FINAL, timeout=20)
    assert run.status == "completed" and run.last_error is None


def test_max_completion_tokens_makes_the_run_incomplete(sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": "a long answer cut short", "finish_reason": "length"}, match=marker)
    thread, run = _run(sdk, assistant, f"long {marker}", max_completion_tokens=256)
    run = wait_status(sdk, thread.id, run.id, FINAL)
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"
    assert upstream.requests(match=marker)[-1]["body"]["max_tokens"] == 256
    message = sdk.beta.threads.messages.list(thread.id).data[0]
    assert message.status == "incomplete" and message.incomplete_details.reason == "max_tokens"
    assert message.content[0].text.value == "a long answer cut short"


def test_max_prompt_tokens_drops_old_messages_or_stops(sdk, assistant, upstream):
    marker = upstream.marker()
    thread = sdk.beta.threads.create(messages=[
        {"role": "user", "content": f"old {'filler ' * 300} {marker}"}, {"role": "user", "content": f"recent {marker}"},
    ])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, max_prompt_tokens=256,
                                                poll_interval_ms=20)
    assert run.status == "completed"
    sent = upstream.requests(match=marker)[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [f"recent {marker}"]

    marker = upstream.marker()
    thread, run = _run(sdk, assistant, f"{'huge ' * 400} {marker}", max_prompt_tokens=256)
    run = wait_status(sdk, thread.id, run.id, FINAL)
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_prompt_tokens"
    assert upstream.requests(match=marker) == []


def test_requires_action_expires(sdk, assistant, upstream):
    marker = upstream.marker()
    weather_script(upstream, marker)
    thread, run = _run(sdk, assistant, f"weather {marker}")
    run = wait_status(sdk, thread.id, run.id, {"requires_action"})
    assert run.expires_at >= time.time()
    time.sleep(max(0.0, run.expires_at - time.time()) + 1.2)

    run = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id)

    assert run.status == "expired" and run.required_action is None
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert step.status == "expired" and step.expired_at
    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_x", "output": "x"}]
        )


def test_killed_worker_run_is_failed_by_the_sweep(runs_short_service, sdk, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": " ".join(["slow"] * 60), "delay": 0.5}, match=marker)
    thread, run = _run(sdk, assistant, f"long job {marker}")
    wait_status(sdk, thread.id, run.id, {"in_progress"})
    old = worker_pids(runs_short_service.pid)
    assert old

    for pid in old:
        os.kill(pid, signal.SIGKILL)  # mid-run, no goodbye

    # New workers come up; one request wakes a sweeper. Nobody reads the run: the sweep fails it.
    wait_until(lambda: set(worker_pids(runs_short_service.pid)) - set(old), timeout=20, what="respawned workers")
    wait_until(lambda: requests.get(runs_short_service.url("/v1/health"), timeout=2).ok, timeout=20, what="health")
    store = runs_short_service.open_store()
    try:
        item = wait_until(
            lambda: (lambda i: i if i["status"] != "in_progress" else None)(store.get(f"thread#{thread.id}", f"run#{run.id}")),
            timeout=15, what="the sweep",
        )
    finally:
        store.close()
    assert item["status"] == "failed" and item["last_error"]["code"] == "server_error"
    run = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert run.status == "failed" and run.last_error.code == "server_error"
    assert sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                 poll_interval_ms=20).status == "completed"


def test_a_waiting_run_outlives_itsworker_pids(runs_service, upstream):
    """On the service with default timers: the run has minutes to wait, however slow the respawn."""
    sdk = sdk_on(runs_service)
    assistant = sdk.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    marker = upstream.marker()
    weather_script(upstream, marker)
    thread, run = _run(sdk, assistant, f"weather after restart {marker}")
    run = wait_status(sdk, thread.id, run.id, {"requires_action"})
    old = worker_pids(runs_service.pid)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(set(worker_pids(runs_service.pid)) - set(old)) == len(old), timeout=20, what="respawn")
    wait_until(lambda: requests.get(runs_service.url("/v1/health"), timeout=2).ok, timeout=20, what="health")

    outputs = [{"tool_call_id": c.id, "output": "68F"} for c in run.required_action.submit_tool_outputs.tool_calls]
    run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs, poll_interval_ms=20
    )

    assert run.status == "completed"  # no lease while waiting: nothing to lose with the workers


def test_another_clients_run_is_not_found(runs_short_service, sdk, assistant):
    thread, run = _run(sdk, assistant, "mine")
    other = sdk_on(runs_short_service, key=KEY_B)
    for call in (
        lambda: other.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.cancel(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.steps.list(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert api(runs_short_service, "GET", f"/threads/{thread.id}/runs/{run.id}", headers={"Authorization": "Bearer nope"}).status_code == 401
