"""Background responses in process: a cancel before the claim, stored events in batches, retention."""

from __future__ import annotations

import pytest

from askservice.errors import InvalidRequestError
from askservice.services import build_services
from askservice.services.engine.events import Channel
from askservice.services.responses import stream as stored
from askservice.web.schemas.responses import CreateResponse
from tests.servers import wait_until

OWNER = "client-a"


@pytest.fixture
def services(settings_for, upstream):
    services = build_services(settings_for(upstream_base_url=upstream.base_url))
    yield services
    services.sweeper.close()
    services.store.close()


def _params(**body) -> dict:
    return CreateResponse.model_validate({"model": "m", "background": True, **body}).params()


def _ended(services, response_id: str) -> dict:
    return wait_until(lambda: (lambda r: r if r["status"] not in ("queued", "in_progress") else None)(
        services.responses.get(OWNER, response_id)), timeout=20, what="the end")


def test_a_queued_response_is_cancelled_before_any_worker_claims_it(services, upstream):
    marker = upstream.marker()
    work = services.responses._prepare(OWNER, _params(input=f"never {marker}"))  # claimed queued, not started
    cancelled = services.responses.cancel(OWNER, work.response["id"])
    assert cancelled["status"] == "cancelled"
    assert work.execute()["status"] == "cancelled"  # the late start finds it cancelled and stops
    assert upstream.requests(match=marker) == []
    assert services.store.get(f"resp#{work.response['id']}", "meta").get("gsi1pk") is None


def test_a_long_answer_is_written_in_a_few_batches(services, upstream, monkeypatch):
    marker = upstream.marker()
    upstream.script({"content": " ".join(["x"] * 1000), "chunks": 1000}, match=marker)
    writes = []
    put = services.store.put
    monkeypatch.setattr(services.store, "put", lambda item, *a: writes.append(item["sk"]) or put(item, *a))
    response = services.responses.create(OWNER, _params(input=f"long {marker}"))
    done = _ended(services, response["id"])
    assert done["status"] == "completed"
    batches = [sk for sk in writes if sk.startswith(stored.EVENT)]
    events = list(services.responses.events(OWNER, response["id"], None))
    assert [e["sequence_number"] for e in events] == list(range(len(events))) and len(events) > 1000
    assert len(batches) <= 1000 // stored.FLUSH_EVENTS + 10  # by count and by time, not one write an event


def test_a_cursor_past_retention_is_a_400(services, upstream, monkeypatch):
    monkeypatch.setattr(stored, "FLUSH_EVENTS", 4)
    monkeypatch.setattr(stored, "MAX_KEPT_EVENTS", 8)
    marker = upstream.marker()
    upstream.script({"content": " ".join(["y"] * 40), "delay": 0.01}, match=marker)
    channel = Channel()
    services.responses.stream(OWNER, _params(input=f"keep {marker}"), channel)
    live = list(channel)
    response_id = live[0][1]["response"]["id"]
    _ended(services, response_id)
    kept = list(services.responses.events(OWNER, response_id, len(live) - 5))
    assert [e["sequence_number"] for e in kept] == list(range(len(live) - 4, len(live)))
    with pytest.raises(InvalidRequestError) as old:
        services.responses.events(OWNER, response_id, 0)
    assert old.value.param == "starting_after"
    services.responses.delete(OWNER, response_id)
    assert services.store.query(f"resp#{response_id}", "").items == []  # the events went with it
