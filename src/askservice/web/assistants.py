"""/assistants: create, list, retrieve, modify, delete."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.schemas.assistants import CreateAssistant, ModifyAssistant
from askservice.web.context import client_id, services
from askservice.web.pages import ListQuery, list_body
from askservice.web.server_tools import require_configured
from askservice.web.validation import parse_body, parse_query

bp = Blueprint("assistants", __name__)


@bp.post("/assistants")
def create_assistant():
    body = parse_body(CreateAssistant)
    require_configured(body.tools)
    return services().assistants.create(client_id(), body.changes())


@bp.get("/assistants")
def list_assistants():
    q = parse_query(ListQuery)
    page = services().assistants.list(client_id(), limit=q.limit, order=q.order, after=q.after, before=q.before)
    return list_body(page)


@bp.get("/assistants/<assistant_id>")
def retrieve_assistant(assistant_id: str):
    return services().assistants.get(client_id(), assistant_id)


@bp.post("/assistants/<assistant_id>")
def modify_assistant(assistant_id: str):
    body = parse_body(ModifyAssistant, optional=True)
    require_configured(body.tools)
    return services().assistants.modify(client_id(), assistant_id, body.changes())


@bp.delete("/assistants/<assistant_id>")
def delete_assistant(assistant_id: str):
    return services().assistants.delete(client_id(), assistant_id)
