"""A thread of the Assistants API as conversation items: its messages, in order, as message items.

User text becomes `input_text`, assistant text `output_text` (its annotations are not carried:
they point into the thread's files by offsets of the Assistants API's shape); a user's images
become `input_image` parts. A message left with no part (an empty, cut assistant message) is
skipped. The thread itself is only read.
"""

from __future__ import annotations

from askservice.ids import new_id
from askservice.services.responses.items import output_text


def thread_items(messages: list[dict]) -> list[dict]:
    """Return a thread's message items (oldest first) as conversation message items with new ids."""
    items = []
    for message in messages:
        role = message["role"]
        parts = [p for p in (_part(part, role) for part in message.get("content") or []) if p is not None]
        if parts:
            status = "completed" if message.get("status") == "completed" else "incomplete"
            items.append({"id": new_id("msg_"), "type": "message", "role": role, "content": parts, "status": status})
    return items


def _part(part: dict, role: str) -> dict | None:
    kind = part.get("type")
    if kind == "text":
        text = part["text"]["value"]
        return output_text(text) if role == "assistant" else {"type": "input_text", "text": text}
    if role == "assistant":
        return None  # an assistant's output holds no images
    if kind == "image_file":
        return {"type": "input_image", "file_id": part["image_file"]["file_id"],
                "detail": part["image_file"].get("detail") or "auto"}
    if kind == "image_url":
        return {"type": "input_image", "image_url": part["image_url"]["url"],
                "detail": part["image_url"].get("detail") or "auto"}
    return None
