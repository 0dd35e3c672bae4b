"""Compaction: a summary the upstream writes of a conversation, carried as one `compaction` item.

`POST /responses/compact` sends the items so far (the chain of `previous_response_id`, then
`input`) to the upstream with COMPACT_PROMPT and returns one `compaction` item whose
`encrypted_content` holds the summary. A later request that carries that item in its input
sends the summary in place of everything it replaced. The content is not encrypted: it is the
summary, compressed and encoded (`askc1:` + base64url(zlib(UTF-8))), opaque to clients as
OpenAI's is, and nothing secret (the client sent everything it summarises).
"""

from __future__ import annotations

import base64
import binascii
import zlib

from askservice.errors import InvalidRequestError

PREFIX = "askc1:"
COMPACT_PROMPT = (
    "You compact a conversation so that it can go on from your summary alone. Write a concise summary "
    "that keeps every fact, decision, name, number, open task, and tool result the rest of the "
    "conversation may need, in the order they came. Write only the summary."
)
SUMMARY_HEAD = "Summary of the conversation so far:\n"


def encode(summary: str) -> str:
    """Return the `encrypted_content` of a compaction item holding `summary`."""
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(summary.encode())).decode()


def decode(content: str, param: str) -> str:
    """Return the summary in a compaction item's `encrypted_content` (400 naming `param` if it is not ours)."""
    try:
        if not content.startswith(PREFIX):
            raise ValueError("unknown prefix")
        return zlib.decompress(base64.urlsafe_b64decode(content[len(PREFIX):])).decode()
    except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError):
        raise InvalidRequestError("This compaction item was not made by this server's /responses/compact.",
                                  param=param, code="invalid_value") from None


def request(model: str, messages: list[dict]) -> dict:
    """Return the chat-completions request that asks the upstream for the summary of `messages`."""
    return {"model": model, "messages": [{"role": "system", "content": COMPACT_PROMPT}, *messages,
                                         {"role": "user", "content": "Summarize the conversation above now."}]}
