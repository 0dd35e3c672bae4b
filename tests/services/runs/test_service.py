"""The runs service in process, on a real SQLite store and the scripted upstream.

What HTTP cannot reach deterministically: a run cancelled while still `queued`, every change
persisted before it is announced, the sweep of runs nobody works on, thread deletion.
"""

from __future__ import annotations

import gevent
import pytest

from askservice.services import build_services
from askservice.services.engine.events import Channel
from askservice.services.engine.leases import now_ms
from askservice.services.keys import ACTIVE_RUNS as ACTIVE_INDEX
from askservice.services.keys import run as run_key
from tests.web.run_support import WEATHER, upstream_outcome, weather_script

OWNER = "client-a"


@pytest.fixture
def services(settings_for, upstream):
    services = build_services(settings_for(upstream_base_url=upstream.base_url, run_expires_seconds=60))
    yield services
    services.sweeper.close()
    services.store.close()


@pytest.fixture
def assistant(services):
    tool = {"type": "function", "function": {"name": "getCurrentWeather", "parameters": {"type": "object"}}}
    return services.assistants.create(OWNER, {"model": "gpt-4o", "tools": [tool]})


def _thread(services, text: str) -> dict:
    return services.threads.create(OWNER, {"messages": [{"role": "user", "content": text}]})


class PersistedFirst(Channel):
    """A stream that checks, as each event arrives, that the store already says what it announces."""

    def __init__(self, services):
        super().__init__()
        self.store = services.store
        self.names: list[str] = []

    def emit(self, name: str, data: dict) -> None:
        self.names.append(name)
        kind, _, state = name.rpartition(".")
        if kind == "thread.run" and state != "created":
            item = self.store.get(*run_key(data["thread_id"], data["id"]))
        elif kind == "thread.run.step" and state not in ("created", "delta"):
            item = self.store.get(f"run#{data['run_id']}", f"step#{data['id']}")
        elif kind == "thread.message" and state not in ("created", "delta"):
            item = self.store.get(f"thread#{data['thread_id']}", f"msg#{data['id']}")
        else:
            item = None
        if item is not None:
            assert item["status"] == (data["status"]), name
        super().emit(name, data)

    def drain(self) -> list[str]:
        list(self)
        return self.names


