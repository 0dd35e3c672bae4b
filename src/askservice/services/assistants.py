"""Assistants: the item `asst#A` / `meta`, listed through the owner index (`<client>#assistant`).

The item's attributes are the AssistantObject's fields (plus `owner`), so that a run reads its
defaults (`model`, `instructions`, `tools`, ...) straight from it. Deleting an assistant
leaves its threads as they are.
"""

from __future__ import annotations

import time

from askservice import ids
from askservice.services import keys
from askservice.services.crud import modified, not_found, objects, owned_by
from askservice.services.tool_resources import ResourceChecker
from askservice.store.base import ABSENT, Page, Store

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
KIND = "assistant"


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
        """Create an assistant from its fields (`model` required, the rest as in the spec); return the AssistantObject."""
        assistant_id = ids.new_id("asst_")
        item = {**DEFAULTS, **{k: v for k, v in fields.items() if v is not None or k not in NEVER_NULL}}
        item["tool_resources"] = self.checker.tool_resources(owner, fields.get("tool_resources"))
        pk, sk = keys.assistant(assistant_id)
        item.update(
            pk=pk, sk=sk, gsi1pk=keys.owned(owner, KIND), gsi1sk=assistant_id, id=assistant_id,
            object="assistant", owner=owner, created_at=int(time.time()),
        )
        self.store.put(item, condition=ABSENT)
        return to_object(item)

    def item(self, assistant_id: str) -> dict | None:
        """Return the assistant item whoever owns it, or None."""
        return self.store.get(*keys.assistant(assistant_id)) if ids.is_valid(assistant_id, "asst_") else None

    def owned(self, owner: str, assistant_id: str) -> dict:
        """Return the client's assistant item, or raise NotFoundError (param `assistant_id`)."""
        return owned_by(self.item(assistant_id), owner, KIND, assistant_id, "assistant_id")

    def get(self, owner: str, assistant_id: str) -> dict:
        """Return an AssistantObject."""
        return to_object(self.owned(owner, assistant_id))

    def list(self, owner: str, *, limit: int = 20, order: str = "desc", after: str | None = None,
             before: str | None = None) -> Page:
        """Return a page of the client's AssistantObjects (one index query)."""
        page = self.store.query_index(keys.owned(owner, KIND), after=after, before=before, limit=limit, order=order)
        return objects(page, to_object)

    def modify(self, owner: str, assistant_id: str, changes: dict) -> dict:
        """Apply the fields a request set (null clears the nullable ones); return the AssistantObject."""
        item = self.owned(owner, assistant_id)
        fields = {k: v for k, v in changes.items() if v is not None or k not in NEVER_NULL}
        if fields.get("tool_resources") is not None:
            fields["tool_resources"] = self.checker.tool_resources(owner, fields["tool_resources"])
        return modified(self.store, item, fields, to_object, lambda: not_found(KIND, assistant_id, "assistant_id"))

    def delete(self, owner: str, assistant_id: str) -> dict:
        """Delete the assistant (its threads stay usable)."""
        item = self.owned(owner, assistant_id)
        self.store.delete(item["pk"], item["sk"])
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}
