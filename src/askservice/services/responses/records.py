"""Response items and their API objects.

A stored response is two items of its partition `resp#ID`, written in one transaction:

- `meta`: `owner`, `status` (top level, for the lease and the sweeper) and `response` (the API
  object). While it is in progress it holds a lease and sits in the owner index under
  `keys.ACTIVE_RESPONSES`, where the sweeper finds it. Its end rewrites only this small item.
- `ctx` (written once): `input` (its own input items) and the items of the chain before it, in
  order (the earlier responses' inputs and outputs), packed into attributes of at most
  PACK_BYTES of JSON each, so that a long chain stays inside the item (DynamoDB moves a larger
  attribute to the blob store) up to the item budget.

Both sort first in the partition (`ctx` < `meta` < `seq#...`): one query of two items reads what
a continuation needs, whatever the chain's depth.
"""

from __future__ import annotations

import json
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


PACK_BYTES = 30_000
"""The most JSON an attribute of a context holds (under the store's 32 KB overflow threshold)."""


def pack(items: list[dict]) -> dict:
    """Return `items` as attributes `p0`, `p1`, ... of at most PACK_BYTES of JSON each (one item may pass it)."""
    packs, current, size = [], [], 0
    for item in items:
        length = len(json.dumps(item, separators=(",", ":")))
        if current and size + length > PACK_BYTES:
            packs.append(current)
            current, size = [], 0
        current.append(item)
        size += length
    if current:
        packs.append(current)
    return {f"p{n}": part for n, part in enumerate(packs)} | {"packs": len(packs)}


def unpack(context: dict) -> list[dict]:
    """Return the items `pack` spread over a context's attributes, in order."""
    return [item for n in range(context.get("packs", 0)) for item in context[f"p{n}"]]


def chain(context: dict, meta: dict) -> list[dict]:
    """Return the items a response continuing this one starts from: its chain, its input, its output."""
    return [*unpack(context), *context["input"], *meta["response"]["output"]]
