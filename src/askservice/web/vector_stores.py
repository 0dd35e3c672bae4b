"""/vector_stores: create, list, retrieve, modify, delete, and search."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.context import client_id, services
from askservice.web.pages import ListQuery, list_body
from askservice.web.validation import parse_body, parse_query
from askservice.web.schemas.vector_stores import CreateVectorStore, SearchRequest, UpdateVectorStore

bp = Blueprint("vector_stores", __name__)


def _fs():
    return services().file_search


def _strategy(model) -> dict | None:
    return model.model_dump() if model is not None else None


@bp.post("/vector_stores")
def create_vector_store():
    body = parse_body(CreateVectorStore, optional=True)
    return _fs().vector_stores.create(
        client_id(), body.name, body.file_ids, _strategy(body.chunking_strategy),
        body.expires_after.model_dump() if body.expires_after else None, body.metadata,
    )


@bp.get("/vector_stores")
def list_vector_stores():
    q = parse_query(ListQuery)
    return list_body(_fs().vector_stores.list(client_id(), q.limit, q.order, q.after, q.before))


@bp.get("/vector_stores/<vs_id>")
def retrieve_vector_store(vs_id: str):
    return _fs().vector_stores.get(client_id(), vs_id)


@bp.post("/vector_stores/<vs_id>")
def modify_vector_store(vs_id: str):
    body = parse_body(UpdateVectorStore, optional=True)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "expires_after" in changes and changes["expires_after"] is not None:
        changes["expires_after"] = changes["expires_after"].model_dump()
    return _fs().vector_stores.modify(client_id(), vs_id, changes)


@bp.delete("/vector_stores/<vs_id>")
def delete_vector_store(vs_id: str):
    return _fs().vector_stores.delete(client_id(), vs_id)


@bp.post("/vector_stores/<vs_id>/search")
def search_vector_store(vs_id: str):
    body = parse_body(SearchRequest)
    threshold = body.ranking_options.score_threshold if body.ranking_options else 0.0
    filters = body.filters.model_dump() if body.filters is not None else None
    return _fs().retriever.search_store(client_id(), vs_id, body.query, body.max_num_results, threshold, filters)
