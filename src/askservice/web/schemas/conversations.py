"""Request models of /conversations, mirroring the spec (`CreateConversationBody`, `UpdateConversationBody`).

Items are checked as a response's input items are (`input_items`), named `items[i]`; an
`item_reference` is refused (a conversation holds items, not references). `thread_id` is this
server's extension of a create: the conversation is made from the messages of that thread.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictStr

from askservice.errors import InvalidRequestError
from askservice.web.schemas.assistants import Metadata
from askservice.web.schemas.responses import INCLUDABLE, input_items

MAX_ITEMS = 20
"""Items a create or an append takes at once (OpenAI's limit)."""
Items = Annotated[list[Any], Field(max_length=MAX_ITEMS)]


def conversation_items(raw: list[Any]) -> list[dict]:
    """Check items as input items named `items[i]`; a reference to another item is a 400."""
    items = input_items(raw, "items")
    for index, item in enumerate(items):
        if item.get("type") == "item_reference":
            raise InvalidRequestError("A conversation takes items, not item references.",
                                      param=f"items[{index}].type", code="invalid_value")
    return items


class CreateConversation(BaseModel):
    """`CreateConversationBody`, and `thread_id`: make the conversation from a thread's messages."""

    metadata: Metadata | None = None
    items: Items | None = None
    thread_id: StrictStr | None = None

    def params(self) -> dict:
        if self.thread_id is not None and self.items:
            raise InvalidRequestError("Give either 'items' or 'thread_id', not both.", param="items",
                                      code="invalid_value")
        return {"metadata": self.metadata, "items": conversation_items(self.items or []), "thread_id": self.thread_id}


class UpdateConversation(BaseModel):
    """`UpdateConversationBody` (`metadata` is required; null clears it, as the SDK's type allows)."""

    metadata: Metadata | None


class AddItems(BaseModel):
    """The body of `POST /conversations/{id}/items`."""

    items: Annotated[Items, Field(min_length=1)]


class IncludeQuery(BaseModel):
    """`include` of the item routes: every value of the spec's `IncludeEnum` is accepted."""

    include: list[Literal[INCLUDABLE]] | None = None  # type: ignore[valid-type]
