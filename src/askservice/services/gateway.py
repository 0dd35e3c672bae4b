"""The OpenAI endpoints that hand a request to the upstream serving its model, answers unchanged:
chat completions, embeddings, and the list of models routed."""

from __future__ import annotations

from typing import Iterator

from askservice.llm import ChatStream, Completion, Router, require_upstream
from askservice.services import relay


class Gateway:
    """Chat completions and embeddings relayed (tokens counted per client), models listed."""

    def __init__(self, llm: Router | None):
        self.llm = llm

    def complete(self, client_id: str, body: dict) -> Completion:
        """The upstream's `chat.completion` for an OpenAI request body."""
        return relay.complete(require_upstream(self.llm), client_id, body)

    def stream(self, client_id: str, body: dict) -> tuple[ChatStream, Iterator[bytes]]:
        """The upstream's streamed answer and the payloads to relay (see `relay.stream`)."""
        return relay.stream(require_upstream(self.llm), client_id, body)

    def embeddings(self, client_id: str, body: dict) -> Completion:
        """The upstream's embeddings answer for an OpenAI request body."""
        answer = require_upstream(self.llm).embeddings(body)
        relay.count(client_id, answer.data.get("usage"))
        return answer

    def models(self) -> list[dict]:
        """The model objects this server routes."""
        return require_upstream(self.llm).models()

    def model(self, model_id: str) -> dict:
        """One routed model object, or the 404 `model_not_found`."""
        return require_upstream(self.llm).model(model_id)
