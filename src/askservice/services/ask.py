"""The ask relay: [system prompt] + the most recent history + the question, to the upstream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from askservice.config import Settings
from askservice.errors import InvalidRequestError
from askservice.llm import ChatStream, Completion, Router, require_upstream
from askservice.services import relay


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

    def __init__(self, settings: Settings, llm: Router | None):
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
        return relay.complete(require_upstream(self.llm), q.client_id, self.request_body(q))

    def stream(self, q: Question) -> tuple[ChatStream, Iterator[bytes]]:
        """Open the upstream's streamed answer to `q` (errors before the first chunk raise here);
        return it and the payloads to relay."""
        return relay.stream(require_upstream(self.llm), q.client_id, self.request_body(q))
