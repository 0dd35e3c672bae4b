"""Conversation items: the input a response is given, stored with ids, and sent upstream as chat messages.

Items are kept as the spec's `ItemResource` objects (a message `msg_...`, a `function_call`
`fc_...`, a `function_call_output` `fco_...`, a `reasoning` item `rs_...`). An `item_reference`
is replaced by the item it names, found among the items the response continues. Toward the
upstream, items become chat-completions messages: `developer` is sent as `system` (not every
server knows the role), consecutive function calls form one assistant message with `tool_calls`,
a compaction item becomes its summary, an `mcp_call` (or a declined approval request) becomes the
call and its output, and reasoning items are kept but not sent (open models must not be fed their
earlier reasoning); tool listings and search calls are not sent (the answers that used them are).
"""

from __future__ import annotations

import json

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.ids import new_id
from askservice.services.engine.prompt import call_messages
from askservice.services.responses import compaction
from askservice.services.responses.mcp import DECLINED, error_text, function_name

PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_",
            "compaction": "cmp_", "mcp_approval_response": "mcpa_"}


def output_text(text: str, logprobs: list[dict] | None = None) -> dict:
    """Return an `output_text` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}


def stored_input(items: list[dict], earlier: list[dict]) -> list[dict]:
    """Return the request's input items as stored items (ids given, references resolved in `earlier`)."""
    known = {item["id"]: item for item in earlier if item.get("id")}
    stored = []
    for index, item in enumerate(items):
        kind = item.get("type") or "message"
        if kind == "item_reference":
            found = known.get(item["id"])
            if found is None:
                raise NotFoundError(f"Item with id '{item['id']}' not found.", param=f"input[{index}].id")
            stored.append(found)
            continue
        stored.append(_stored(kind, item))
    return stored


def _stored(kind: str, item: dict) -> dict:
    item_id = item.get("id") or new_id(PREFIXES[kind])
    if kind == "message":
        content = item["content"]
        if item["role"] == "assistant":
            parts = [output_text(content)] if isinstance(content, str) else [_output_part(p) for p in content]
        else:
            parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
        return {"id": item_id, "type": "message", "role": item["role"], "content": parts, "status": "completed"}
    if kind == "function_call":
        return {"id": item_id, "type": "function_call", "call_id": item["call_id"], "name": item["name"],
                "arguments": item["arguments"], "status": item.get("status") or "completed"}
    if kind == "function_call_output":
        return {"id": item_id, "type": "function_call_output", "call_id": item["call_id"], "output": item["output"],
                "status": item.get("status") or "completed"}
    if kind == "compaction":
        return {"id": item_id, "type": "compaction", "encrypted_content": item["encrypted_content"]}
    if kind == "mcp_approval_response":
        return {"id": item_id, "type": kind, "approval_request_id": item["approval_request_id"],
                "request_id": item["approval_request_id"],  # the spec requires it too (an older name of the same)
                "approve": item["approve"], "reason": item.get("reason")}
    return {**item, "id": item_id, "summary": item.get("summary") or []}  # reasoning


def _output_part(part: dict) -> dict:
    if part["type"] == "refusal":
        return {"type": "refusal", "refusal": part["refusal"]}
    return output_text(part["text"], part.get("logprobs"))


def chat_messages(items: list[dict]) -> list[dict]:
    """Return items as chat-completions messages, in order."""
    messages: list[dict] = []
    approvals = {}
    for item in items:
        kind = item["type"]
        if kind == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append({"role": role, "content": _chat_content(item["content"], role)})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and not isinstance(last.get("content"), list):
                last.setdefault("tool_calls", []).append(call)  # the same turn: its text, then its calls
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "compaction":  # everything it replaced, as one summary
            messages.append({"role": "user", "content": compaction.SUMMARY_HEAD + compaction.decode(
                item["encrypted_content"], "input")})
        elif kind == "function_call_output":
            output = item["output"]
            content = output if isinstance(output, str) else _chat_content(output, "tool")
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
        elif kind == "mcp_approval_request":
            approvals[item["id"]] = item
        elif kind == "mcp_approval_response" and not item["approve"] and item["approval_request_id"] in approvals:
            messages += mcp_messages(approvals[item["approval_request_id"]], DECLINED)
        elif kind == "mcp_call" and item.get("status") != "incomplete":  # an incomplete call was not made
            messages += mcp_messages(item, item.get("output") if item.get("error") is None else error_text(item["error"]))
    return messages


def mcp_messages(call: dict, output: str | None) -> list[dict]:
    """Return an MCP call (an `mcp_call` or `mcp_approval_request` item) and its output as chat messages."""
    return call_messages([{"id": call["id"], "name": function_name(call["server_label"], call["name"]),
                           "arguments": call["arguments"], "output": output}])


def _chat_content(parts: list[dict], role: str) -> str | list[dict]:
    """Return message parts as chat content: a string when they are all text (every server takes it).

    Files come inlined already (attachments.py): images as data URLs, documents as text parts."""
    if all(p["type"] in ("input_text", "output_text", "refusal") for p in parts):
        return "".join(p.get("text") or p.get("refusal") or "" for p in parts) if role == "assistant" else \
            "\n".join(p["text"] for p in parts)
    chat = []
    for part in parts:
        if part["type"] == "input_text":
            chat.append({"type": "text", "text": part["text"]})
        elif part["type"] == "input_image":
            chat.append({"type": "image_url", "image_url": {"url": part["image_url"], "detail": part.get("detail") or "auto"}})
    return chat


def message_text(messages: list[dict]) -> str:
    """Return everything of chat messages that counts toward the prompt, as one string (for counting)."""
    return "".join(
        (m["content"] if isinstance(m.get("content"), str) else json.dumps(m.get("content") or ""))
        + (json.dumps(m["tool_calls"]) if m.get("tool_calls") else "")
        for m in messages
    )


def check_calls_answered(items: list[dict]) -> None:
    """Refuse outputs of unknown calls, and calls left without an output (no upstream takes either)."""
    called, answered = {}, set()
    for index, item in enumerate(items):
        if item["type"] == "function_call":
            called[item["call_id"]] = index
        elif item["type"] == "function_call_output":
            if item["call_id"] not in called:
                raise InvalidRequestError(f"No tool call found for function call output with call_id {item['call_id']}.",
                                          param="input", code="invalid_value")
            answered.add(item["call_id"])
    for call_id in called:
        if call_id not in answered:
            raise InvalidRequestError(f"No tool output found for function call {call_id}.", param="input",
                                      code="invalid_value")
