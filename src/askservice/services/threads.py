"""Threads: the item `thread#T` / `meta` (its messages and runs share the partition).

A thread is created with its initial messages in one transaction (the meta item in the last
one when there are more than a transaction holds, so a thread is never seen half-made).
Deleting a thread removes its meta item first (it is gone for every reader at once), then lets
`delete_runs` clear what lives elsewhere (the runs' steps), then deletes
the rest of the partition. Files that messages attach for `file_search` go into the thread's
vector store (`attach_for_search`), which a conditional write names in the thread.
"""

from __future__ import annotations

import time
from typing import Callable

from askservice import ids
from askservice.errors import ConflictError
from askservice.services import keys
from askservice.services.crud import modified, not_found, owned_by
from askservice.services.messages import request_item
from askservice.services.tool_resources import ResourceChecker, search_file_ids
from askservice.store.base import ABSENT, ConditionFailed, Put, Store
from askservice.store.conflicts import retry_on_conflict

MAX_TRANSACTION = 100
ATTACH_BUDGET = 10
"""Tries of `attach_for_search` against other writers of the thread before it answers 409."""
KIND = "thread"


def to_object(item: dict) -> dict:
    """Return the spec's ThreadObject for a thread item."""
    return {
        "id": item["id"], "object": "thread", "created_at": item["created_at"],
        "tool_resources": item.get("tool_resources") or {}, "metadata": item.get("metadata") or {},
    }


class ThreadsService:
    """Create, read, modify and delete a client's threads."""

    def __init__(self, store: Store, checker: ResourceChecker, delete_runs: Callable[[str], None]) -> None:
        self.store = store
        self.checker = checker
        self.delete_runs = delete_runs
        """Called with a thread's id after its meta item is deleted, before its partition is (runs' steps)."""

    def create(self, owner: str, params: dict) -> dict:
        """Create a thread with `messages`, `tool_resources` and `metadata`; return the ThreadObject."""
        thread_id = ids.new_id("thread_")
        messages = [
            request_item(self.checker, owner, thread_id, message, param=f"messages[{index}]")
            for index, message in enumerate(params.get("messages") or [])
        ]
        pk, sk = keys.thread(thread_id)
        item = {
            "pk": pk, "sk": sk, "id": thread_id, "owner": owner, "created_at": int(time.time()),
            "tool_resources": self.checker.add_for_search(
                owner, self.checker.tool_resources(owner, params.get("tool_resources")), search_file_ids(messages),
            ),
            "metadata": params.get("metadata") or {},
        }
        writes = [Put(m, ABSENT) for m in messages] + [Put(item, ABSENT)]
        for start in range(0, len(writes), MAX_TRANSACTION):
            self.store.transact(writes[start:start + MAX_TRANSACTION])
        return to_object(item)

    def item(self, thread_id: str) -> dict | None:
        """Return the thread item whoever owns it, or None."""
        return self.store.get(*keys.thread(thread_id)) if ids.is_valid(thread_id, "thread_") else None

    def owned(self, owner: str, thread_id: str) -> dict:
        """Return the client's thread item, or raise NotFoundError (param `thread_id`)."""
        return owned_by(self.item(thread_id), owner, KIND, thread_id, "thread_id")

    def get(self, owner: str, thread_id: str) -> dict:
        """Return a ThreadObject."""
        return to_object(self.owned(owner, thread_id))

    def modify(self, owner: str, thread_id: str, changes: dict) -> dict:
        """Replace `metadata` and/or `tool_resources` (ids checked; None leaves one); return the ThreadObject."""
        item = self.owned(owner, thread_id)
        fields = {}
        if changes.get("metadata") is not None:
            fields["metadata"] = changes["metadata"]
        if changes.get("tool_resources") is not None:
            fields["tool_resources"] = self.checker.tool_resources(owner, changes["tool_resources"])
        return modified(self.store, item, fields, to_object, lambda: not_found(KIND, thread_id, "thread_id"))

    def attach_for_search(self, owner: str, thread_item: dict, file_ids: list[str]) -> None:
        """Put files attached for `file_search` into the thread's vector store (made if missing)."""

        def attempt(n: int) -> None:
            thread = thread_item if n == 0 else self.owned(owner, thread_item["id"])  # changed meanwhile: look again
            before = thread.get("tool_resources") or {}
            after = self.checker.add_for_search(owner, before, file_ids)
            if after == before:
                return
            try:
                self.store.update(thread["pk"], thread["sk"], set={"tool_resources": after},
                                  expected_version=thread["version"])
            except ConditionFailed:  # another write won: drop the store made for this one
                self.checker.drop_store(owner, after["file_search"]["vector_store_ids"][0])
                raise

        retry_on_conflict(attempt, ATTACH_BUDGET,
                          lambda: ConflictError("The thread is changing too fast to attach files; try again."))

    def delete(self, owner: str, thread_id: str) -> dict:
        """Delete the thread, its messages, and its runs with their steps."""
        item = self.owned(owner, thread_id)
        self.store.delete(item["pk"], item["sk"])
        self.delete_runs(thread_id)
        self.store.delete_all(keys.thread_pk(thread_id))
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}
