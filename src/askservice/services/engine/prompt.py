"""What a turn sends upstream, as chat messages: earlier turns, and the token budget of a prompt."""

from __future__ import annotations

import json
from typing import Callable


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of `text` (about four characters a token) when the upstream says nothing."""
    return max(1, len(text) // 4) if text else 0


def message_tokens(message: dict) -> int:
    """Estimate the tokens of one chat message (its content and tool calls)."""
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content or "")
    return estimate_tokens(text) + estimate_tokens(json.dumps(message.get("tool_calls") or ""))


def answer_message(text: str) -> dict:
    """Return an earlier turn's answer text as the assistant message it was."""
    return {"role": "assistant", "content": text}


def call_messages(calls: list[dict]) -> list[dict]:
    """Return an earlier turn's tool calls (`id`, `name`, `arguments`, `output`) as the call and its outputs."""
    return [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]},
        *({"role": "tool", "tool_call_id": c["id"], "content": c.get("output") or ""} for c in calls),
    ]


def fit(head: list[dict], history: list[dict], tail: list[dict], budget: int,
        measure: Callable[[dict], int] = message_tokens) -> list[dict] | None:
    """Drop the oldest `history` messages until everything fits in `budget` tokens; None if it cannot.

    `measure` counts one message's tokens (an estimate by default). Tool results whose call was
    dropped go with it (an upstream refuses a tool message that answers no call)."""
    fixed = sum(measure(m) for m in head + tail)
    sizes = [measure(m) for m in history]
    start, total = 0, sum(sizes)
    while start < len(history) and (fixed + total > budget or history[start].get("role") == "tool"):
        total -= sizes[start]
        start += 1
    kept = history[start:]
    if fixed + total > budget or not (kept or tail):
        return None
    return kept
