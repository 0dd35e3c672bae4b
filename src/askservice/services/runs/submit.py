"""Submitting tool outputs: every pending call answered exactly once, then the run carries on.

One transaction moves the run `requires_action` -> `queued` (with a new lease, at its version)
and completes its tool step (at the step's version), so of two racing submits exactly one wins;
a new execution then carries the run on.
"""

from __future__ import annotations

from typing import Callable

from askservice import metrics
from askservice.errors import ConflictError, InvalidRequestError
from askservice.services.crud import not_found
from askservice.services.engine.events import Events
from askservice.services.engine.leases import Leases
from askservice.services.runs.records import run_object, step_object
from askservice.services.runs.settle import Settler
from askservice.services.runs.steps import Steps, closed
from askservice.store.base import Item, Put, Store, Update
from askservice.store.conflicts import retry_on_conflict

SUBMIT_TRIES = 20
"""Tries of a submit whose run changed meanwhile (a metadata update; a cancel or expiry ends it with a 400)."""


def answers(item: Item, outputs: list[dict]) -> dict[str, str]:
    """Check `outputs` against the run's pending calls; return the output of each call id."""
    if item["status"] != "requires_action":
        raise InvalidRequestError(f"Runs in status \"{item['status']}\" do not accept tool outputs.", param="run_id")
    pending = [c["id"] for c in item["required_action"]["submit_tool_outputs"]["tool_calls"]]
    given = [o.get("tool_call_id") for o in outputs]
    for index, call_id in enumerate(given):
        if call_id not in pending:
            raise InvalidRequestError(f"No tool call with id '{call_id}' is pending on this run.",
                                      param=f"tool_outputs[{index}].tool_call_id")
        if given.index(call_id) != index:
            raise InvalidRequestError(f"Tool call '{call_id}' is answered more than once.",
                                      param=f"tool_outputs[{index}].tool_call_id")
    if any(c not in given for c in pending):
        raise InvalidRequestError(f"Expected tool outputs for call_ids {pending}, got {given}.", param="tool_outputs")
    return {o["tool_call_id"]: o.get("output") or "" for o in outputs}


def answered(step: Item, answers: dict[str, str]) -> Item:
    """Return the tool step (unsaved) completed with the answers of its calls."""
    calls = [{**c, "output": answers[c["id"]]} if c["id"] in answers else c for c in step["chat_calls"]]
    details = [
        {**d, "function": {**d["function"], "output": answers[d["id"]]}} if d["id"] in answers else d
        for d in step["step_details"]["tool_calls"]
    ]
    return closed(step, "completed", chat_calls=calls, step_details={"type": "tool_calls", "tool_calls": details})


class Submitter:
    """Answer runs' pending tool calls and start their next execution (`start(run, events)`)."""

    def __init__(self, store: Store, leases: Leases, steps: Steps, settler: Settler,
                 start: Callable[[Item, Events], None]) -> None:
        self.store = store
        self.leases = leases
        self.steps = steps
        self.settler = settler
        self.start = start

    def submit(self, item: Item, outputs: list[dict], events: Events) -> dict:
        """Submit `outputs` to the run `item` (as just read and settled); return its run object."""

        def attempt(n: int) -> tuple[Item, Item, Item, dict]:
            current = item if n == 0 else self.settler.settle(self.store.get(item["pk"], item["sk"]))
            if current is None:
                raise not_found("run", item["id"], "run_id")
            given = answers(current, outputs)
            step = self.steps.item(current["id"], current["tool_step_id"])
            done = answered(step, given)
            fields = {"status": "queued", "required_action": None, **self.leases.grant()}
            self.store.transact([
                Update(current["pk"], current["sk"], set=fields, remove=("tool_step_id",),
                       expected_version=current["version"]),
                Put(done, step["version"]),
            ])
            return current, step, done, fields

        current, step, done, fields = retry_on_conflict(
            attempt, SUBMIT_TRIES,
            lambda: ConflictError("The run kept changing while its tool outputs were submitted; retry."),
        )
        run = {**current, **fields, "version": current["version"] + 1}
        run.pop("tool_step_id", None)
        done["version"] = step["version"] + 1
        metrics.run_status("queued")
        events.emit("thread.run.step.completed", step_object(done))
        events.emit("thread.run.queued", run_object(run))
        self.start(run, events)
        return run_object(run)
