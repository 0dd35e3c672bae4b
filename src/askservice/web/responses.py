"""/responses: create (JSON, or SSE of the spec's response events), retrieve (or replay), cancel, delete,
input items, input tokens."""

from __future__ import annotations

from flask import Blueprint

from askservice.services.engine.events import Channel
from askservice.web import sse
from askservice.web.context import client_id, services
from askservice.web.pages import list_body
from askservice.web.schemas.responses import CompactRequest, CreateResponse, InputItemsQuery, RetrieveQuery
from askservice.web.validation import parse_body, parse_query

bp = Blueprint("responses", __name__)


def _responses():
    return services().responses


@bp.post("/responses")
def create_response():
    body = parse_body(CreateResponse)
    params = body.params()
    if body.stream:
        channel = Channel()
        _responses().stream(client_id(), params, channel)
        return sse.response(sse.frames(channel.batches()), on_disconnect=channel.detach)
    return _responses().create(client_id(), params)


@bp.post("/responses/input_tokens")
def count_input_tokens():
    return _responses().input_tokens(client_id(), parse_body(CreateResponse).params())


@bp.post("/responses/compact")
def compact_response():
    return _responses().compact(client_id(), parse_body(CompactRequest).params())


@bp.get("/responses/<response_id>")
def retrieve_response(response_id: str):
    q = parse_query(RetrieveQuery)
    if q.stream:
        events = _responses().events(client_id(), response_id, q.starting_after)
        return sse.response(sse.guarded((sse.event(e, e["type"]) for e in events), error_name="error", done=b""))
    return _responses().get(client_id(), response_id)


@bp.delete("/responses/<response_id>")
def delete_response(response_id: str):
    return _responses().delete(client_id(), response_id)


@bp.post("/responses/<response_id>/cancel")
def cancel_response(response_id: str):
    return _responses().cancel(client_id(), response_id)


@bp.get("/responses/<response_id>/input_items")
def list_input_items(response_id: str):
    q = parse_query(InputItemsQuery)
    return list_body(_responses().input_items(client_id(), response_id, q.limit, q.order, q.after))
