"""The responses service in process, on a real store (both backends) and the scripted upstream.

What the SDK tests do not show: store round trips per kind of request and their independence of
a chain's depth, truncation, token counts, item references, paging of input items, logprobs.
"""

from __future__ import annotations

import pytest

from askservice.errors import InvalidRequestError, NotFoundError
from askservice.services.engine.tokenizer import count_tokens
from askservice.store.dynamodb import DynamoStore
from askservice.web.schemas.responses import CreateResponse
from tests.conftest import BACKENDS, backend_services
from tests.store.trips import RoundTrips, store_calls

OWNER = "client-a"


@pytest.fixture(params=BACKENDS)
def services(request, settings_for, upstream, monkeypatch):
    yield from backend_services(request, settings_for, monkeypatch, upstream_base_url=upstream.base_url,
                                model_context_tokens=400)


def _params(**body) -> dict:
    return CreateResponse.model_validate({"model": "m", **body}).params()


def _create(services, **body) -> dict:
    return services.responses.create(OWNER, _params(**body))


def test_round_trips_stay_three_whatever_the_depth(services):
    responses = services.responses
    dynamo = isinstance(services.store, DynamoStore)
    with store_calls(services.store) as fresh:
        first = _create(services, input="start")
    previous = first["id"]
    counts = []
    for depth in range(1, 13):
        with store_calls(services.store) as calls, RoundTrips(services.store) as trips:
            previous = _create(services, input=f"turn {depth}", previous_response_id=previous)["id"]
        counts.append((calls.count, trips.count if dynamo else 3))
    with store_calls(services.store) as unstored:
        _create(services, input="quiet", store=False)
    with store_calls(services.store) as read:
        responses.get(OWNER, previous)
    assert (fresh.count, unstored.count, read.count) == (2, 0, 1)
    assert counts == [(3, 3)] * 12  # read what it continues, claim, write the result: at depth 1 as at 12
    assert len(responses.input_items(OWNER, previous, 100, "asc", None).items) == 1


def test_truncation_auto_drops_the_oldest_items_and_disabled_refuses(services, upstream):
    marker = upstream.marker()
    long = " ".join(["filler"] * 250)
    first = _create(services, input=f"{long} {marker}")
    with pytest.raises(InvalidRequestError) as refused:
        _create(services, input="next", previous_response_id=first["id"])
    assert refused.value.code == "context_length_exceeded" and refused.value.param == "input"

    kept = _create(services, input="next", previous_response_id=first["id"], truncation="auto")
    assert kept["status"] == "completed" and kept["truncation"] == "auto"
    sent = upstream.requests(match="next")[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [f"echo: {long} {marker}", "next"]  # the oldest item went
    with pytest.raises(InvalidRequestError):
        _create(services, input=" ".join(["big"] * 500), truncation="auto")  # the last input alone does not fit


def test_input_tokens_count_with_the_offline_tokenizer(services):
    first = _create(services, input="Hello there, friend.")
    counted = services.responses.input_tokens(OWNER, _params(input="And you?", previous_response_id=first["id"],
                                                             instructions="Be kind."))
    expected = sum(count_tokens(t) for t in ("Be kind.", "Hello there, friend.", "echo: Hello there, friend.", "And you?"))
    assert counted == {"object": "response.input_tokens", "input_tokens": expected}


def test_item_references_resolve_in_the_chain(services, upstream):
    first = _create(services, input="the fact")
    answer_id = first["output"][0]["id"]
    second = _create(services, input=[{"type": "item_reference", "id": answer_id}, {"role": "user", "content": "repeat"}],
                     previous_response_id=first["id"])
    stored = services.responses.input_items(OWNER, second["id"], 20, "asc", None).items
    assert stored[0] == first["output"][0] and stored[1]["content"] == [{"type": "input_text", "text": "repeat"}]
    with pytest.raises(NotFoundError) as missing:
        _create(services, input=[{"type": "item_reference", "id": "msg_unknown"}])
    assert missing.value.param == "input[0].id"


def test_input_items_page_by_position(services):
    response = _create(services, input=[{"role": "user", "content": f"m{i}"} for i in range(5)])
    items = services.responses.input_items
    newest = items(OWNER, response["id"], 2, "desc", None)
    assert [i["content"][0]["text"] for i in newest.items] == ["m4", "m3"] and newest.has_more
    rest = items(OWNER, response["id"], 10, "desc", newest.items[-1]["id"])
    assert [i["content"][0]["text"] for i in rest.items] == ["m2", "m1", "m0"] and not rest.has_more
    with pytest.raises(InvalidRequestError):
        items(OWNER, response["id"], 10, "asc", "msg_nope")


def test_logprobs_only_when_included(services, upstream):
    marker = upstream.marker()
    plain = _create(services, input=f"a b {marker}")
    assert plain["output"][0]["content"][0]["logprobs"] == []
    assert "logprobs" not in upstream.requests(match=marker)[-1]["body"]
    marker = upstream.marker()
    withp = _create(services, input=f"a b {marker}", include=["message.output_text.logprobs"], top_logprobs=1)
    logprobs = withp["output"][0]["content"][0]["logprobs"]
    assert [p["token"] for p in logprobs] == ["echo:", " a", " b", f" {marker}"]
    assert logprobs[0]["top_logprobs"][0]["logprob"] == -0.5
    sent = upstream.requests(match=marker)[-1]["body"]
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 1)


def test_an_in_progress_response_cannot_be_continued(services):
    first = _create(services, input="x")
    item = services.store.get(f"resp#{first['id']}", "meta")
    services.store.update(item["pk"], item["sk"], set={"status": "in_progress", **services.responses.leases.grant()})
    with pytest.raises(InvalidRequestError) as busy:
        _create(services, input="y", previous_response_id=first["id"])
    assert busy.value.param == "previous_response_id"
    assert services.store.get(item["pk"], item["sk"])["status"] == "in_progress"  # its lease holds: not settled


def test_a_response_reads_a_long_conversation_in_as_many_round_trips_as_a_short_one(services, upstream):
    calls = {}
    for size in (10, 2_500):
        conversation = services.conversations.create(OWNER, {"metadata": {}, "items": []})
        for start in range(0, size, 40):
            services.conversations.add_items(OWNER, conversation["id"], [
                {"type": "message", "role": "user", "content": f"note {n}"} for n in range(start, min(start + 40, size))])
        with store_calls(services.store) as counted:
            response = _create(services, input="sum up", conversation=conversation["id"], truncation="auto")
        assert response["status"] == "completed" and response["conversation"] == {"id": conversation["id"]}
        calls[size] = counted.calls
        sent = upstream.requests(match="sum up")[-1]["body"]["messages"]
        assert sent[-2]["content"] == f"note {size - 1}" and sent[-1]["content"] == "sum up"  # the newest kept
    assert calls[10] == calls[2_500], calls  # one page of items read either way: the context window bounds it
    assert len(services.conversations.context(OWNER, conversation["id"])[1]) == 2_502
    with pytest.raises(InvalidRequestError) as refused:  # truncation disabled: the long one does not fit
        _create(services, input="again", conversation=conversation["id"])
    assert refused.value.code == "context_length_exceeded"
