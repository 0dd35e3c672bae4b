"""/conversations: create (or migrate a thread), retrieve, modify, delete; add, list, retrieve, delete items."""

from __future__ import annotations

from flask import Blueprint

from askservice.store.base import Page
from askservice.web.context import client_id, services
from askservice.web.pages import list_body
from askservice.web.schemas.conversations import (
    AddItems,
    CreateConversation,
    IncludeQuery,
    UpdateConversation,
    conversation_items,
)
from askservice.web.schemas.responses import InputItemsQuery
from askservice.web.validation import parse_body, parse_query

bp = Blueprint("conversations", __name__)


def _conversations():
    return services().conversations


@bp.post("/conversations")
def create_conversation():
    return _conversations().create(client_id(), parse_body(CreateConversation, optional=True).params())


@bp.get("/conversations/<conversation_id>")
def retrieve_conversation(conversation_id: str):
    return _conversations().get(client_id(), conversation_id)


@bp.post("/conversations/<conversation_id>")
def update_conversation(conversation_id: str):
    return _conversations().modify(client_id(), conversation_id, parse_body(UpdateConversation).metadata or {})


@bp.delete("/conversations/<conversation_id>")
def delete_conversation(conversation_id: str):
    return _conversations().delete(client_id(), conversation_id)


@bp.post("/conversations/<conversation_id>/items")
def add_items(conversation_id: str):
    parse_query(IncludeQuery)
    items = conversation_items(parse_body(AddItems).items)
    return list_body(Page(_conversations().add_items(client_id(), conversation_id, items), has_more=False))


@bp.get("/conversations/<conversation_id>/items")
def list_items(conversation_id: str):
    q = parse_query(InputItemsQuery)
    return list_body(_conversations().list_items(client_id(), conversation_id, q.limit, q.order, q.after))


@bp.get("/conversations/<conversation_id>/items/<item_id>")
def retrieve_item(conversation_id: str, item_id: str):
    parse_query(IncludeQuery)
    return _conversations().get_item(client_id(), conversation_id, item_id)


@bp.delete("/conversations/<conversation_id>/items/<item_id>")
def delete_item(conversation_id: str, item_id: str):
    return _conversations().delete_item(client_id(), conversation_id, item_id)
