"""Messages of a thread: items `thread#T` / `msg#M` whose attributes are the MessageObject's fields.

Content is kept as OpenAI's parts (`text` parts carry `annotations`), so an item is its object
plus `pk`/`sk`/`version`. Ids are time-ordered, so `msg#ID` order is creation order and a page
is one store query. `MessagesService` is the API; `MessageRecords` is what runs use below it:
`new_assistant_item` and `finished_item` build their assistant messages, `history` reads a
thread, `mark_incomplete` closes a cut message (it needs nothing of runs, so runs can use it
while the API checks a thread's active run through the runs' settler).
"""

from __future__ import annotations

import time
from typing import Callable

from askservice import ids
from askservice.errors import InvalidRequestError
from askservice.services import keys
from askservice.services.crud import modified, not_found, objects
from askservice.services.tool_resources import ResourceChecker, search_file_ids
from askservice.store.base import ABSENT, Check, ConditionFailed, Page, Put, Store
from askservice.store.conflicts import retry_on_conflict

FIELDS = (
    "id", "object", "created_at", "thread_id", "status", "incomplete_details", "completed_at", "incomplete_at",
    "role", "content", "assistant_id", "run_id", "attachments", "metadata",
)
MARK_INCOMPLETE_BUDGET = 5
"""Tries of `mark_incomplete` against other writers of the message before it leaves the message as they made it."""
KIND = "message"


class _StillChanging(Exception):
    """`mark_incomplete` ran out of tries."""


def text_part(value: str) -> dict:
    """Return a stored text content part."""
    return {"type": "text", "text": {"value": value, "annotations": []}}


def content_parts(content: str | list[dict]) -> list[dict]:
    """Return request content (a string or request parts) as stored parts; 400 when empty."""
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    parts = []
    for part in content or []:
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            parts.append(text_part(part["text"]))
        else:
            parts.append(dict(part))
    if not parts or all(p.get("type") == "text" and not p["text"]["value"] for p in parts):
        raise InvalidRequestError("Message content must be non-empty.", param="content", code="empty_content")
    return parts


def new_item(thread_id: str, role: str, content: list[dict], *, status: str = "completed",
             assistant_id: str | None = None, run_id: str | None = None, attachments: list | None = None,
             metadata: dict | None = None) -> dict:
    """Return a new, unsaved message item with stored `content` parts."""
    message_id = ids.new_id("msg_")
    pk, sk = keys.message(thread_id, message_id)
    return {
        "pk": pk, "sk": sk, "id": message_id, "object": "thread.message", "created_at": int(time.time()),
        "thread_id": thread_id, "status": status, "incomplete_details": None, "completed_at": None,
        "incomplete_at": None, "role": role, "content": content, "assistant_id": assistant_id, "run_id": run_id,
        "attachments": attachments or [], "metadata": metadata or {},
    }


def to_object(item: dict) -> dict:
    """Return the spec's MessageObject for a message item."""
    return {name: item.get(name) for name in FIELDS}


def request_item(checker: ResourceChecker, owner: str, thread_id: str, params: dict, param: str = "") -> dict:
    """Return the unsaved item of a user-made message (`CreateMessageRequest` data), ids checked."""
    prefix = f"{param}." if param else ""
    role = params.get("role")
    if role not in ("user", "assistant"):
        raise InvalidRequestError("Invalid 'role': must be 'user' or 'assistant'.", param=f"{prefix}role")
    content = content_parts(params.get("content"))
    for index, part in enumerate(content):
        if part.get("type") == "image_file":
            checker.file(owner, part["image_file"]["file_id"], f"{prefix}content[{index}].image_file.file_id")
    attachments = params.get("attachments") or []
    for index, attachment in enumerate(attachments):
        checker.file(owner, attachment["file_id"], f"{prefix}attachments[{index}].file_id")
    return new_item(thread_id, role, content, attachments=attachments, metadata=params.get("metadata"))


