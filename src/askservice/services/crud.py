"""What the resource services (assistants, threads, messages) share: the 404 of a lookup, pages of
API objects, and a modify that a concurrent delete turns into a 404.

The rule every resource service follows (docs/ARCHITECTURE.md):

- The API verbs `create`, `get`, `list`, `modify`, `delete` take the caller (`owner`) first and
  return API objects; `list` returns a store `Page` whose items are API objects.
- `owned(owner, id)` is the one owner-checked lookup: it returns the store item, or raises
  NotFoundError naming the path param (an unknown, malformed or another client's id look the same).
- `item(id)` is the unchecked read, item or None, for the services that need one (runs).
"""

from __future__ import annotations

from typing import Callable

from askservice.errors import NotFoundError
from askservice.store.base import ConditionFailed, Page, Store

Shape = Callable[[dict], dict]


def not_found(kind: str, object_id: str, param: str) -> NotFoundError:
    """Return the 404 of an unknown, malformed or another client's id."""
    return NotFoundError(f"No {kind} found with id '{object_id}'.", param=param)


def owned_by(item: dict | None, owner: str, kind: str, object_id: str, param: str) -> dict:
    """Return `item` if it exists and `owner` owns it; else raise `not_found`."""
    if item is None or item.get("owner") != owner:
        raise not_found(kind, object_id, param)
    return item


def objects(page: Page, to_object: Shape) -> Page:
    """Return a store page with its items as API objects."""
    return Page([to_object(item) for item in page.items], page.has_more)


def modified(store: Store, item: dict, fields: dict, to_object: Shape, gone: Callable[[], Exception]) -> dict:
    """Set `fields` on `item` and return its API object (unchanged when there is nothing to set).

    A delete that got in first fails the update: `gone()` is raised instead."""
    if not fields:
        return to_object(item)
    try:
        return to_object(store.update(item["pk"], item["sk"], set=fields))
    except ConditionFailed:  # deleted meanwhile
        raise gone() from None
