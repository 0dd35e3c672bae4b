"""List queries and list answers shared by the Assistants API routes (`limit`, `order`, cursors)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from askservice.store.base import Page

MAX_CURSOR = 128
"""The longest `after`/`before` taken: an object id, with room to spare (store keys have a bound)."""


class ListQuery(BaseModel):
    """`limit` (1-100, default 20), `order` (default desc), `after`, `before`."""

    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    after: str | None = Field(default=None, max_length=MAX_CURSOR)
    before: str | None = Field(default=None, max_length=MAX_CURSOR)


def list_body(page: Page) -> dict:
    """Return `{object: "list", data, first_id, last_id, has_more}` for a page of API objects (what a
    service's `list` returns)."""
    data = page.items
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }
