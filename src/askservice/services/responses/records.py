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
QUEUED = "queued"
LEASED = frozenset({QUEUED, "in_progress", "cancelling"})
"""The item states under a lease (the sweep ends those whose lease ran out)."""
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


class Chain(list):
    """The items a response continues, oldest first; `packs` hold the JSON text of the first `packed`
    of them as stored, so that the next context reuses that text instead of encoding it again."""

    def __init__(self, items: list[dict], packs: list[str] | None = None, packed: int = 0):
        super().__init__(items)
        self.packs = packs or []
        self.packed = packed


def packs(items: list[dict], earlier: list[str] | None = None) -> list[str]:
    """Return `earlier` packs followed by the JSON text of `items`, in packs of at most PACK_CHARS
    (one item alone may pass it; the last earlier pack takes items while it has room)."""
    out = list(earlier or [])
    current, size = [], 0
    if out and len(out[-1]) < PACK_CHARS and out[-1] != "[]":
        last = out.pop()
        current, size = [last[1:-1]], len(last)  # its items' text, taken as one piece
    for item in items:
        text = json.dumps(item, separators=(",", ":"))
        if current and size + len(text) > PACK_CHARS:
            out.append("[" + ",".join(current) + "]")
            current, size = [], 0
        current.append(text)
        size += len(text) + 1
    if current:
        out.append("[" + ",".join(current) + "]")
    return out


def pack(items: list[dict], name: str, earlier: list[str] | None = None) -> dict:
    """Return `items` (after the `earlier` packs) as attributes `<name>0`, `<name>1`, ... and `<name>_packs`:
    JSON text, not nested values, so the store checks, encodes and decodes one string per pack instead
    of walking every item (and boto3 types none of them)."""
    texts = packs(items, earlier)
    return {f"{name}{n}": text for n, text in enumerate(texts)} | {f"{name}_packs": len(texts)}


def pack_texts(context: dict, name: str) -> list[str]:
    """Return the pack texts of a context's `name` attributes."""
    return [context[f"{name}{n}"] for n in range(context.get(f"{name}_packs", 0))]


def unpack(context: dict, name: str) -> list[dict]:
    """Return the items `pack` spread over a context's attributes, in order."""
    return [item for text in pack_texts(context, name) for item in json.loads(text)]


def context_item(pk: str, sk: str, own: list[dict], earlier: list[dict]) -> dict:
    """Return the context item of a response: its own input items and the chain before it, packed
    (the packs of a Chain reused as they are, only its newer items encoded)."""
    if isinstance(earlier, Chain):
        chain_packs = pack(earlier[earlier.packed:], "p", earlier.packs)
    else:
        chain_packs = pack(earlier, "p")
    return {"pk": pk, "sk": sk, **pack(own, "input"), **chain_packs}


def own_input(context: dict) -> list[dict]:
    """Return a response's own input items from its context item."""
    return unpack(context, "input")


def chain(context: dict, meta: dict) -> Chain:
    """Return the items a response continuing this one starts from: its chain, its input, its output."""
    texts = pack_texts(context, "p")
    earlier = [item for text in texts for item in json.loads(text)]
    return Chain([*earlier, *own_input(context), *meta["response"]["output"]], texts, len(earlier))


def ended(item: dict, status: str, error: dict | None = None) -> dict:
    """Return the fields that end a response no executor works on (its items left `incomplete`)."""
    response = {**item["response"], "status": status, "error": error,
                "output": [{**o, "status": "incomplete"} for o in item["response"]["output"]]}
    return {"status": status, "response": response}
