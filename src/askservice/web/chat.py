"""POST /v1/chat/completions: OpenAI's request passed to the upstream serving its model; the answer
relayed unchanged, as JSON or as SSE chunk by chunk."""

from __future__ import annotations

from flask import Blueprint, Response

from askservice.web import sse
from askservice.web.context import client_id, services
from askservice.web.schemas.gateway import ChatCompletionBody
from askservice.web.validation import json_body, parse

bp = Blueprint("chat", __name__)


@bp.post("/chat/completions")
def create():
    """Relay a chat completion (`stream: true`: its chunks, then `[DONE]`)."""
    data = json_body()
    if parse(ChatCompletionBody, data).stream:
        return sse.relay(*services().gateway.stream(client_id(), data))
    return Response(services().gateway.complete(client_id(), data).raw, status=200, mimetype="application/json")
