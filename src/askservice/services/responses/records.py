"""Response items and their API objects.

A stored response is the item `keys.response(id)`: `owner`, `status` (top level, for the lease
and the sweeper), `response` (the API object), `input` (its own input items) and `earlier` (every
item of the chain before it, in order: the earlier responses' inputs and outputs). Continuing a
chain therefore reads one item, whatever its depth. While it is in progress the item holds a
lease and sits in the owner index under `keys.ACTIVE_RESPONSES`, where the sweeper finds it.
"""

from __future__ import annotations

import time

from askservice.services.engine import leases

ECHOED = (
    "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model", "parallel_tool_calls",
    "previous_response_id", "reasoning", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p",
    "truncation", "user", "safety_identifier", "prompt_cache_key", "background", "service_tier", "store",
)
"""The request parameters a response object repeats, as OpenAI's do."""
FINISHED = frozenset({"completed", "incomplete", "failed", "cancelled"})
ACTIVE_FIELDS = (*leases.FIELDS, "gsi1pk", "gsi1sk")
"""What a response item loses when its work ends (its lease and its place in the active index)."""
LOST_WORKER = {"code": "server_error", "message": "The response stopped: the worker generating it went away."}


def now() -> int:
    """Return the current unix time in seconds, as the API's timestamps are."""
    return int(time.time())


OPTIONAL = ("user", "safety_identifier", "prompt_cache_key")
"""Echoed parameters the spec does not let be null: left out when not given."""


def new_response(response_id: str, params: dict) -> dict:
    """Return the API object of a response that is starting."""
    response = {
        "id": response_id, "object": "response", "created_at": now(), "status": "in_progress",
        "completed_at": None, "error": None, "incomplete_details": None, "output": [],
        **{name: params.get(name) for name in ECHOED}, "conversation": None,
        **{name: 1.0 for name in ("temperature", "top_p") if params.get(name) is None},  # OpenAI's defaults
    }
    for name in OPTIONAL:
        if response[name] is None:
            del response[name]
    return response


def usage_object(usage: dict, cached: int, reasoning: int) -> dict:
    """Return a turn's chat-completions usage as the response's `usage`."""
    return {
        "input_tokens": usage["prompt_tokens"], "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": usage["completion_tokens"], "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage["total_tokens"],
    }


def chain(item: dict) -> list[dict]:
    """Return the items a response continuing `item` starts from: its chain, its input, its output."""
    return [*item.get("earlier", []), *item.get("input", []), *item["response"]["output"]]
