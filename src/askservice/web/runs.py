"""/threads/{id}/runs, /threads/runs and run steps: JSON, or SSE of OpenAI's run events."""

from __future__ import annotations

from typing import Callable, Iterator

from flask import Blueprint, Response

from askservice.services.engine.events import Channel
from askservice.services.runs.records import ACTIVE
from askservice.web import sse
from askservice.web.context import client_id, services
from askservice.web.pages import ListQuery, list_body
from askservice.web.schemas.runs import (
    CreateRun,
    CreateThreadAndRun,
    IncludeQuery,
    ModifyRun,
    StepsQuery,
    SubmitToolOutputs,
)
from askservice.web.server_tools import require_configured
from askservice.web.validation import parse_body, parse_query

bp = Blueprint("runs", __name__)
POLL_AFTER_MS = "250"  # `openai-poll-after-ms`: how soon the SDK's poll helpers look again
DONE = sse.event(b"[DONE]", "done")


def _runs():
    return services().runs


def _frames(channel: Channel) -> Iterator[bytes]:
    yield from sse.frames(channel.batches())
    yield DONE


def _stream(start: Callable[[Channel], dict]) -> Response:
    """Start a run with a channel and answer its events as SSE (errors before it are JSON)."""
    channel = Channel()
    start(channel)
    return sse.response(_frames(channel), on_disconnect=channel.detach)


@bp.post("/threads/<thread_id>/runs")
def create_run(thread_id: str):
    body = parse_body(CreateRun)
    parse_query(IncludeQuery)
    require_configured(body.tools)
    if body.stream:
        return _stream(lambda channel: _runs().create(client_id(), thread_id, body.params(), channel))
    return _runs().create(client_id(), thread_id, body.params())


@bp.post("/threads/runs")
def create_thread_and_run():
    body = parse_body(CreateThreadAndRun)
    require_configured(body.tools)
    params = body.params()
    if body.stream:
        return _stream(lambda channel: _runs().create_thread_and_run(client_id(), params, channel))
    return _runs().create_thread_and_run(client_id(), params)


@bp.get("/threads/<thread_id>/runs")
def list_runs(thread_id: str):
    q = parse_query(ListQuery)
    page = _runs().list(client_id(), thread_id, limit=q.limit, order=q.order, after=q.after, before=q.before)
    return list_body(page)


@bp.get("/threads/<thread_id>/runs/<run_id>")
def retrieve_run(thread_id: str, run_id: str):
    run = _runs().get(client_id(), thread_id, run_id)
    headers = {"openai-poll-after-ms": POLL_AFTER_MS} if run["status"] in ACTIVE else {}
    return run, 200, headers


@bp.post("/threads/<thread_id>/runs/<run_id>")
def modify_run(thread_id: str, run_id: str):
    body = parse_body(ModifyRun, optional=True)
    return _runs().modify(client_id(), thread_id, run_id, body.metadata)


@bp.post("/threads/<thread_id>/runs/<run_id>/cancel")
def cancel_run(thread_id: str, run_id: str):
    return _runs().cancel(client_id(), thread_id, run_id)


@bp.post("/threads/<thread_id>/runs/<run_id>/submit_tool_outputs")
def submit_tool_outputs(thread_id: str, run_id: str):
    body = parse_body(SubmitToolOutputs)
    outputs = [o.model_dump() for o in body.tool_outputs]
    if body.stream:
        return _stream(lambda channel: _runs().submit_tool_outputs(client_id(), thread_id, run_id, outputs, channel))
    return _runs().submit_tool_outputs(client_id(), thread_id, run_id, outputs)


@bp.get("/threads/<thread_id>/runs/<run_id>/steps")
def list_steps(thread_id: str, run_id: str):
    q = parse_query(StepsQuery)
    page = _runs().list_steps(client_id(), thread_id, run_id, limit=q.limit, order=q.order, after=q.after,
                              before=q.before, include=q.include)
    return list_body(page)


@bp.get("/threads/<thread_id>/runs/<run_id>/steps/<step_id>")
def retrieve_step(thread_id: str, run_id: str, step_id: str):
    q = parse_query(IncludeQuery)
    return _runs().get_step(client_id(), thread_id, run_id, step_id, q.include)
