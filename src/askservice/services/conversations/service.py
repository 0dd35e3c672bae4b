"""Conversations: the meta item `conv#C` / `meta` and the log of its items (log.py).

The API verbs follow the rules of every resource service (crud.py). What the Responses API
uses, documented on each method: `owned`, `context` (a conversation's items as a response's
context, in a bounded number of round trips) and `append_operations` (the writes that append a
response's items, for the transaction that ends it).

A conversation is visible once its meta item is written, and that write comes last: its
initial items (or a migrated thread's messages) are written first. Deleting one deletes the
meta item first (gone for every reader at once, and every append's `@version` fails), then the
rest of its partition.
"""

from __future__ import annotations

import time
from typing import Callable

from askservice import ids
from askservice.errors import ConflictError, InvalidRequestError
from askservice.services import keys
from askservice.services.conversations import log
from askservice.services.conversations.migration import thread_items
from askservice.services.crud import modified, not_found, objects, owned_by
from askservice.services.responses.items import stored_input
from askservice.services.together import together
from askservice.store.base import ConditionFailed, Delete, Operation, Page, Store
from askservice.store.conflicts import retry_on_conflict

KIND = "conversation"
APPEND_TRIES = 40
"""Tries of an items append against other appends (and metadata updates) of the conversation."""
MAX_ITEM_ID = 128
"""The longest item id taken (ids are keys of the store, which bounds them)."""


def to_object(meta: dict) -> dict:
    """Return the spec's ConversationResource for a meta item."""
    return {"id": meta["id"], "object": "conversation", "created_at": meta["created_at"],
            "metadata": meta.get("metadata") or {}}


def _item_resource(row: dict) -> dict:
    """Return the item resource a log row holds."""
    return row["item"]


