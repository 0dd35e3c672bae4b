"""What a run sends upstream, as chat messages: thread messages, its own steps, a token budget."""

from __future__ import annotations

import json


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of `text` (about four characters a token) when the upstream says nothing."""
    return max(1, len(text) // 4) if text else 0


def message_tokens(message: dict) -> int:
    """Estimate the tokens of one chat message (its content and tool calls)."""
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content or "")
    return estimate_tokens(text) + estimate_tokens(json.dumps(message.get("tool_calls") or ""))


def chat_content(message: dict):
    """Return a thread message's content as chat-completions content (a string when all text)."""
    parts = []
    for part in message.get("content") or []:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]["value"]})
        elif part.get("type") == "image_url":
            parts.append({"type": "image_url", "image_url": part["image_url"]})
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def step_messages(steps: list[dict]) -> list[dict]:
    """Return a run's own steps as the chat turns that follow the thread: answers, calls, outputs."""
    out: list[dict] = []
    for step in steps:
        if step["type"] == "message_creation" and step.get("chat_text") is not None:
            out.append({"role": "assistant", "content": step["chat_text"]})
        elif step["type"] == "tool_calls" and step.get("chat_calls"):
            calls = step["chat_calls"]
            out.append({
                "role": "assistant", "content": None,
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ],
            })
            out += [{"role": "tool", "tool_call_id": c["id"], "content": c.get("output") or ""} for c in calls]
    return out


def fit(head: list[dict], history: list[dict], tail: list[dict], budget: int) -> list[dict] | None:
    """Drop the oldest `history` messages until everything fits in `budget` tokens; None if it cannot."""
    fixed = sum(message_tokens(m) for m in head + tail)
    kept = list(history)
    while kept and fixed + sum(message_tokens(m) for m in kept) > budget:
        kept.pop(0)
    if fixed + sum(message_tokens(m) for m in kept) > budget or not (kept or tail):
        return None
    return kept
