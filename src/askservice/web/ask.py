"""POST /v1/ask: one question (plus history) relayed to the upstream, as JSON or as SSE."""

from __future__ import annotations

from typing import Iterator, Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from askservice.llm import ChatStream
from askservice.services.ask import Question, Turn
from askservice.web import sse
from askservice.web.context import client_id, services
from askservice.web.validation import parse_body

bp = Blueprint("ask", __name__)


class HistoryItem(BaseModel):
    """One message of the history the caller sends."""

    model_config = ConfigDict(strict=True)

    role: Literal["user", "assistant", "system"]
    content: str


class AskBody(BaseModel):
    """The body of `POST /v1/ask`; unknown fields are ignored."""

    model_config = ConfigDict(strict=True)

    question: str
    history: list[HistoryItem] | None = None
    client_id: str | None = None
    user_id: str | None = None
    stream: bool = False
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty", "must be a non-empty string")
        return value


def _relay(stream: ChatStream, payloads: Iterator[bytes]) -> Iterator[bytes]:
    try:
        for payload in payloads:
            yield b"data: " + payload + b"\n\n"
    finally:
        stream.close()


@bp.post("/ask")
def ask():
    """Answer a question with the upstream's completion, or stream its chunks."""
    body = parse_body(AskBody, form_encoded=True)  # `curl -d '{...}'` sends the form type
    question = Question(
        question=body.question,
        history=[Turn(item.role, item.content) for item in body.history or ()],
        user_id=body.user_id,
        client_id=body.client_id or client_id(),
        model=body.model,
        temperature=body.temperature,
        max_tokens=body.max_tokens,
    )
    if body.stream or "text/event-stream" in request.headers.get("Accept", ""):
        stream = services().ask.stream(question)
        payloads = services().ask.count_usage(question, stream.events())
        return sse.response(sse.guarded(_relay(stream, payloads)), on_disconnect=stream.close)
    completion = services().ask.answer(question)
    return Response(completion.raw, status=200, mimetype="application/json")
