"""Run and run-step items and their API objects (a run's status changes with the engine's `change`).

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
from askservice.store.base import Item

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
LEASED = frozenset({"queued", "in_progress", "cancelling"})
EXECUTING = frozenset({"in_progress", "cancelling"})
"""The states in which an executor carries the run (and may end it)."""
STAMPS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
"""The timestamp attribute each end state sets, on steps and runs (a run object has no `expired_at`)."""
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


def finish_fields(status: str) -> tuple[Item, tuple[str, ...]]:
    """Return the attributes to set and remove when a run ends in `status` (it leaves the active index)."""
    fields: Item = {"status": status, "required_action": None}
    if status != "expired":
        fields["expires_at"] = None
        if status in STAMPS:
            fields[STAMPS[status]] = now()
    return fields, (*leases.FIELDS, "gsi1pk", "gsi1sk")

