"""POST /v1/ask: one question (plus history) relayed to the upstream, as JSON or as SSE."""

from __future__ import annotations

from flask import Blueprint, Response, request

from askservice.services.ask import Question, Turn
from askservice.web import sse
from askservice.web.context import client_id, services
from askservice.web.schemas.ask import AskBody
from askservice.web.validation import parse_body

bp = Blueprint("ask", __name__)


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
        stream, payloads = services().ask.stream(question)
        return sse.relay(stream, payloads)
    completion = services().ask.answer(question)
    return Response(completion.raw, status=200, mimetype="application/json")