class Conversations:
    """Create, read, modify and delete a client's conversations and their items."""

    def __init__(self, store: Store, threads, thread_messages: Callable[[str], list[dict]]) -> None:
        self.store = store
        self.threads = threads
        self.thread_messages = thread_messages
        """`thread_messages(thread_id)`: the thread's message items, oldest first (a migration reads them)."""

    # -- conversations ------------------------------------------------------------------------

    def create(self, owner: str, params: dict) -> dict:
        """Create a conversation with `metadata` and initial `items` (checked input items), or from
        the messages of the client's thread `thread_id` (its metadata unless `metadata` is given)."""
        metadata = params.get("metadata")
        if params.get("thread_id") is not None:
            thread = self.threads.owned(owner, params["thread_id"])
            items = thread_items(self.thread_messages(thread["id"]))
            metadata = thread.get("metadata") if metadata is None else metadata
        else:
            items = self._stored(params.get("items") or [], "items")
        conversation_id = ids.new_id("conv_")
        pk, sk = keys.conversation(conversation_id)
        meta = {"pk": pk, "sk": sk, "id": conversation_id, "owner": owner, "created_at": int(time.time()),
                "metadata": metadata or {}, "length": len(items), "active_response": None}
        log.write_new(self.store, meta, items)
        return to_object(meta)

    def item(self, conversation_id: str) -> dict | None:
        """Return the conversation's meta item whoever owns it, or None."""
        valid = ids.is_valid(conversation_id, "conv_")
        return self.store.get(*keys.conversation(conversation_id)) if valid else None

    def owned(self, owner: str, conversation_id: str) -> dict:
        """Return the client's conversation meta item, or raise NotFoundError (param `conversation_id`).

        The meta item holds `id`, `owner`, `created_at`, `metadata`, `length` (the position of the
        next item), `active_response` (None unless a response holds the conversation) and `version`."""
        return owned_by(self.item(conversation_id), owner, KIND, conversation_id, "conversation_id")

    def get(self, owner: str, conversation_id: str) -> dict:
        """Return a ConversationResource."""
        return to_object(self.owned(owner, conversation_id))

    def modify(self, owner: str, conversation_id: str, metadata: dict) -> dict:
        """Replace the conversation's `metadata`; return the ConversationResource."""
        meta = self.owned(owner, conversation_id)
        return modified(self.store, meta, {"metadata": metadata}, to_object,
                        lambda: not_found(KIND, conversation_id, "conversation_id"))

    def delete(self, owner: str, conversation_id: str) -> dict:
        """Delete the conversation and its items."""
        meta = self.owned(owner, conversation_id)
        self.store.delete(meta["pk"], meta["sk"])
        self.store.delete_all(meta["pk"])
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    # -- items --------------------------------------------------------------------------------

    def add_items(self, owner: str, conversation_id: str, items: list[dict]) -> list[dict]:
        """Append checked input items (at most log.MAX_APPEND) in one transaction; return them as stored."""
        stored = self._stored(items, "items")
        given = [(index, item["id"]) for index, item in enumerate(items) if item.get("id")]

        def attempt(_: int) -> list[dict]:
            meta = self.owned(owner, conversation_id)
            try:
                self.store.transact(log.append_operations(meta, stored))
            except ConditionFailed:
                self._refuse_taken(conversation_id, given)  # else another writer got in first: try again
                raise
            return stored

        return retry_on_conflict(attempt, APPEND_TRIES,
                                 lambda: ConflictError("The conversation is changing too fast; try again.",
                                                       param="conversation_id", code="conversation_busy"))

    def list_items(self, owner: str, conversation_id: str, limit: int, order: str, after: str | None) -> Page:
        """Return a page of the conversation's items by position (`after`: an item id)."""
        if after is None:
            meta, cursor = self.owned(owner, conversation_id), None
        else:
            meta, pointer = together(lambda: self.owned(owner, conversation_id),
                                     lambda: self._pointer(conversation_id, after))
            if pointer is None:
                raise InvalidRequestError(f"No item found with id '{after}'.", param="after", code="invalid_value")
            cursor = keys.conversation_item(conversation_id, pointer["position"])[1]
        page = self.store.query(meta["pk"], keys.CONVERSATION_ITEM, after=cursor, limit=limit, order=order)
        return objects(page, _item_resource)

    def get_item(self, owner: str, conversation_id: str, item_id: str) -> dict:
        """Return one item of the conversation (param `item_id` in the 404)."""
        return _item_resource(self._owned_item(owner, conversation_id, item_id)[1])

    def delete_item(self, owner: str, conversation_id: str, item_id: str) -> dict:
        """Delete one item (and its id pointer); return the ConversationResource."""
        meta, row, pointer = self._owned_item(owner, conversation_id, item_id)
        try:  # of two racing deletes, one deletes the pointer at the version read: the other is a 404
            self.store.transact([Delete(row["pk"], row["sk"]),
                                 Delete(pointer["pk"], pointer["sk"], expected_version=pointer["version"])])
        except ConditionFailed:
            raise not_found("item", item_id, "item_id") from None
        return to_object(meta)

    # -- for the Responses API ----------------------------------------------------------------

    def context(self, owner: str, conversation_id: str,
                keep: Callable[[list[dict]], bool] | None = None) -> tuple[dict, list[dict]]:
        """Return the client's conversation meta item and its items, oldest first, as of that meta.

        The items are read newest first, a store page (1000) at a time: after each page,
        `keep(items read so far, oldest first)` says whether older ones are wanted (None: all).
        So a 10,000-item conversation costs 1 + (pages read) round trips. Raises the 404 of `owned`."""
        meta = self.owned(owner, conversation_id)
        return meta, log.recent_items(self.store, meta, keep)

    @staticmethod
    def append_operations(meta: dict, items: list[dict], set: dict | None = None) -> list[Operation]:
        """Return the writes that append stored items (ids unique, at most 49) to the conversation of
        `meta`, and set `set` on its meta (e.g. `{"active_response": None}`), for one transaction.

        The transaction fails (`ConditionFailed`) when the meta changed since it was read (another
        append, a metadata update, a delete): re-read with `owned` and build them again."""
        return log.append_operations(meta, items, set)

    # -- helpers ------------------------------------------------------------------------------

    def _stored(self, items: list[dict], param: str) -> list[dict]:
        """Return checked input items as stored items, ids given; a 400 names a long or repeated id."""
        stored = stored_input(items, [])
        seen: set[str] = set()
        for index, item in enumerate(stored):
            if len(item["id"]) > MAX_ITEM_ID or item["id"] in seen:
                problem = "longer than 128 characters" if len(item["id"]) > MAX_ITEM_ID else "repeated"
                raise InvalidRequestError(f"Invalid '{param}[{index}].id': {problem}.", param=f"{param}[{index}].id",
                                          code="invalid_value")
            seen.add(item["id"])
        return stored

    def _refuse_taken(self, conversation_id: str, given: list[tuple[int, str]]) -> None:
        """Raise the 400 of a given item id that the conversation already has."""
        for index, item_id in given:
            if self._pointer(conversation_id, item_id) is not None:
                raise InvalidRequestError(f"An item with id '{item_id}' is already in the conversation.",
                                          param=f"items[{index}].id", code="invalid_value")

    def _pointer(self, conversation_id: str, item_id: str) -> dict | None:
        if not item_id or len(item_id) > MAX_ITEM_ID:
            return None
        return self.store.get(*keys.item_pointer(conversation_id, item_id))

    def _owned_item(self, owner: str, conversation_id: str, item_id: str) -> tuple[dict, dict, dict]:
        """Return the meta item, the item's row and its pointer, or raise the 404 naming the param."""
        meta, pointer = together(lambda: self.owned(owner, conversation_id),
                                 lambda: self._pointer(conversation_id, item_id))
        row = self.store.get(*keys.conversation_item(conversation_id, pointer["position"])) if pointer else None
        if row is None:
            raise not_found("item", item_id, "item_id")
        return meta, row, pointer
