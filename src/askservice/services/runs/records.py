"""Run and run-step items, their API objects, and the conditional status change of a run.

A run is the item `keys.run(thread, run)`, a step `keys.step(run, step)`; the fields of the API
object are top-level attributes (so that a metadata update and the executor's transitions
touch different attributes), next to `owner` and the lease (`leases.FIELDS`). While a run is
active it sits in the owner index under `gsi1pk = keys.ACTIVE_RUNS`, which is how the sweeper
finds runs whose worker died.
"""

from __future__ import annotations

import time
from typing import Iterable

from askservice.services.engine import leases
from askservice.store.base import Item, Operation, Store, Update
from askservice.store.conflicts import retry_on_conflict

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
LEASED = frozenset({"queued", "in_progress", "cancelling"})
EXECUTING = frozenset({"in_progress", "cancelling"})
"""The states in which an executor carries the run (and may end it)."""
STAMPS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
"""The timestamp attribute each end state sets, on steps and runs (a run object has no `expired_at`)."""
CHANGE_TRIES = 20
"""Tries of a status change that loses races with writers that leave the status alone (metadata, lease)."""
SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
"""The spec's one `include[]` value: file_search result contents in run steps."""

RUN_FIELDS = (
    "id", "object", "created_at", "thread_id", "assistant_id", "status", "required_action", "last_error",
    "expires_at", "started_at", "cancelled_at", "failed_at", "completed_at", "incomplete_details", "model",
    "instructions", "tools", "metadata", "usage", "temperature", "top_p", "max_prompt_tokens",
    "max_completion_tokens", "truncation_strategy", "tool_choice", "parallel_tool_calls", "response_format",
)
STEP_FIELDS = (
    "id", "object", "created_at", "run_id", "assistant_id", "thread_id", "type", "status", "cancelled_at",
    "completed_at", "expired_at", "failed_at", "last_error", "step_details", "usage", "metadata",
)


class StateChanged(Exception):
    """The run left the states a writer expected (cancelled, swept, finished elsewhere)."""

    def __init__(self, item: Item | None):
        super().__init__(item.get("status") if item else "deleted")
        self.item = item


def now() -> int:
    """Return the current unix time in seconds, as the API's timestamps are."""
    return int(time.time())


def run_object(item: Item) -> dict:
    """Return the API `thread.run` object of a run item."""
    return {name: item.get(name) for name in RUN_FIELDS}


def step_object(item: Item) -> dict:
    """Return the API `thread.run.step` object of a step item."""
    return {name: item.get(name) for name in STEP_FIELDS}


def shaped_step(item: Item, include: Iterable[str] = ()) -> dict:
    """Return a step object; file_search result contents only when `include` asks for them."""
    step = step_object(item)
    if SEARCH_CONTENT in include or step["type"] != "tool_calls":
        return step
    calls = []
    for call in step["step_details"].get("tool_calls") or []:
        if call.get("type") == "file_search" and call.get("file_search", {}).get("results"):
            results = [{k: v for k, v in r.items() if k != "content"} for r in call["file_search"]["results"]]
            call = {**call, "file_search": {**call["file_search"], "results": results}}
        calls.append(call)
    return {**step, "step_details": {**step["step_details"], "tool_calls": calls}}


def change(
    store: Store, item: Item, set: Item, remove: Iterable[str] = (), allowed: Iterable[str] = ACTIVE,
    also: Iterable[Operation] = (),
) -> Item:
    """Write `set`/`remove` on a run at its version, as long as its status is in `allowed`.

    `also`: writes that go in the same transaction (a step, a message), all or none. A
    concurrent writer (a metadata update, a lease renewal) only makes it re-read and retry; a
    status outside `allowed` (or a deleted run) raises StateChanged with the current item.
    """
    allowed, remove, also = frozenset(allowed), tuple(remove), list(also)

    def attempt(n: int) -> Item:
        current = item if n == 0 else store.get(item["pk"], item["sk"])
        if current is None or current.get("status") not in allowed:
            raise StateChanged(current)
        pk, sk, version = current["pk"], current["sk"], current["version"]
        if not also:
            return store.update(pk, sk, set=set, remove=remove, expected_version=version)
        store.transact([Update(pk, sk, set=set, remove=remove, expected_version=version), *also])
        written = {k: v for k, v in current.items() if k not in remove}
        written.update(set, version=current["version"] + 1)
        return written

    return retry_on_conflict(attempt, CHANGE_TRIES, lambda: StateChanged(store.get(item["pk"], item["sk"])))


def finish_fields(status: str) -> tuple[Item, tuple[str, ...]]:
    """Return the attributes to set and remove when a run ends in `status` (it leaves the active index)."""
    fields: Item = {"status": status, "required_action": None}
    if status != "expired":
        fields["expires_at"] = None
        if status in STAMPS:
            fields[STAMPS[status]] = now()
    return fields, (*leases.FIELDS, "gsi1pk", "gsi1sk")

