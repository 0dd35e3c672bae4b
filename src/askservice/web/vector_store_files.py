"""/vector_stores/{id}/files and /file_batches: add, list (with `filter`), retrieve, update, remove, content."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.context import client_id, services
from askservice.web.pages import list_body
from askservice.web.validation import parse_body, parse_query
from askservice.web.schemas.vector_stores import (
    CreateFileBatch,
    CreateVectorStoreFile,
    UpdateFileAttributes,
    VectorStoreFileListQuery,
)

bp = Blueprint("vector_store_files", __name__)


def _vs():
    return services().file_search.vector_stores


def _batches():
    return services().file_search.batches


def _strategy(model) -> dict | None:
    return model.model_dump() if model is not None else None


@bp.post("/vector_stores/<vs_id>/files")
def create_vector_store_file(vs_id: str):
    body = parse_body(CreateVectorStoreFile)
    return _vs().add_file(client_id(), vs_id, body.file_id, _strategy(body.chunking_strategy), body.attributes)


@bp.get("/vector_stores/<vs_id>/files")
def list_vector_store_files(vs_id: str):
    q = parse_query(VectorStoreFileListQuery)
    page = _vs().list_files(client_id(), vs_id, q.limit, q.order, q.after, q.before, q.filter)
    return list_body(page)


@bp.get("/vector_stores/<vs_id>/files/<file_id>")
def retrieve_vector_store_file(vs_id: str, file_id: str):
    return _vs().get_file(client_id(), vs_id, file_id)


@bp.post("/vector_stores/<vs_id>/files/<file_id>")
def update_vector_store_file(vs_id: str, file_id: str):
    body = parse_body(UpdateFileAttributes)
    return _vs().modify_file(client_id(), vs_id, file_id, body.attributes)


@bp.delete("/vector_stores/<vs_id>/files/<file_id>")
def delete_vector_store_file(vs_id: str, file_id: str):
    return _vs().delete_file(client_id(), vs_id, file_id)


@bp.get("/vector_stores/<vs_id>/files/<file_id>/content")
def vector_store_file_content(vs_id: str, file_id: str):
    texts = _vs().file_content(client_id(), vs_id, file_id)
    return {"object": "vector_store.file_content.page", "data": [{"type": "text", "text": t} for t in texts],
            "has_more": False, "next_page": None}


@bp.post("/vector_stores/<vs_id>/file_batches")
def create_file_batch(vs_id: str):
    body = parse_body(CreateFileBatch)
    if body.files is not None:
        files = [{"file_id": f.file_id, "chunking_strategy": _strategy(f.chunking_strategy), "attributes": f.attributes}
                 for f in body.files]
    else:
        files = [{"file_id": file_id} for file_id in body.file_ids]
    return _batches().create(client_id(), vs_id, files, _strategy(body.chunking_strategy), body.attributes)


@bp.get("/vector_stores/<vs_id>/file_batches/<batch_id>")
def retrieve_file_batch(vs_id: str, batch_id: str):
    return _batches().get(client_id(), vs_id, batch_id)


@bp.post("/vector_stores/<vs_id>/file_batches/<batch_id>/cancel")
def cancel_file_batch(vs_id: str, batch_id: str):
    return _batches().cancel(client_id(), vs_id, batch_id)


@bp.get("/vector_stores/<vs_id>/file_batches/<batch_id>/files")
def list_file_batch_files(vs_id: str, batch_id: str):
    q = parse_query(VectorStoreFileListQuery)
    page = _batches().list_files(client_id(), vs_id, batch_id, q.limit, q.order, q.after, q.before, q.filter)
    return list_body(page)
