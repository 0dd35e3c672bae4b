"""Assistants: the item `asst#A` / `meta`, listed through the owner index (`<client>#assistant`).

The item's attributes are the AssistantObject's fields (plus `owner`), so that a run reads its
defaults (`model`, `instructions`, `tools`, ...) straight from it. Deleting an assistant
leaves its threads as they are.
"""

from __future__ import annotations

import time

from askservice import ids
from askservice.errors import NotFoundError
from askservice.services.tool_resources import ResourceChecker
from askservice.store.base import ABSENT, ConditionFailed, Page, Store

FIELDS = (
    "id", "object", "created_at", "name", "description", "model", "instructions", "tools", "tool_resources",
    "metadata", "temperature", "top_p", "response_format",
)
DEFAULTS = {
    "name": None, "description": None, "instructions": None, "tools": [], "tool_resources": {}, "metadata": {},
    "temperature": 1.0, "top_p": 1.0, "response_format": "auto",
}
NEVER_NULL = ("model", "tools", "metadata", "tool_resources")
"""Fields a modify with `null` leaves as they are (the others it clears)."""


def index_key(owner: str) -> str:
    """Return the owner-index partition of a client's assistants."""
    return f"{owner}#assistant"


def to_object(item: dict) -> dict:
    """Return the spec's AssistantObject for an assistant item."""
    obj = {name: item.get(name, DEFAULTS.get(name)) for name in FIELDS}
    if item.get("reasoning_effort") is not None:
        obj["reasoning_effort"] = item["reasoning_effort"]
    return obj


class AssistantsService:
    """Create, list, read, modify and delete a client's assistants."""

    def __init__(self, store: Store, checker: ResourceChecker) -> None:
        self.store = store
        self.checker = checker

    def create(self, owner: str, fields: dict) -> dict:
        """Create an assistant from its fields (`model` required, the rest as in the spec)."""
        assistant_id = ids.new_id("asst_")
        item = {**DEFAULTS, **{k: v for k, v in fields.items() if v is not None or k not in NEVER_NULL}}
        item["tool_resources"] = self.checker.tool_resources(owner, fields.get("tool_resources"))
        item.update(
            pk=f"asst#{assistant_id}", sk="meta", gsi1pk=index_key(owner), gsi1sk=assistant_id, id=assistant_id,
            object="assistant", owner=owner, created_at=int(time.time()),
        )
        self.store.put(item, condition=ABSENT)
        return to_object(item)

    def item(self, assistant_id: str) -> dict | None:
        """Return the assistant item whoever owns it, or None."""
        return self.store.get(f"asst#{assistant_id}", "meta") if ids.is_valid(assistant_id, "asst_") else None

    def owned(self, owner: str, assistant_id: str) -> dict:
        """Return the client's assistant item, or raise NotFoundError."""
        item = self.item(assistant_id)
        if item is None or item.get("owner") != owner:
            raise NotFoundError(f"No assistant found with id '{assistant_id}'.", param="assistant_id")
        return item

    get_item = owned  # the old name, until every caller says `owned`

    def get(self, owner: str, assistant_id: str) -> dict:
        """Return an AssistantObject."""
        return to_object(self.get_item(owner, assistant_id))

    def list(self, owner: str, *, limit: int = 20, order: str = "desc", after: str | None = None,
             before: str | None = None) -> Page:
        """Return a page of the client's assistant items (one index query)."""
        return self.store.query_index(index_key(owner), after=after, before=before, limit=limit, order=order)

    def modify(self, owner: str, assistant_id: str, changes: dict) -> dict:
        """Apply the fields a request set (null clears the nullable ones); return the AssistantObject."""
        item = self.get_item(owner, assistant_id)
        fields = {k: v for k, v in changes.items() if v is not None or k not in NEVER_NULL}
        if fields.get("tool_resources") is not None:
            fields["tool_resources"] = self.checker.tool_resources(owner, fields["tool_resources"])
        if not fields:
            return to_object(item)
        try:
            return to_object(self.store.update(item["pk"], "meta", set=fields))
        except ConditionFailed:  # deleted meanwhile
            raise NotFoundError(f"No assistant found with id '{assistant_id}'.", param="assistant_id") from None

    def delete(self, owner: str, assistant_id: str) -> dict:
        """Delete the assistant (its threads stay usable)."""
        item = self.get_item(owner, assistant_id)
        self.store.delete(item["pk"], "meta")
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}
