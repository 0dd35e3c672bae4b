"""Response items and their API objects.

A stored response is two items of its partition `resp#ID`, written in one transaction:

- `meta`: `owner`, `status` (top level, for the lease and the sweeper) and `response` (the API
  object). While it is in progress it holds a lease and sits in the owner index under
  `keys.ACTIVE_RESPONSES`, where the sweeper finds it. Its end rewrites only this small item.
- `ctx` (written once): its own input items and the items of the chain before it, in order (the
  earlier responses' inputs and outputs), packed as JSON text into attributes of at most
  PACK_CHARS each, so that a long chain stays inside the item (DynamoDB moves a larger attribute
  to the blob store) up to the item budget, and costs one string per pack to write and read.

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
    "presence_penalty", "frequency_penalty",
)
"""The request parameters a response object repeats, as OpenAI's do."""
FINISHED = frozenset({"completed", "incomplete", "failed", "cancelled"})
ACTIVE_FIELDS = (*leases.FIELDS, "gsi1pk", "gsi1sk")
"""What a response item loses when its work ends (its lease and its place in the active index)."""
LOST_WORKER = {"code": "server_error", "message": "The response stopped: the worker generating it went away."}


def now() -> int:
    """Return the current unix time in seconds, as the API's timestamps are."""
    return int(time.time())


PENALTIES = ("presence_penalty", "frequency_penalty")
"""Not in OpenAI's response object but in the Open Responses one: echoed (0.0 unless given) and sent on."""
OPTIONAL = ("user", "safety_identifier", "prompt_cache_key")
"""Echoed parameters the spec does not let be null: left out when not given."""


def new_response(response_id: str, params: dict) -> dict:
    """Return the API object of a response that is starting."""
    response = {
        "id": response_id, "object": "response", "created_at": now(), "status": "in_progress",
        "completed_at": None, "error": None, "incomplete_details": None, "output": [],
        **{name: params.get(name) for name in ECHOED}, "conversation": None,
        **{name: 1.0 for name in ("temperature", "top_p") if params.get(name) is None},  # OpenAI's defaults
        **{name: 0.0 for name in PENALTIES if params.get(name) is None},
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


PACK_CHARS = 24_000
"""The most JSON text a pack holds: stored as a string, it stays under the store's 32 KB overflow
threshold with its escapes."""


def pack(items: list[dict], name: str = "p") -> dict:
    """Return `items` as attributes `p0`, `p1`, ... (and `packs`): their JSON text, at most PACK_CHARS
    each (one item alone may pass it). Text, not nested values: the store then checks, encodes and
    decodes one string per pack instead of walking every item (and boto3 types none of them)."""
    packs, current, size = [], [], 0
    for item in items:
        text = json.dumps(item, separators=(",", ":"))
        if current and size + len(text) > PACK_CHARS:
            packs.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current:
        packs.append(current)
    return {f"{name}{n}": "[" + ",".join(part) + "]" for n, part in enumerate(packs)} | {f"{name}_packs": len(packs)}


def unpack(context: dict, name: str = "p") -> list[dict]:
    """Return the items `pack` spread over a context's attributes, in order."""
    return [item for n in range(context.get(f"{name}_packs", 0)) for item in json.loads(context[f"{name}{n}"])]


def context_item(pk: str, sk: str, own: list[dict], earlier: list[dict]) -> dict:
    """Return the context item of a response: its own input items and the chain before it, packed."""
    return {"pk": pk, "sk": sk, **pack(own, "input"), **pack(earlier, "p")}


def own_input(context: dict) -> list[dict]:
    """Return a response's own input items from its context item."""
    return unpack(context, "input")


def chain(context: dict, meta: dict) -> list[dict]:
    """Return the items a response continuing this one starts from: its chain, its input, its output."""
    return [*unpack(context, "p"), *own_input(context), *meta["response"]["output"]]
