"""The ask relay: [system prompt] + the most recent history + the question, to the upstream."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from askservice import metrics
from askservice.config import Settings
from askservice.errors import InvalidRequestError
from askservice.llm import ChatStream, Completion, LLMClient, require_upstream


@dataclass(frozen=True)
class Turn:
    """One message of the caller's chat history."""

    role: str
    content: str


@dataclass(frozen=True)
class Question:
    """A validated `/v1/ask` request."""

    question: str
    history: list[Turn] = field(default_factory=list)
    user_id: str | None = None
    client_id: str | None = None  # who spends the tokens (metrics)
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class AskService:
    """Builds the upstream request for a question and answers it as JSON or as a stream."""

    def __init__(self, settings: Settings, llm: LLMClient | None):
        self.settings = settings
        self.llm = llm

    def request_body(self, q: Question) -> dict:
        """Return the upstream `/chat/completions` body (without `stream`) for `q`."""
        model = q.model or self.settings.upstream_model
        if not model:
            raise InvalidRequestError(
                "No model: pass 'model' in the request or set UPSTREAM_MODEL on the service.",
                param="model",
                code="missing_model",
            )
        keep = self.settings.max_history_messages
        messages = [{"role": "system", "content": self.settings.system_prompt}] if self.settings.system_prompt else []
        messages += [{"role": t.role, "content": t.content} for t in (q.history[-keep:] if keep else [])]
        messages.append({"role": "user", "content": q.question})
        body: dict = {"model": model, "messages": messages}
        optional = {"user": q.user_id, "temperature": q.temperature, "max_tokens": q.max_tokens}
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def answer(self, q: Question) -> Completion:
        """Return the upstream's `chat.completion` for `q`."""
        client = require_upstream(self.llm)
        completion = client.chat(self.request_body(q))
        _count_usage(q, completion.data.get("usage"))
        return completion

    def stream(self, q: Question) -> ChatStream:
        """Open the upstream's streamed answer to `q` (errors before the first chunk raise here)."""
        client = require_upstream(self.llm)
        return client.stream_chat(self.request_body(q))

    def count_usage(self, q: Question, payloads: Iterator[bytes]) -> Iterator[bytes]:
        """Pass streamed payloads through, adding the `usage` any of them carries to the caller's totals."""
        for payload in payloads:
            if b'"usage"' in payload:
                try:
                    _count_usage(q, json.loads(payload).get("usage"))
                except (ValueError, AttributeError):
                    pass  # not ours to judge here: the relay passes the payload on as it came
            yield payload


def _count_usage(q: Question, usage) -> None:
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        metrics.tokens(
            q.client_id,
            prompt if isinstance(prompt, int) else None,
            completion if isinstance(completion, int) else None,
        )
