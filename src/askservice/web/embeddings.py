"""POST /v1/embeddings: OpenAI's request passed to the upstream serving its model, answered unchanged."""

from __future__ import annotations

from flask import Blueprint, Response

from askservice.web.context import client_id, services
from askservice.web.schemas.gateway import EmbeddingsBody
from askservice.web.validation import json_body, parse

bp = Blueprint("embeddings", __name__)


@bp.post("/embeddings")
def create():
    """Relay an embeddings request."""
    data = json_body()
    parse(EmbeddingsBody, data)
    return Response(services().gateway.embeddings(client_id(), data).raw, status=200, mimetype="application/json")
