"""Run steps: opened only while their run exists; a stopped run's open steps ended with their timestamp."""

from __future__ import annotations

import pytest

from askservice.services import build_services, keys
from askservice.services.runs.steps import closed
from askservice.store.base import ABSENT, ConditionFailed, Put

OWNER = "client-a"


@pytest.fixture
def services(settings_for):
    services = build_services(settings_for())
    yield services
    services.sweeper.close()
    services.store.close()


def _run(services) -> dict:
    thread = services.threads.create(OWNER, {})
    pk, sk = keys.run(thread["id"], "run_1")
    run = {"pk": pk, "sk": sk, "id": "run_1", "owner": OWNER, "thread_id": thread["id"], "assistant_id": "asst_1"}
    services.store.put(run, ABSENT)
    return run


def _writing(services, run: dict) -> tuple[dict, dict]:
    """Open a message_creation step and its message, as a run's first text does."""
    message = services.runs.executions.records.new_assistant_item(OWNER, run["thread_id"], "asst_1", run["id"])
    step = services.runs.steps.open(run, "message_creation",
                                    {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
                                    [Put(message, ABSENT)])
    return message, step


def test_open_steps_are_ended_in_the_run_status_and_their_message_marked_incomplete(services):
    steps, run = services.runs.steps, _run(services)
    message, writing = _writing(services, run)
    done = steps.open(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
    done = services.store.put(closed(done, "completed"), done["version"])
    assert done["completed_at"] and writing["version"] == 1

    error = {"code": "server_error", "message": "gone"}
    (ended,) = steps.end_open([writing, done], "failed", error, message_reason="run_failed")

    assert (ended["id"], ended["status"], ended["last_error"]) == (writing["id"], "failed", error)
    assert ended["failed_at"]
    assert [s["status"] for s in steps.load(run["id"])] == ["failed", "completed"]
    stored = services.store.get(*keys.message(run["thread_id"], message["id"]))
    assert stored["status"] == "incomplete" and stored["incomplete_details"] == {"reason": "run_failed"}


def test_an_executor_ends_its_steps_without_touching_the_message_it_holds(services):
    steps, run = services.runs.steps, _run(services)
    message, writing = _writing(services, run)

    (ended,) = steps.end_open([writing], "cancelled")

    assert ended["status"] == "cancelled" and ended["cancelled_at"] and ended["last_error"] is None
    assert services.store.get(*keys.message(run["thread_id"], message["id"]))["status"] == "in_progress"


def test_a_run_that_is_gone_gets_no_new_step(services):
    steps, run = services.runs.steps, _run(services)
    services.store.delete(run["pk"], run["sk"])  # its thread was deleted meanwhile
    with pytest.raises(ConditionFailed):
        steps.open(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
    assert steps.load(run["id"]) == []
