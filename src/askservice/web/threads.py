"""/threads: create (with initial messages), retrieve, modify, delete."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.context import client_id, services
from askservice.web.schemas.threads import CreateThread, ModifyThread
from askservice.web.validation import parse_body

bp = Blueprint("threads", __name__)


@bp.post("/threads")
def create_thread():
    body = parse_body(CreateThread, optional=True)
    return services().threads.create(client_id(), body.requested())


@bp.get("/threads/<thread_id>")
def retrieve_thread(thread_id: str):
    return services().threads.get(client_id(), thread_id)


@bp.post("/threads/<thread_id>")
def modify_thread(thread_id: str):
    body = parse_body(ModifyThread, optional=True)
    return services().threads.modify(client_id(), thread_id, body.changes())


@bp.delete("/threads/<thread_id>")
def delete_thread(thread_id: str):
    return services().threads.delete(client_id(), thread_id)