def test_every_change_is_persisted_before_it_is_announced(services, assistant, upstream):
    marker = upstream.marker()
    weather_script(upstream, marker)
    thread = _thread(services, f"weather {marker}")

    first = PersistedFirst(services)
    run = services.runs.create(OWNER, thread["id"], {"assistant_id": assistant["id"]}, first)
    assert first.drain()[-1] == "thread.run.requires_action"
    call_id = services.runs.get(OWNER, thread["id"], run["id"])["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]

    second = PersistedFirst(services)
    services.runs.submit_tool_outputs(OWNER, thread["id"], run["id"], [{"tool_call_id": call_id, "output": WEATHER}], second)

    names = second.drain()
    assert names[:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"
    final = services.runs.get(OWNER, thread["id"], run["id"])
    assert final["status"] == "completed" and final["usage"]["total_tokens"] > 0
    assert services.store.get(*run_key(thread["id"], run["id"])).get("gsi1pk") is None  # out of the sweep's index


def test_a_queued_run_is_cancelled_at_once(services, assistant, upstream):
    marker = upstream.marker()
    thread = _thread(services, f"never asked {marker}")
    run = services.runs._new_run(OWNER, thread["id"], services.assistants.item(assistant["id"]), {})
    services.runs._claim_thread(thread["id"], run)  # accepted, and no executor has taken it yet

    cancelled = services.runs.cancel(OWNER, thread["id"], run["id"])

    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert services.runs.settler.active_run(services.threads.item(thread["id"])) is None
    events = Channel()
    services.runs.executions.execution({**run, "version": 1}, events, steps=[]).execute()  # an executor arriving late
    assert [name for name, _ in events] == ["thread.run.cancelled"]
    assert upstream.requests(match=marker) == []


def test_sweep_fails_abandoned_runs_and_expires_waiting_ones(services, assistant, upstream):
    marker = upstream.marker()
    weather_script(upstream, marker)
    waiting = _thread(services, f"waits {marker}")
    events = Channel()
    run = services.runs.create(OWNER, waiting["id"], {"assistant_id": assistant["id"]}, events)
    list(events)
    key = run_key(waiting["id"], run["id"])
    services.store.update(*key, set={"expires_at": 1})
    # A run whose worker died right after accepting it: queued, its lease run out, no executor.
    abandoned = _thread(services, "abandoned")
    ghost = services.runs._new_run(OWNER, abandoned["id"], services.assistants.item(assistant["id"]), {})
    ghost["lease_until_ms"] = now_ms() - 1
    services.runs._claim_thread(abandoned["id"], ghost)

    assert services.runs.sweep() == 2

    assert services.store.get(*key)["status"] == "expired"
    dead = services.store.get(*run_key(abandoned["id"], ghost["id"]))
    assert dead["status"] == "failed" and dead["last_error"]["code"] == "server_error" and dead["failed_at"]
    assert services.store.query_index(ACTIVE_INDEX, where={"thread_id": abandoned["id"]}).items == []
    (step,) = services.runs.steps.load(run["id"])
    assert step["status"] == "expired"
    assert services.runs.sweep() == 0


def test_deleting_a_thread_deletes_its_runs_and_steps(services, assistant, upstream):
    thread = _thread(services, "short lived")
    events = Channel()
    run = services.runs.create(OWNER, thread["id"], {"assistant_id": assistant["id"]}, events)
    list(events)
    steps = services.runs.steps.load(run["id"])
    assert steps

    services.threads.delete(OWNER, thread["id"])

    assert services.store.get(*run_key(thread["id"], run["id"])) is None
    assert services.store.query(f"run#{run['id']}").items == []


def test_a_stream_reader_that_leaves_does_not_stop_the_run(services, assistant, upstream):
    marker = upstream.marker()
    upstream.script({"content": "a b c d e f", "delay": 0.05}, match=marker)
    thread = _thread(services, f"drip {marker}")
    events = Channel()
    run = services.runs.create(OWNER, thread["id"], {"assistant_id": assistant["id"]}, events)
    events.detach()
    with gevent.Timeout(10):
        while services.runs.get(OWNER, thread["id"], run["id"])["status"] != "completed":
            gevent.sleep(0.05)
    assert services.runs.executions.records.history(thread["id"])[-1]["content"][0]["text"]["value"] == "a b c d e f"


def test_a_cancel_from_another_worker_stops_the_executor(services, settings_for, assistant, upstream):
    other = build_services(settings_for(upstream_base_url=upstream.base_url))  # a second worker, same store
    marker = upstream.marker()
    upstream.script({"content": " ".join(["slow"] * 30), "delay": 0.2}, match=marker)
    thread = _thread(services, f"cancel me elsewhere {marker}")
    events = Channel()
    run = services.runs.create(OWNER, thread["id"], {"assistant_id": assistant["id"]}, events)
    with gevent.Timeout(10):
        while services.runs.get(OWNER, thread["id"], run["id"])["status"] != "in_progress":
            gevent.sleep(0.02)
    gevent.sleep(0.3)
    try:
        assert other.runs.cancel(OWNER, thread["id"], run["id"])["status"] == "cancelling"
        with gevent.Timeout(5):  # the executor's watcher reads the run at least every 0.5 s
            names = [name for name, _ in events]
    finally:
        other.sweeper.close()
        other.store.close()
    assert names[-4:] == [
        "thread.run.cancelling", "thread.message.incomplete", "thread.run.step.cancelled", "thread.run.cancelled",
    ]
    upstream_outcome(upstream, marker, "disconnected")
