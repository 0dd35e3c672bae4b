"""GET /v1/models and GET /v1/models/{id}: the models this server routes, in OpenAI's shape."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.context import services

bp = Blueprint("models", __name__)


@bp.get("/models")
def list_models():
    """List the models routed (`owned_by`: the upstream serving each)."""
    return {"object": "list", "data": services().gateway.models()}


@bp.get("/models/<path:model_id>")
def retrieve(model_id: str):
    """One model (ids may contain `/`, as vLLM's do), or 404 `model_not_found`."""
    return services().gateway.model(model_id)
