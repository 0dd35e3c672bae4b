"""/threads/{thread_id}/messages: create, list (optionally of one run), retrieve, modify, delete."""

from __future__ import annotations

from flask import Blueprint

from askservice.web.context import client_id, services
from askservice.web.pages import list_body
from askservice.web.schemas.threads import CreateMessage, MessageListQuery, ModifyMessage
from askservice.web.validation import parse_body, parse_query

bp = Blueprint("messages", __name__)


@bp.post("/threads/<thread_id>/messages")
def create_message(thread_id: str):
    body = parse_body(CreateMessage)
    return services().messages.create(client_id(), thread_id, body.requested())


@bp.get("/threads/<thread_id>/messages")
def list_messages(thread_id: str):
    q = parse_query(MessageListQuery)
    page = services().messages.list(
        client_id(), thread_id, limit=q.limit, order=q.order, after=q.after, before=q.before, run_id=q.run_id,
    )
    return list_body(page)


@bp.get("/threads/<thread_id>/messages/<message_id>")
def retrieve_message(thread_id: str, message_id: str):
    return services().messages.get(client_id(), thread_id, message_id)


@bp.post("/threads/<thread_id>/messages/<message_id>")
def modify_message(thread_id: str, message_id: str):
    body = parse_body(ModifyMessage, optional=True)
    return services().messages.modify(client_id(), thread_id, message_id, body.changes())


@bp.delete("/threads/<thread_id>/messages/<message_id>")
def delete_message(thread_id: str, message_id: str):
    return services().messages.delete(client_id(), thread_id, message_id)