class MessagesService:
    """Create, read, list, modify and delete the messages of a client's threads."""

    def __init__(self, store: Store, threads, checker: ResourceChecker,
                 active_run: Callable[[dict], dict | None]) -> None:
        self.store = store
        self.threads = threads
        self.checker = checker
        self.active_run = active_run
        """`active_run(thread_item)`: the thread's active run item, or None (a message waits for it to end)."""

    def create(self, owner: str, thread_id: str, params: dict) -> dict:
        """Add a message (`role`, `content`, `attachments`, `metadata`) to the thread; return the MessageObject."""
        thread = self.threads.owned(owner, thread_id)
        run = self.active_run(thread)
        if run is not None:
            raise InvalidRequestError(
                f"Can't add messages to {thread_id} while a run {run['id']} is active.", param="thread_id"
            )
        item = request_item(self.checker, owner, thread_id, params)
        self.threads.attach_for_search(owner, thread, search_file_ids([item]))
        try:  # together with the thread's existence, so a thread being deleted keeps no stray message
            self.store.transact([Check(thread["pk"], thread["sk"]), Put(item, ABSENT)])
        except ConditionFailed:
            raise not_found("thread", thread_id, "thread_id") from None
        return to_object(item)

    def owned(self, owner: str, thread_id: str, message_id: str) -> dict:
        """Return the message item of the client's thread, or raise NotFoundError (`thread_id` or `message_id`)."""
        self.threads.owned(owner, thread_id)
        item = self.store.get(*keys.message(thread_id, message_id)) if ids.is_valid(message_id, "msg_") else None
        if item is None:
            raise not_found(KIND, message_id, "message_id")
        return item

    def get(self, owner: str, thread_id: str, message_id: str) -> dict:
        """Return a MessageObject."""
        return to_object(self.owned(owner, thread_id, message_id))

    def list(self, owner: str, thread_id: str, *, limit: int = 20, order: str = "desc", after: str | None = None,
             before: str | None = None, run_id: str | None = None) -> Page:
        """Return a page of the thread's MessageObjects (one store query), optionally of one run."""
        thread = self.threads.owned(owner, thread_id)
        page = self.store.query(
            thread["pk"], keys.MESSAGE, limit=limit, order=order,
            after=keys.cursor(keys.MESSAGE, after), before=keys.cursor(keys.MESSAGE, before),
            where={"run_id": run_id} if run_id else None,
        )
        return objects(page, to_object)

    def modify(self, owner: str, thread_id: str, message_id: str, changes: dict) -> dict:
        """Replace the message's `metadata` (None leaves it); return the MessageObject."""
        item = self.owned(owner, thread_id, message_id)
        fields = {"metadata": changes["metadata"]} if changes.get("metadata") is not None else {}
        return modified(self.store, item, fields, to_object, lambda: not_found(KIND, message_id, "message_id"))

    def delete(self, owner: str, thread_id: str, message_id: str) -> dict:
        """Delete the message."""
        item = self.owned(owner, thread_id, message_id)
        self.store.delete(item["pk"], item["sk"])
        return {"id": message_id, "object": "thread.message.deleted", "deleted": True}



class MessageRecords:
    """The message items of runs: read a thread's history, build and close assistant messages."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def history(self, thread_id: str, last: int | None = None) -> list[dict]:
        """Return the thread's message items oldest first (`last`: only the most recent ones)."""
        pk = keys.thread_pk(thread_id)
        if last is not None:
            return list(reversed(self.store.query(pk, keys.MESSAGE, limit=last, order="desc").items))
        return list(self.store.query_all(pk, keys.MESSAGE))

    def new_assistant_item(self, owner: str, thread_id: str, assistant_id: str | None, run_id: str | None) -> dict:
        """Return a new, unsaved, empty `in_progress` assistant message of a run."""
        return new_item(thread_id, "assistant", [], status="in_progress", assistant_id=assistant_id, run_id=run_id)

    def finished_item(self, message: dict, text: str, status: str, reason: str | None = None) -> dict:
        """Return `message` (unsaved) with its final text and `completed` or `incomplete` status."""
        now = int(time.time())
        done = {**message, "content": [text_part(text)] if text else [], "status": status}
        if status == "incomplete":
            done.update(incomplete_at=now, incomplete_details={"reason": reason or "run_failed"})
        else:
            done["completed_at"] = now
        return done

    def mark_incomplete(self, thread_id: str, message_id: str, reason: str) -> dict | None:
        """Mark a message still `in_progress` as incomplete for `reason`; return it, or None if gone."""
        key = keys.message(thread_id, message_id)

        def attempt(_: int) -> dict | None:
            item = self.store.get(*key)
            if item is None or item["status"] != "in_progress":
                return item
            fields = {"status": "incomplete", "incomplete_at": int(time.time()), "incomplete_details": {"reason": reason}}
            return self.store.update(*key, set=fields, expected_version=item["version"])

        try:
            return retry_on_conflict(attempt, MARK_INCOMPLETE_BUDGET, _StillChanging)
        except _StillChanging:  # other writers kept winning: the message as they left it
            return self.store.get(*key)
