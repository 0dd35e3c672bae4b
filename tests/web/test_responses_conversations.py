"""Responses in a conversation: its items as context, the new items appended at the end in one
transaction, one response in flight at a time (also across service instances), on both backends."""

from __future__ import annotations

import threading

import openai
import pytest

from tests.conftest import BACKENDS, backend_env
from tests.schema import assert_schema
from tests.web.support import api, sdk_on

SLOW = {"content": " ".join(f"w{i}" for i in range(20)), "delay": 0.1}


@pytest.fixture(scope="module", params=BACKENDS)
def pair(request, tmp_path_factory, start_session_service, upstream):
    """Two service instances (one worker each) sharing one store."""
    tmp = tmp_path_factory.mktemp("conversations")
    env = {"UPSTREAM_BASE_URL": upstream.base_url, "STORE_URL": f"sqlite:///{tmp}/shared.db",
           "BLOB_URL": f"file://{tmp}/blobs", **backend_env(request, request.param)}
    return start_session_service(env, workers=1), start_session_service(env, workers=1)


def test_a_response_reads_the_conversation_and_appends_its_items(pair, upstream):
    sdk = sdk_on(pair[0])
    marker = upstream.marker()
    conversation = sdk.conversations.create(items=[{"role": "user", "content": f"I am Ada {marker}"},
                                                   {"role": "assistant", "content": "Hello Ada."}])
    response = sdk.responses.create(model="m", conversation=conversation.id, input=f"Who am I? {marker}")
    assert response.status == "completed" and response.conversation.id == conversation.id
    assert_schema(api(pair[0], "GET", f"/responses/{response.id}").json(), "Response")
    sent = upstream.requests(match=f"Who am I? {marker}")[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [f"I am Ada {marker}", "Hello Ada.", f"Who am I? {marker}"]

    items = list(sdk_on(pair[1]).conversations.items.list(conversation.id, order="asc"))
    assert [i.type for i in items] == ["message"] * 4
    assert items[2].content[0].text == f"Who am I? {marker}" and items[3].id == response.output[0].id
    again = sdk.responses.create(model="m", conversation={"id": conversation.id}, input="And now?")
    assert len(list(sdk.conversations.items.list(conversation.id))) == 6 and again.status == "completed"

    with pytest.raises(openai.BadRequestError) as both:
        sdk.responses.create(model="m", conversation=conversation.id, previous_response_id=response.id, input="x")
    assert both.value.body["param"] == "conversation"
    with pytest.raises(openai.BadRequestError) as chained:
        sdk.responses.create(model="m", previous_response_id=response.id, input="x")
    assert chained.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="m", conversation="conv_unknown", input="x")


def test_one_response_in_flight_per_conversation_across_instances(pair, upstream):
    first, second = pair
    conversation = sdk_on(first).conversations.create()
    marker = upstream.marker()
    upstream.script(SLOW, match=marker, repeat=True)
    answers: list = []

    def create(service, n: int) -> None:
        answers.append(api(service, "POST", "/responses", timeout=60,
                           json={"model": "m", "conversation": conversation.id, "input": f"race {n} {marker}"}))

    racers = [threading.Thread(target=create, args=(pair[n % 2], n)) for n in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    won = [a for a in answers if a.status_code == 200]
    lost = [a for a in answers if a.status_code != 200]
    assert len(won) == 1 and len(lost) == 5, [a.status_code for a in answers]
    assert all(a.status_code == 409 and a.json()["error"]["code"] == "conversation_locked" for a in lost)
    items = list(sdk_on(second).conversations.items.list(conversation.id, order="asc"))
    assert [i.role for i in items] == ["user", "assistant"]  # the winner's input and answer, nothing interleaved
    assert items[1].content[0].text == SLOW["content"]


def test_a_background_response_holds_the_lock_until_it_ends(pair, upstream):
    sdk = sdk_on(pair[0])
    conversation = sdk.conversations.create()
    marker = upstream.marker()
    upstream.script(SLOW, match=marker)
    running = sdk.responses.create(model="m", conversation=conversation.id, input=f"long {marker}", background=True)
    with pytest.raises(openai.ConflictError):
        sdk_on(pair[1]).responses.create(model="m", conversation=conversation.id, input="me too")
    cancelled = sdk.responses.cancel(running.id)
    assert cancelled.status == "cancelled"
    assert list(sdk.conversations.items.list(conversation.id)) == []  # a cancelled response appends nothing
    follow = sdk.responses.create(model="m", conversation=conversation.id, input="now")
    assert follow.status == "completed" and len(list(sdk.conversations.items.list(conversation.id))) == 2
