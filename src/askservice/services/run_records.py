"""Run and run-step items: their keys, their API objects, and conditional status changes.

A run is the item `thread#T` / `run#R`, a step `run#R` / `step#S`; the fields of the API
object are top-level attributes (so that a metadata update and the executor's transitions
touch different attributes), next to `owner` and the lease (`lease_until_ms`, `lease_owner`).
While a run is active it sits in the owner index under `gsi1pk = ACTIVE_INDEX`, which is how
the sweeper finds runs whose worker died.
"""

from __future__ import annotations

import time
from typing import Iterable

from askservice.store.base import ConditionFailed, Item, Operation, Store, Update

ACTIVE_INDEX = "runs#active"
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
LEASED = frozenset({"queued", "in_progress", "cancelling"})

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
RETRIES = 20


class StateChanged(Exception):
    """The run left the states a writer expected (cancelled, swept, finished elsewhere)."""

    def __init__(self, item: Item | None):
        super().__init__(item.get("status") if item else "deleted")
        self.item = item


def now() -> int:
    """Return the current unix time in seconds, as the API's timestamps are."""
    return int(time.time())


def now_ms() -> int:
    """Return the current unix time in milliseconds (leases)."""
    return int(time.time() * 1000)


def run_key(thread_id: str, run_id: str) -> tuple[str, str]:
    """Return the (pk, sk) of a run."""
    return f"thread#{thread_id}", f"run#{run_id}"


def step_key(run_id: str, step_id: str) -> tuple[str, str]:
    """Return the (pk, sk) of a run step."""
    return f"run#{run_id}", f"step#{step_id}"


def run_object(item: Item) -> dict:
    """Return the API `thread.run` object of a run item."""
    return {name: item.get(name) for name in RUN_FIELDS}


def step_object(item: Item) -> dict:
    """Return the API `thread.run.step` object of a step item."""
    return {name: item.get(name) for name in STEP_FIELDS}


def new_step(run: Item, step_id: str, kind: str, details: dict) -> Item:
    """Return a fresh in-progress step item of `run`."""
    pk, sk = step_key(run["id"], step_id)
    return {
        "pk": pk, "sk": sk, "owner": run["owner"],
        "id": step_id, "object": "thread.run.step", "created_at": now(), "run_id": run["id"],
        "assistant_id": run["assistant_id"], "thread_id": run["thread_id"], "type": kind, "status": "in_progress",
        "cancelled_at": None, "completed_at": None, "expired_at": None, "failed_at": None, "last_error": None,
        "step_details": details, "usage": None, "metadata": None,
    }


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
    current = item
    for _ in range(RETRIES):
        if current is None or current.get("status") not in allowed:
            raise StateChanged(current)
        try:
            if not also:
                return store.update(current["pk"], current["sk"], set=set, remove=remove, expected_version=current["version"])
            store.transact([Update(current["pk"], current["sk"], set=set, remove=remove,
                                   expected_version=current["version"]), *also])
            written = {k: v for k, v in current.items() if k not in remove}
            written.update(set, version=current["version"] + 1)
            return written
        except ConditionFailed:
            current = store.get(item["pk"], item["sk"])
    raise StateChanged(current)


def finish_fields(status: str, at: int | None = None) -> tuple[Item, tuple[str, ...]]:
    """Return the attributes to set and remove when a run ends in `status`."""
    at = at if at is not None else now()
    stamp = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at"}.get(status)
    fields: Item = {"status": status, "required_action": None}
    if status != "expired":
        fields["expires_at"] = None
    if stamp:
        fields[stamp] = at
    return fields, ("lease_until_ms", "lease_owner", "gsi1pk", "gsi1sk")
