"""A run's conversation as chat messages: the thread's messages, then the run's own steps."""

from __future__ import annotations

from askservice.services.engine.prompt import answer_message, call_messages


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
            out.append(answer_message(step["chat_text"]))
        elif step["type"] == "tool_calls" and step.get("chat_calls"):
            out += call_messages(step["chat_calls"])
    return out
