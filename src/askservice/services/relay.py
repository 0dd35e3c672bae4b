"""Chat completions relayed as the upstream answers them, the caller's tokens counted on the way.

What `/v1/ask` and `/v1/chat/completions` share: the JSON answer as received, or the stream's
`data:` payloads as received. Streams ask the upstream for a usage chunk where its entry says it
reports one; that chunk is then counted and not passed on (the caller did not ask for it).
"""

from __future__ import annotations

import json
from typing import Iterator

from askservice import metrics
from askservice.llm import ChatStream, Completion, Router


def complete(llm: Router, client_id: str | None, body: dict) -> Completion:
    """Return the upstream's `chat.completion` for `body`, its usage added to `client_id`'s totals."""
    completion = llm.chat(body)
    count(client_id, completion.data.get("usage"))
    return completion


def stream(llm: Router, client_id: str | None, body: dict) -> tuple[ChatStream, Iterator[bytes]]:
    """Open the streamed answer to `body` (failures before its first chunk raise here); return it
    and its payloads to relay, whose usage is added to `client_id`'s totals."""
    opened = llm.stream_chat(body, count_usage=True)
    return opened, _counted(client_id, opened)


def count(client_id: str | None, usage) -> None:
    """Add an upstream's `usage` object (if it is one) to the caller's token counters."""
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        metrics.tokens(
            client_id,
            prompt if isinstance(prompt, int) else None,
            completion if isinstance(completion, int) else None,
        )


def _counted(client_id: str | None, opened: ChatStream) -> Iterator[bytes]:
    for payload in opened.events():
        if b'"usage"' in payload:
            try:
                chunk = json.loads(payload)
            except ValueError:
                chunk = None  # not ours to judge here: the relay passes the payload on as it came
            if isinstance(chunk, dict):
                count(client_id, chunk.get("usage"))
                if opened.usage_added and chunk.get("choices") == []:
                    continue
        yield payload
