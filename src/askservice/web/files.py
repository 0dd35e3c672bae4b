"""/files: multipart upload (spooled to disk, streamed to the blob store), list, retrieve, delete, content."""

from __future__ import annotations

from flask import Blueprint, Response, request

from askservice.errors import InvalidRequestError
from askservice.web.context import client_id, services
from askservice.web.pages import list_body
from askservice.web.schemas.files import FilesListQuery, UploadExpiry
from askservice.web.validation import parse, parse_query

bp = Blueprint("files", __name__)
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields around the file


def _files():
    return services().file_search.files


@bp.post("/files")
def create_file():
    # uploads may be far larger than other bodies; werkzeug spools file parts past 500 KB to disk
    request.max_content_length = services().settings.max_file_bytes + FORM_OVERHEAD
    if not request.mimetype.startswith("multipart/form-data"):
        raise InvalidRequestError("Upload files as multipart/form-data with fields 'file' and 'purpose'.", param="file")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidRequestError("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    purpose = request.form.get("purpose")
    if not purpose:
        raise InvalidRequestError("Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter")
    expires = None
    if "expires_after[anchor]" in request.form or "expires_after[seconds]" in request.form:
        raw = {"anchor": request.form.get("expires_after[anchor]"), "seconds": request.form.get("expires_after[seconds]")}
        expires = parse(UploadExpiry, {"expires_after": raw}).expires_after.seconds
    try:
        return _files().create(client_id(), upload.filename or "", upload.stream, purpose, expires)
    finally:
        upload.close()


@bp.get("/files")
def list_files():
    query = parse_query(FilesListQuery)
    page = _files().list(client_id(), query.purpose, min(query.limit, 1000), query.order, query.after)
    return list_body(page)


@bp.get("/files/<file_id>")
def retrieve_file(file_id: str):
    return _files().get(client_id(), file_id)


@bp.delete("/files/<file_id>")
def delete_file(file_id: str):
    return _files().delete(client_id(), file_id)


@bp.get("/files/<file_id>/content")
def file_content(file_id: str):
    file, chunks = _files().content(client_id(), file_id)
    response = Response(chunks, mimetype="application/octet-stream", direct_passthrough=True)
    response.headers["Content-Length"] = str(file["bytes"])
    response.headers.set("Content-Disposition", "attachment", filename=file["filename"])
    return response
